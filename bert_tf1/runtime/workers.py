"""Worker processes for CPU-bound data preparation (pre-training data, classifier features).

Fork is used where it exists: workers inherit the parent's loaded tokenizer and modules instead
of unpickling them and importing TensorFlow again. Forking after TensorFlow was imported is safe
here because a worker only runs Python, protobuf and tokenizers code, never a TF op (a forked
child holds only the forking thread, so TF's thread pools and locks could only hang a child
that called into TF).
"""
import contextlib
import multiprocessing
import os

from bert_tf1.errors import BertTF1Error


def resolve_num_workers(num_workers):
    """--num_workers as a process count: 0 means one per CPU.

    >>> resolve_num_workers(3)
    3
    """
    if num_workers is None or isinstance(num_workers, bool) or num_workers < 0:
        raise BertTF1Error("--num_workers %r: must be 0 (one per CPU) or a positive number"
                           % (num_workers,))
    return num_workers or os.cpu_count() or 1


def workers_worth_forking(num_workers, num_items, min_items_per_worker):
    """--num_workers=0 ("one per CPU") capped at one worker per `min_items_per_worker` items;
    an explicit count is kept as given.

    A pool of forked workers has a fixed cost (fork, and multiprocessing's teardown, which
    polls every 0.1 s): ~0.17 s wall on 2 cores, measured. Below a few hundred ms of work it
    makes a run slower, not faster.

    >>> workers_worth_forking(0, 704, 1000), workers_worth_forking(3, 704, 1000)
    (1, 3)
    """
    if num_workers != 0:
        return resolve_num_workers(num_workers)
    return max(1, min(resolve_num_workers(0), int(num_items) // int(min_items_per_worker)))


@contextlib.contextmanager
def forked_pool(num_workers, initializer=None, initargs=()):
    """Yields a multiprocessing pool of `num_workers` processes, or None for one worker
    (everything then runs in this process). On an exception the workers are terminated.

    >>> with forked_pool(2) as pool:  # doctest: +SKIP
    ...     squares = pool.map(abs, [-1, -2])
    """
    if num_workers <= 1:
        yield None
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pool = context.Pool(num_workers, initializer, initargs)
    try:
        yield pool
    except BaseException:
        pool.terminate()
        pool.join()
        raise
    pool.close()
    pool.join()
