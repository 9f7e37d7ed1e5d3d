"""Runtime: RunConfig and Estimator construction for TPU, GPU and CPU.

google-research/bert always builds a TPUEstimator; with use_tpu=False it runs the same model_fn on
CPU/GPU at Estimator speed. A TPU needs tf.contrib.tpu-style RunConfig with TPUConfig and the
TPUClusterResolver of --tpu_name; batch sizes go to the TPUEstimator constructor (params
["batch_size"] is reserved), which hands each input_fn its per-call batch size.
"""
import time

import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.model_fn import TRAIN_LOSS_COLLECTION


def tpu_cluster_resolver(tpu_name, tpu_zone=None, gcp_project=None):
    """Resolves --tpu_name (a Cloud TPU name or grpc:// address); None when no name is given."""
    if not tpu_name:
        return None
    return tf.distribute.cluster_resolver.TPUClusterResolver(tpu_name, zone=tpu_zone,
                                                             project=gcp_project)


def make_run_config(output_dir, use_tpu=False, tpu_name=None, tpu_zone=None, gcp_project=None,
                    master=None, save_checkpoints_steps=1000, iterations_per_loop=1000,
                    num_tpu_cores=8, keep_checkpoint_max=5, tpu_job_name=None, seed=None,
                    cluster_resolver=None,
                    log_step_count_steps=100, save_summary_steps=100):
    """Builds the tf.compat.v1.estimator.tpu.RunConfig used for TPU and non-TPU runs alike.

    Args:
      output_dir: model_dir (local, gs:// or s3://).
      use_tpu: whether to run on a TPU (requires tpu_name or master).
      cluster_resolver: a pre-built resolver (tests); otherwise built from tpu_name/zone/project.
      The rest are google-research/bert's flags of the same names, plus keep_checkpoint_max,
      tf_random_seed (`seed`) and the logging/summary intervals.
    """
    if use_tpu and not (tpu_name or master or cluster_resolver):
        raise BertTF1Error("--use_tpu=true needs --tpu_name (or --master): which TPU to use")
    resolver = cluster_resolver
    if resolver is None and use_tpu:
        resolver = tpu_cluster_resolver(tpu_name, tpu_zone, gcp_project)
    tpu_config = tf.compat.v1.estimator.tpu.TPUConfig(
        iterations_per_loop=iterations_per_loop, num_shards=num_tpu_cores,
        tpu_job_name=tpu_job_name,
        per_host_input_for_training=tf.compat.v1.estimator.tpu.InputPipelineConfig.PER_HOST_V2)
    return tf.compat.v1.estimator.tpu.RunConfig(
        cluster=resolver, master=master, model_dir=output_dir,
        save_checkpoints_steps=save_checkpoints_steps, keep_checkpoint_max=keep_checkpoint_max,
        tf_random_seed=seed, tpu_config=tpu_config, log_step_count_steps=log_step_count_steps,
        save_summary_steps=save_summary_steps)


def make_estimator(model_fn, run_config, use_tpu, train_batch_size, eval_batch_size,
                   predict_batch_size):
    """TPUEstimator that runs on the TPU when use_tpu, else on CPU/GPU (same model_fn)."""
    return tf.compat.v1.estimator.tpu.TPUEstimator(
        use_tpu=use_tpu, model_fn=model_fn, config=run_config,
        train_batch_size=train_batch_size, eval_batch_size=eval_batch_size,
        predict_batch_size=predict_batch_size)


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
