"""Training progress: a hook that logs step, loss, steps/s and ETA and keeps the loss history.

The model_fn puts its training loss into the TRAIN_LOSS_COLLECTION graph collection; hooks run
outside model_fn and find it there.
"""
import time

import tensorflow as tf

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
        self._global_step = tf.compat.v1.train.get_global_step()
        if self._global_step is None:
            raise BertTF1Error("TrainingProgressHook: the graph has no global step")
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


def progress_hook(num_train_steps, every_n_steps, use_tpu):
    """The TrainingProgressHook for a run: on a TPU it fetches no loss (see fetch_loss)."""
    return TrainingProgressHook(num_train_steps, every_n_steps, fetch_loss=not use_tpu)
