"""Progress of a run: training, evaluation, prediction and feature conversion.

- TrainingProgressHook logs step, loss, steps/s and ETA and keeps the loss history. The model_fn
  puts its training loss into the TRAIN_LOSS_COLLECTION graph collection; hooks run outside
  model_fn and find it there. `log_interval` adapts the step interval to short runs.
- InferenceProgressHook logs batches done of the expected number, examples/s and ETA for
  Estimator.evaluate and Estimator.predict (which otherwise run for minutes without a line).
- progress_bar is tqdm on a terminal and plain log lines (about every 10%) when stderr is
  redirected to a file, where tqdm's carriage-return redraws would pile up on one line.
"""
import sys
import time

import tensorflow as tf
from tensorflow.python.training import training_util

from bert_tf1.errors import BertTF1Error

TRAIN_LOSS_COLLECTION = "bert_tf1_train_loss"


def format_duration(seconds):
    """'1h02m03s' / '4m05s' / '6s' for a non-negative number of seconds."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return "%dh%02dm%02ds" % (hours, minutes, seconds)
    if minutes:
        return "%dm%02ds" % (minutes, seconds)
    return "%ds" % seconds


class TrainingProgressHook(tf.estimator.SessionRunHook):
    """Logs step, loss, steps/s and ETA about every `every_n_steps`; keeps the loss history.

    Estimator's own step-rate log has neither the loss nor an ETA. `history` holds
    (global_step, loss) for every step whose loss this hook fetched, for tests and reports.

    The global step is read from the graph after every session.run rather than counted as
    "previous + 1": under TPUEstimator one session.run runs iterations_per_loop steps on the
    device, so the step advances by that much per call (by 1 on CPU/GPU). Rates and the ETA come
    from step and clock deltas between two logs.

    Args:
      num_train_steps: the step training stops at (for "step N/M" and the ETA).
      every_n_steps: log when at least this many steps have passed since the last log, and at
        the last step.
      log_fn: called with each log line (default tf.compat.v1.logging.info).
      fetch_loss: True on CPU/GPU: fetch model_fn's loss (TRAIN_LOSS_COLLECTION) with each
        step. Pass False with use_tpu: there the loss tensor lives inside the on-device training
        loop (tpu.rewrite) and cannot be fetched from the host, so the hook requests no tensor
        with the train op and reads only global_step, a host variable, in the host loop (as
        TPUEstimator's own stop-at-step hook does). TPUEstimator logs the loss itself
        ("loss = ..., step = ...") once per loop.
      clock: returns seconds (tests pass a fake clock).
    """

    def __init__(self, num_train_steps, every_n_steps=50, log_fn=None, fetch_loss=True,
                 clock=time.time):
        self.num_train_steps = num_train_steps
        self.every_n_steps = max(1, int(every_n_steps))
        self.log_fn = log_fn or tf.compat.v1.logging.info
        self.fetch_loss = bool(fetch_loss)
        self.clock = clock
        self.history = []
        self._fetches = None
        self._global_step = None
        self._last_time = None
        self._last_step = None

    def begin(self):
        if tf.compat.v1.train.get_global_step() is None:
            raise BertTF1Error("TrainingProgressHook: the graph has no global step")
        # The read tensor Estimator's own hooks fetch after every step (global_step/add:0):
        # fetching the variable instead was one more fetch signature, i.e. one more pruned
        # copy of the whole graph for the session to build at the first step (~0.14 s CPU
        # of a tiny BERT's start-up; issue 11).
        self._global_step = global_step_read_tensor()
        self._fetches = None
        if self.fetch_loss:
            losses = tf.compat.v1.get_collection(TRAIN_LOSS_COLLECTION)
            if losses:
                self._fetches = {"loss": losses[0]}

    def before_run(self, run_context):  # pylint: disable=unused-argument
        # None: nothing is added to the train op's fetches (the TPU case).
        return tf.estimator.SessionRunArgs(self._fetches) if self._fetches else None

    def after_run(self, run_context, run_values):
        step = int(run_context.session.run(self._global_step))
        results = run_values.results if self._fetches else None
        loss = results.get("loss") if results else None
        if loss is not None:
            self.history.append((step, float(loss)))
        now = self.clock()
        finished = step >= self.num_train_steps
        loss_text = "  loss %.4f" % loss if loss is not None else ""
        if self._last_time is None:
            # The first call includes graph set-up (and TPU compilation): no rate from it.
            self._last_time, self._last_step = now, step
            if finished:
                self.log_fn("step %d/%d%s" % (step, self.num_train_steps, loss_text))
            return
        if step - self._last_step < self.every_n_steps and not finished:
            return
        rate = (step - self._last_step) / max(now - self._last_time, 1e-9)
        remaining = max(self.num_train_steps - step, 0) / max(rate, 1e-9)
        self.log_fn("step %d/%d%s  %.2f steps/s  ETA %s" % (
            step, self.num_train_steps, loss_text, rate, format_duration(remaining)))
        self._last_time, self._last_step = now, step


def global_step_read_tensor(graph=None):
    """The graph's shared global-step read tensor (the variable + 0, created once per graph).

    Estimator creates it before model_fn, and its StepCounter, StopAtStep and CheckpointSaver
    hooks fetch it on every step, so a hook fetching the same tensor adds no new fetch
    signature to the session. Returns None when the graph has no global step.
    """
    return training_util._get_or_create_global_step_read(graph)  # pylint: disable=protected-access


def log_interval(every_n_steps, total_steps):
    """Steps between progress lines: --log_every_n_steps, but at least ~10 lines in a short run.

    With the default 100, a 31-step run would print no step, loss or ETA before its end.

    >>> log_interval(100, 31), log_interval(100, 5000), log_interval(100, 3)
    (3, 100, 1)
    """
    return max(1, min(int(every_n_steps), int(total_steps) // 10))


def progress_hook(num_train_steps, every_n_steps, use_tpu):
    """The TrainingProgressHook for a run: on a TPU it fetches no loss (see fetch_loss); the
    interval adapts to short runs (log_interval)."""
    return TrainingProgressHook(num_train_steps, log_interval(every_n_steps, num_train_steps),
                                fetch_loss=not use_tpu)


class InferenceProgressHook(tf.estimator.SessionRunHook):
    """Logs "WHAT: batch i/N (p%)  x ex/s  ETA t" about every 10% of the expected batches.

    Counts session runs (one batch each on CPU/GPU; under TPUEstimator one run is
    iterations_per_loop batches: pass batches_per_run). The first run includes graph set-up and
    checkpoint restore, so rates are measured from its end.

    Args:
      total_batches: the batches expected (ceil(examples / batch_size), or the padded count).
      batch_size: examples per batch (for the examples/s figure).
      what: "eval" or "predict", the line's prefix.
      log_fn: called with each line (default tf.compat.v1.logging.info).
      batches_per_run: batches one session.run covers.
      min_seconds: at least this long between two lines (the last batch is always logged), so
        a short evaluation prints one line, not ten.
      clock: returns seconds (tests pass a fake clock).
    """

    def __init__(self, total_batches, batch_size, what, log_fn=None, batches_per_run=1,
                 min_seconds=5.0, clock=time.time):
        self.total_batches = max(1, int(total_batches))
        self.batch_size = int(batch_size)
        self.what = what
        self.log_fn = log_fn or tf.compat.v1.logging.info
        self.batches_per_run = max(1, int(batches_per_run))
        self.min_seconds = float(min_seconds)
        self.clock = clock
        self.every = max(1, self.total_batches // 10)
        self.begin()

    def begin(self):
        self.done, self._start, self._start_done, self._last_logged = 0, None, 0, 0
        self._last_time = None

    def after_run(self, run_context, run_values):  # pylint: disable=unused-argument
        self.done = min(self.done + self.batches_per_run, self.total_batches)
        now = self.clock()
        if self._start is None:
            self._start, self._start_done, self._last_time = now, self.done, now
        finished = self.done >= self.total_batches
        if not finished and (self.done - self._last_logged < self.every or
                             now - self._last_time < self.min_seconds):
            return
        self._last_logged, self._last_time = self.done, now
        line = "%s: batch %d/%d (%d%%)" % (self.what, self.done, self.total_batches,
                                           100 * self.done // self.total_batches)
        elapsed = now - self._start
        if self.done > self._start_done and elapsed > 0:
            rate = (self.done - self._start_done) / elapsed
            line += "  %.1f ex/s  ETA %s" % (rate * self.batch_size, format_duration(
                (self.total_batches - self.done) / rate))
        self.log_fn(line)


def inference_progress_hook(num_examples, batch_size, what, use_tpu=False,
                            iterations_per_loop=1):
    """The InferenceProgressHook for evaluating or predicting num_examples in batches."""
    total = -(-int(num_examples) // int(batch_size))
    return InferenceProgressHook(total, batch_size, what,
                                 batches_per_run=iterations_per_loop if use_tpu else 1)


class _LoggedProgress(object):
    """Iterates like tqdm but logs "DESC: i/N (p%)  x UNIT/s  ETA t" lines about every 10%,
    at least min_seconds apart, and at the end."""

    def __init__(self, iterable, total, desc, unit, log_fn, clock, min_seconds):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.log_fn, self.clock, self.min_seconds = log_fn, clock, min_seconds

    def __iter__(self):
        start = last = self.clock()
        every = max(1, (self.total or 0) // 10) if self.total else None
        count = 0
        for count, item in enumerate(self.iterable, start=1):
            yield item
            if every and (count % every == 0 or count == self.total):
                now = self.clock()
                if count != self.total and now - last < self.min_seconds:
                    continue
                last = now
                elapsed = max(now - start, 1e-9)
                rate = count / elapsed
                self.log_fn("%s: %d/%d (%d%%)  %.1f %s/s  ETA %s" % (
                    self.desc, count, self.total, 100 * count // self.total, rate, self.unit,
                    format_duration((self.total - count) / rate)))
        if not every and count:
            self.log_fn("%s: %d %s" % (self.desc, count, self.unit))

    def close(self):
        pass


class _PassThrough(object):
    """`iterable` as is, with tqdm's close() (a disabled progress display)."""

    def __init__(self, iterable):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def close(self):
        pass


def progress_bar(iterable, total=None, desc=None, unit="it", enabled=True, stream=None,
                 log_fn=None, clock=time.time, min_seconds=10.0):
    """A progress display over `iterable`: tqdm when `stream` (default stderr) is a terminal,
    else log lines about every 10% (readable in a file); a plain pass-through when not enabled.

    Returns an iterable with close(), like tqdm.
    """
    stream = sys.stderr if stream is None else stream
    if not enabled:
        return _PassThrough(iterable)
    if getattr(stream, "isatty", lambda: False)():
        from tqdm import tqdm  # only for a terminal: importing it costs ~20 ms of start-up

        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream)
    return _LoggedProgress(iterable, total, desc or "progress", unit,
                           log_fn or tf.compat.v1.logging.info, clock, min_seconds)
