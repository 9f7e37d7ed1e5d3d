"""TF_CONFIG: the cluster description of a multi-worker run, read, checked and built.

TensorFlow's distributed runtime (MultiWorkerMirroredStrategy + tf.estimator.train_and_evaluate)
reads the JSON in the TF_CONFIG environment variable of every process:

  {"cluster": {"worker": ["host0:port", "host1:port"], "evaluator": ["host2:port"]},
   "task": {"type": "worker", "index": 0}}

Every task gets the same "cluster" and its own "task". TensorFlow reports a bad TF_CONFIG late
and obscurely (a KeyError, a gRPC hang, or a silently local run), so `read_tf_config` checks it
first and names the field. Jobs this kit accepts: "worker" (required; worker 0 is the chief
unless there is a "chief" job), at most one "chief", at most one "evaluator" (it evaluates each
new checkpoint and writes the eval results; it is not part of the training ring). "ps" is for
ParameterServerStrategy, which the kit does not use.
"""
import collections
import hashlib
import json
import os

from bert_tf1.errors import BertTF1Error

TF_CONFIG = "TF_CONFIG"
WORKER, CHIEF, EVALUATOR = "worker", "chief", "evaluator"
JOBS = (CHIEF, WORKER, EVALUATOR)


class ClusterTask(collections.namedtuple("ClusterTask", "task_type index cluster")):
    """One process of a multi-worker job: its task type and index, and the whole cluster dict."""

    @property
    def num_workers(self):
        """Training processes (workers plus the chief): each is one replica on a CPU host."""
        return len(self.cluster.get(WORKER, ())) + len(self.cluster.get(CHIEF, ()))

    @property
    def is_chief(self):
        """The chief writes checkpoints, summaries, the run manifest and the outputs."""
        if CHIEF in self.cluster:
            return self.task_type == CHIEF
        return self.task_type == WORKER and self.index == 0

    @property
    def is_evaluator(self):
        return self.task_type == EVALUATOR

    @property
    def has_evaluator(self):
        return EVALUATOR in self.cluster

    @property
    def name(self):
        """'worker 1', 'chief 0', 'evaluator 0': for logs and messages."""
        return "%s %d" % (self.task_type, self.index)


def _address_error(field, address):
    return BertTF1Error("TF_CONFIG field %s: expected 'host:port' with a port in 1..65535, "
                        "found %r" % (field, address))


def _check_address(field, address):
    if not isinstance(address, str) or ":" not in address:
        raise _address_error(field, address)
    host, port = address.rsplit(":", 1)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _address_error(field, address)


def parse_tf_config(text):
    """Checks a TF_CONFIG JSON string and returns its ClusterTask.

    Raises:
      BertTF1Error naming the field, e.g. "TF_CONFIG field task.index: 2 is out of range for
      job 'worker' with 2 task(s) (0..1)".

    >>> parse_tf_config('{"cluster": {"worker": ["a:1", "b:2"]}, '
    ...                 '"task": {"type": "worker", "index": 1}}').name
    'worker 1'
    """
    try:
        config = json.loads(text)
    except ValueError as error:
        raise BertTF1Error("TF_CONFIG: not valid JSON (%s): %r" % (error, text[:200]))
    if not isinstance(config, dict):
        raise BertTF1Error("TF_CONFIG: expected a JSON object with 'cluster' and 'task', "
                           "found %s" % type(config).__name__)
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise BertTF1Error("TF_CONFIG field cluster: expected an object such as {\"worker\": "
                           "[\"host:port\", ...]}, found %r" % (cluster,))
    for job, addresses in cluster.items():
        if job not in JOBS:
            raise BertTF1Error("TF_CONFIG field cluster.%s: unknown job; expected %s (ps is "
                               "for ParameterServerStrategy, which multi_worker does not use)"
                               % (job, ", ".join(JOBS)))
        if not isinstance(addresses, list) or not addresses:
            raise BertTF1Error("TF_CONFIG field cluster.%s: expected a non-empty list of "
                               "'host:port' strings, found %r" % (job, addresses))
        for position, address in enumerate(addresses):
            _check_address("cluster.%s[%d]" % (job, position), address)
    if WORKER not in cluster:
        raise BertTF1Error("TF_CONFIG field cluster.worker: missing; a multi-worker job needs "
                           "at least one worker")
    for job in (CHIEF, EVALUATOR):
        if len(cluster.get(job, ())) > 1:
            raise BertTF1Error("TF_CONFIG field cluster.%s: at most one %s task, found %d"
                               % (job, job, len(cluster[job])))
    seen = {}
    for job, addresses in cluster.items():
        for position, address in enumerate(addresses):
            where = "cluster.%s[%d]" % (job, position)
            if address in seen:
                raise BertTF1Error("TF_CONFIG field %s: address %s is also %s (each task needs "
                                   "its own port)" % (where, address, seen[address]))
            seen[address] = where
    if not isinstance(task, dict):
        raise BertTF1Error("TF_CONFIG field task: expected an object such as {\"type\": "
                           "\"worker\", \"index\": 0}, found %r" % (task,))
    task_type, index = task.get("type"), task.get("index", 0)
    if task_type == EVALUATOR and EVALUATOR not in cluster:
        # TF 1.15's distribute coordinator asserts it; some schedulers (older Kubeflow
        # tf-operator releases) follow the Estimator docs and leave the evaluator out.
        raise BertTF1Error("TF_CONFIG field cluster.evaluator: missing, but task.type is "
                           "'evaluator'; TensorFlow 1.15 needs the evaluator's 'host:port' in the "
                           "cluster of every task (or drop the evaluator: the chief then "
                           "evaluates the final checkpoint itself)")
    if task_type not in cluster:
        raise BertTF1Error("TF_CONFIG field task.type: %r is not a job of the cluster (%s)"
                           % (task_type, ", ".join(sorted(cluster))))
    if isinstance(index, bool) or not isinstance(index, int):
        raise BertTF1Error("TF_CONFIG field task.index: expected an integer, found %r" % (index,))
    if not 0 <= index < len(cluster[task_type]):
        raise BertTF1Error("TF_CONFIG field task.index: %d is out of range for job '%s' with %d "
                           "task(s) (0..%d)" % (index, task_type, len(cluster[task_type]),
                                                len(cluster[task_type]) - 1))
    return ClusterTask(task_type, index, cluster)


def read_tf_config(environ=None):
    """The ClusterTask of this process from $TF_CONFIG (see parse_tf_config).

    Raises:
      BertTF1Error when TF_CONFIG is unset or empty (multi_worker needs it) or malformed.
    """
    environ = os.environ if environ is None else environ
    text = environ.get(TF_CONFIG, "").strip()
    if not text:
        raise BertTF1Error("--distribution_strategy=multi_worker needs the TF_CONFIG environment "
                           "variable (the cluster and this process's task; see "
                           "docs/distributed.md, or start the processes with "
                           "bert-tf1-launch-local)")
    return parse_tf_config(text)


def build_tf_config(worker_addresses, task_type, index, evaluator_address=None):
    """The TF_CONFIG dict of one task of a cluster of workers (and an optional evaluator).

    Args:
      worker_addresses: list of 'host:port', worker 0 first (worker 0 is the chief).
      task_type: "worker" or "evaluator".
      index: the task's index within its job.
      evaluator_address: 'host:port' of the evaluator task, or None for no evaluator.

    Returns:
      dict; json.dumps it into TF_CONFIG. It passes parse_tf_config (checked here).

    >>> build_tf_config(["127.0.0.1:2222", "127.0.0.1:2223"], "worker", 1)["task"]
    {'type': 'worker', 'index': 1}
    """
    cluster = {WORKER: list(worker_addresses)}
    if evaluator_address is not None:
        cluster[EVALUATOR] = [evaluator_address]
    config = {"cluster": cluster, "task": {"type": task_type, "index": index}}
    parse_tf_config(json.dumps(config))
    return config


def task_scratch_dir(output_dir, task):
    """Where a task writes its own input files (TFRecords) without racing the others.

    The chief (or a run without a cluster: task None) uses output_dir itself. A non-chief worker
    uses output_dir/tmp_worker_<index>, the folder where TensorFlow already puts that worker's
    duplicate checkpoints; the evaluator uses output_dir/tmp_evaluator. Each process converts
    its own features, so no process reads a file another one is still writing.
    """
    if task is None or task.is_chief:
        return output_dir
    if task.is_evaluator:
        return os.path.join(output_dir, "tmp_evaluator")
    return os.path.join(output_dir, "tmp_%s_%d" % (task.task_type, task.index))


def job_id(task):
    """An id every process of one job shares (the same cluster) and another job does not.

    For the one-live-run lock on output_dir: the chief takes the lock and records this id in
    it; a non-chief task (worker i > 0, evaluator) does not take it, and refuses to start only
    when the lock is held with another id (another run). A task may start before the chief has
    written the lock, so an absent lock is no error for it. Cluster addresses with fresh ports
    (bert-tf1-launch-local) make two launches of the same command different jobs.

    >>> job_id(parse_tf_config('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker"}}'))
    ... # doctest: +SKIP
    'mw-3f2a9c1d0b7e'
    """
    canonical = json.dumps(task.cluster, sort_keys=True, separators=(",", ":"))
    return "mw-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
