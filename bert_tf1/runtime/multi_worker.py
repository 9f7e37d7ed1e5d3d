"""One process's part of a multi-worker job: tf.estimator.train_and_evaluate under
MultiWorkerMirroredStrategy.

Every process of the job runs the same command with its own TF_CONFIG (runtime/cluster.py).
TensorFlow's distribute coordinator (INDEPENDENT_WORKER mode) then makes the workers train in
lock-step (gradients all-reduced every step; worker 0, the chief, writes the checkpoints, and
worker i > 0 writes a duplicate set under output_dir/tmp_worker_<i>), while the evaluator task,
when the cluster has one, evaluates each new checkpoint until the one at max_steps and writes the
eval results (EvalResultsExporter). What the kit adds:
  * data sharding: TF 1.15 hands every worker's input_fn the whole dataset (no auto-sharding
    for an input_fn), so each worker would train on the same batches; `sharded_input_fn` keeps
    batch i, i+N, i+2N, ... on worker i of N. Every worker reads the same seeded shuffle, so a
    global step consumes N consecutive per-replica batches of one stream;
  * the evaluator's metrics land in eval_results.txt/.json like a single-process run's;
  * the other tasks wait for the chief's checks (`wait_for_chief`): the chief verifies
    checkpoints (moving damaged ones aside), enforces output_dir's contract and, with
    --overwrite_output_dir, clears the old run; a worker that went ahead would compute its resume
    skip from a checkpoint about to be set aside, or convert into a tmp_worker_<i> being cleared.
"""
import os
import time

import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import outputs

# How long a non-chief task waits for the chief to start the run (its checks and data summary
# come first, and tokenizing a large train split takes minutes); env override for big data.
CHIEF_WAIT_ENV = "BERT_TF1_CHIEF_WAIT_SECONDS"
CHIEF_WAIT_SECONDS = 1800.0
CHIEF_POLL_SECONDS = 1.0

# The evaluator looks for a new checkpoint this often (Estimator's default is 600 s, with a
# 120 s start delay): the final eval then follows the last checkpoint within seconds.
EVALUATOR_THROTTLE_SECS = 2


def sharded_input_fn(input_fn):
    """input_fn(params) -> input_fn(params, input_context) keeping this worker's batches.

    Args:
      input_fn: returns a tf.data.Dataset of per-replica batches (dicts of [batch, ...] tensors).

    Returns:
      An input_fn that Estimator calls with an InputContext under a tf.distribute strategy;
      with N input pipelines, pipeline i keeps batches i, i+N, ... (unchanged for N = 1).
    """
    def sharded(params, input_context=None):
        dataset = input_fn(params)
        if input_context is not None and input_context.num_input_pipelines > 1:
            dataset = dataset.shard(input_context.num_input_pipelines,
                                    input_context.input_pipeline_id)
        return dataset

    return sharded


class EvalResultsExporter(tf.estimator.Exporter):
    """Writes each evaluation's metrics to output_dir/eval_results.{txt,json} (the latest wins).

    Runs on the evaluator task, which calls every exporter of the EvalSpec after each
    evaluation; the last call is the checkpoint at max_steps. `results` keeps the latest dict.
    """

    def __init__(self, output_dir, extra=None):
        self.output_dir = output_dir
        self.extra = dict(extra or {})
        self.results = None

    @property
    def name(self):
        return "eval_results"

    def export(self, estimator, export_path, checkpoint_path, eval_result,
               is_the_final_export):
        del estimator, export_path, is_the_final_export  # nothing is exported but the metrics
        result = dict(eval_result)
        result.update(self.extra)
        tf.compat.v1.logging.info("evaluator: %s at step %s", checkpoint_path,
                                  result.get("global_step"))
        self.results = {key: outputs._plain(value) for key, value in result.items()}
        return outputs.write_eval_results(self.output_dir, result)[1]


def _no_evaluation(params=None):
    raise BertTF1Error("internal: a worker was asked to evaluate (only the evaluator task does)")


def train_and_evaluate(estimator, task, train_input_fn, max_steps, hooks=(), eval_input_fn=None,
                       output_dir=None, eval_extra=None):
    """This process's part of the job: train (a worker) or evaluate checkpoints (the evaluator).

    Args:
      estimator: from distribution.make_distributed_estimator with a MultiWorkerMirroredStrategy.
      task: this process's cluster.ClusterTask.
      train_input_fn: input_fn(params) of per-replica training batches (sharded here).
      max_steps: the global step training ends at (the evaluator stops after evaluating it).
      hooks: training hooks (every worker runs them).
      eval_input_fn: the evaluator's input_fn (required on the evaluator, unused elsewhere).
      output_dir: where the evaluator writes eval_results.{txt,json}.
      eval_extra: dict added to every eval result (e.g. num_eval_examples).

    Returns:
      The evaluator's last eval result (dict), or None on a worker.
    """
    exporter = None
    if task.is_evaluator:
        if eval_input_fn is None or output_dir is None:
            raise BertTF1Error("the evaluator task needs an eval input (--do_eval) and "
                               "--output_dir")
        exporter = EvalResultsExporter(output_dir, eval_extra)
        eval_spec = tf.estimator.EvalSpec(eval_input_fn, steps=None, exporters=[exporter],
                                          start_delay_secs=0,
                                          throttle_secs=EVALUATOR_THROTTLE_SECS)
    else:
        eval_spec = tf.estimator.EvalSpec(_no_evaluation)
    train_spec = tf.estimator.TrainSpec(sharded_input_fn(train_input_fn), max_steps=max_steps,
                                        hooks=list(hooks))
    tf.compat.v1.logging.info("multi_worker: %s of %d training process(es)%s", task.name,
                              task.num_workers, ", with an evaluator" if task.has_evaluator
                              else "")
    tf.estimator.train_and_evaluate(estimator, train_spec, eval_spec)
    return exporter.results if exporter else None


def chief_wait_seconds(environ=None):
    """The bound on wait_for_chief: $BERT_TF1_CHIEF_WAIT_SECONDS, else CHIEF_WAIT_SECONDS."""
    environ = os.environ if environ is None else environ
    text = environ.get(CHIEF_WAIT_ENV)
    if not text:
        return CHIEF_WAIT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise BertTF1Error("%s=%s: expected a positive number of seconds" % (CHIEF_WAIT_ENV,
                                                                             text))
    return value


def wait_for_chief(output_dir, job_id, task_name, timeout=None, poll_seconds=CHIEF_POLL_SECONDS,
                   sleep=time.sleep, clock=time.monotonic):
    """Blocks a non-chief task until output_dir's manifest says this job's chief is running.

    The chief writes the manifest (status "running", cluster.job_id) only after its checks, so
    its status is the signal; a manifest of another job (a previous run) does not count. A
    "failed" manifest of this job stops the wait only when it appeared during the wait: one
    there from the start may be an earlier attempt's (same cluster addresses), which a new
    chief is about to replace.

    Args:
      output_dir: the job's output_dir.
      job_id: this job's id (run_lock.job_run_id(): the same in every task of a job).
      task_name: e.g. "worker 1", for the messages.
      timeout: seconds (default chief_wait_seconds()).
      poll_seconds, sleep, clock: the polling interval and its time functions (tests).

    Returns:
      the chief's manifest (dict).

    Raises:
      BertTF1Error at once when the manifest says this job's chief failed (with its error), or
      when the chief has not started the run within `timeout`.
    """
    timeout = chief_wait_seconds() if timeout is None else timeout
    deadline = clock() + timeout
    path = os.path.join(output_dir, outputs.MANIFEST_JSON)
    logged = False
    first = None
    while True:
        manifest = outputs.read_manifest(output_dir) or {}
        ours = (manifest.get("cluster") or {}).get("job_id") == job_id
        status = manifest.get("status")
        seen = (status, manifest.get("created_utc"), manifest.get("error"))
        first = seen if first is None else first
        if ours and status in ("running", "finished"):
            return manifest
        if ours and status == "failed" and seen != first:
            raise BertTF1Error("%s: the chief of this job failed (%s: %s); fix that and restart "
                               "every task" % (task_name, path, manifest.get("error")))
        if clock() >= deadline:
            raise BertTF1Error(
                "%s: the chief did not start the run in %s within %g s (%s: %s); the chief may "
                "have stopped with an error (see its log: every task must then be restarted) "
                "or still be preparing a large data set (raise $%s)" % (
                    task_name, output_dir, timeout, path,
                    "status %s of job %s" % (status, (manifest.get("cluster") or {}).get(
                        "job_id")) if manifest else "absent", CHIEF_WAIT_ENV))
        if not logged:
            tf.compat.v1.logging.info("%s: waiting for the chief's checks on %s (at most %g s)",
                                      task_name, output_dir, timeout)
            logged = True
        sleep(poll_seconds)
