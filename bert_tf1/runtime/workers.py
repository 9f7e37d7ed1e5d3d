"""Worker processes for CPU-bound data preparation (pre-training data, classifier features).

Fork is used where it exists: workers inherit the parent's loaded tokenizer and modules instead
of unpickling them and importing TensorFlow again. Forking after TensorFlow was imported is safe
here because a worker only runs Python, protobuf and tokenizers code, never a TF op (a forked
child holds only the forking thread, so TF's thread pools and locks could only hang a child
that called into TF).

Two ways to use them, for two shapes of work: `forked_imap` when every task exists before the
work starts (classifier features: the children inherit the tasks, only results are pickled);
`forked_pool`, a long-lived multiprocessing pool, when tasks are made while earlier ones run
(pre-training data serializes instances with apply_async while the parent still creates the
next ones) and where fork is missing.
"""
import contextlib
import multiprocessing
import os
import pickle
import signal

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


def can_fork():
    """True where worker processes can be forked (Linux; not Windows)."""
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


def forked_imap(function, tasks, num_workers):
    """Yields function(task) for every task, in order, computed by `num_workers` forked child
    processes: child k runs tasks k, k + num_workers, ... and pipes each result back (pickled)
    as soon as it has it. Needs can_fork(); one worker (or one task) runs in this process.

    Lighter than forked_pool for one batch of tasks: nothing but `function`'s results is
    pickled (the children inherit `function`, its closure and `tasks`), and there are no
    handler threads whose 0.1 s polling delays a multiprocessing pool's start and end. An
    exception in a child is raised here; the children are then stopped.

    >>> list(forked_imap(abs, [-1, -2, -3], 2))  # doctest: +SKIP
    [1, 2, 3]
    """
    tasks = list(tasks)
    num_workers = min(num_workers, len(tasks))
    if num_workers <= 1:
        for task in tasks:
            yield function(task)
        return
    children = []  # (pid, reader)
    done = False
    try:
        for index in range(num_workers):
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: never returns
                os.close(read_fd)
                for _, reader in children:
                    reader.close()
                _run_child(function, tasks[index::num_workers], write_fd)
            os.close(write_fd)
            children.append((pid, os.fdopen(read_fd, "rb")))
        for index in range(len(tasks)):
            pid, reader = children[index % num_workers]
            try:
                ok, value = pickle.load(reader)
            except EOFError:
                raise BertTF1Error("worker process %d ended without a result (killed, e.g. "
                                   "out of memory?)" % pid)
            if not ok:
                raise value
            yield value
        done = True
    finally:
        for pid, reader in children:
            reader.close()
            if not done:  # an error or an abandoned generator: stop the rest of the work
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.waitpid(pid, 0)


def _run_child(function, tasks, write_fd):
    """A forked child's whole life: results (or the first error) into the pipe, then exit
    without running the parent's exit handlers."""
    code = 1
    try:
        with os.fdopen(write_fd, "wb") as writer:
            for task in tasks:
                try:
                    result = (True, function(task))
                except Exception as error:  # noqa: BLE001 (raised again in the parent)
                    result = (False, _picklable(error))
                pickle.dump(result, writer, protocol=pickle.HIGHEST_PROTOCOL)
                writer.flush()
                if not result[0]:
                    break
        code = 0
    finally:
        os._exit(code)


def _picklable(error):
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001
        return BertTF1Error("worker process: %s: %s" % (type(error).__name__, error))
