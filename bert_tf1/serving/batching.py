"""MicroBatcher: requests from concurrent clients grouped into one model call.

One session run over 8 sentences costs little more than over one on a CPU (the matmuls get
wider, the per-run overhead is paid once), so a server that runs each request alone wastes most
of its time when clients arrive together. The batcher's worker takes the oldest request, then
waits up to max_wait_ms for more until max_batch_size inputs are gathered, runs them together
and hands each request its own slice of the results.

The queue of waiting requests is bounded (max_queue): beyond it `submit` raises QueueFull at
once, which the server answers with 503, so an overloaded server says so instead of letting
latency grow without limit.
"""
import collections
import threading
import time
from concurrent import futures


class QueueFull(Exception):
    """The bounded queue holds max_queue requests already."""


class Closed(Exception):
    """The batcher no longer takes requests (shutting down)."""


class _Request(object):
    __slots__ = ("items", "future")

    def __init__(self, items):
        self.items = items
        self.future = futures.Future()


class MicroBatcher(object):
    """Runs `predict_fn` over batches gathered from concurrent `submit` calls.

    Args:
      predict_fn: callable(list of items) -> list of results of the same length, in order
        (e.g. Predictor.predict_encoded); called from the batcher's one worker thread.
      max_batch_size: most inputs per predict_fn call (a larger request runs alone, whole).
      max_wait_ms: how long the worker waits for more requests after the first one.
      max_queue: most requests waiting for the worker (the one being run not counted).

    >>> batcher = MicroBatcher(predictor.predict_encoded)  # doctest: +SKIP
    >>> batcher.submit(predictor.encode(["a fine film"])).result()  # doctest: +SKIP
    [{'predicted_label': '1', 'probabilities': {...}}]
    """

    def __init__(self, predict_fn, max_batch_size=32, max_wait_ms=5.0, max_queue=32):
        for name, value in (("max_batch_size", max_batch_size), ("max_queue", max_queue)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError("%s: expected a positive integer, found %r" % (name, value))
        if max_wait_ms < 0:
            raise ValueError("max_wait_ms: expected a number >= 0, found %r" % (max_wait_ms,))
        self.predict_fn = predict_fn
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self._queue = collections.deque()
        self._condition = threading.Condition()
        self._closing = False
        self._worker = threading.Thread(target=self._work, name="bert-tf1-batcher", daemon=True)
        self._worker.start()

    @property
    def pending(self):
        """Requests waiting for the worker."""
        with self._condition:
            return len(self._queue)

    def submit(self, items):
        """Queues one request's inputs; returns a concurrent.futures.Future of their results.

        Raises:
          QueueFull: max_queue requests are waiting already.
          Closed: close() was called.
        """
        request = _Request(list(items))
        with self._condition:
            if self._closing:
                raise Closed("the batcher is closed")
            if len(self._queue) >= self.max_queue:
                raise QueueFull("%d requests are waiting (max_queue %d)"
                                % (len(self._queue), self.max_queue))
            self._queue.append(request)
            self._condition.notify()
        return request.future

    def close(self, timeout=None):
        """Takes no more requests; queued ones still run. Waits for the worker (up to timeout)."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._worker.join(timeout)

    def _next_batch(self):
        """The requests of the next batch (empty once closed and drained)."""
        with self._condition:
            while not self._queue and not self._closing:
                self._condition.wait()
            if not self._queue:
                return []
            batch = [self._queue.popleft()]
            count = len(batch[0].items)
            deadline = time.monotonic() + self.max_wait
            while count < self.max_batch_size:
                if not self._queue:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._closing:
                        break
                    self._condition.wait(remaining)
                    continue
                if count + len(self._queue[0].items) > self.max_batch_size:
                    break
                batch.append(self._queue.popleft())
                count += len(batch[-1].items)
            return batch

    def _work(self):
        while True:
            batch = self._next_batch()
            if not batch:
                return
            items = [item for request in batch for item in request.items]
            try:
                results = self.predict_fn(items)
                if len(results) != len(items):
                    raise RuntimeError("predict_fn returned %d results for %d inputs"
                                       % (len(results), len(items)))
            except BaseException as error:  # pylint: disable=broad-except
                # Every waiting client gets the error; the worker keeps serving.
                for request in batch:
                    request.future.set_exception(error)
                continue
            start = 0
            for request in batch:
                request.future.set_result(results[start:start + len(request.items)])
                start += len(request.items)
