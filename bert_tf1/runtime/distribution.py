"""tf.distribute for the classifier: MirroredStrategy over local GPUs, or
MultiWorkerMirroredStrategy over the processes TF_CONFIG names, with a plain Estimator.

TPUEstimator (runtime.py) has no tf.distribute support; multi-GPU training in TF 1.15 goes through
tf.estimator.Estimator with RunConfig(train_distribute=strategy). Two things must change for that,
and both are handled elsewhere: the optimizer (bert.optimization's fails under a strategy; the kit's
bert_tf1.modeling.optimization works) and the encoder (hub.Module fails under a strategy; build
BERT from a checkpoint or from the hub module's weights: checkpoint_bert.BertSource).

Multi-worker (--distribution_strategy=multi_worker): every process builds the same strategy from
TF_CONFIG (runtime/cluster.py checks it first) and runs tf.estimator.train_and_evaluate
(runtime/multi_worker.py); replicas = training processes x local GPUs (1 per CPU process).

Evaluation stays undistributed (eval_distribute=None): the exact-AUC metric buffers in
bert_tf1/metrics.py assume one replica per evaluation graph. Prediction is never distributed by
Estimator in TF 1.15.

Batch sizes: under MirroredStrategy, TF 1.15's Estimator calls the input_fn once and gives every
replica its own batch of the dataset, so the TRAIN input_fn must produce per-replica batches
(global batch = replicas x input_fn batch). make_distributed_estimator takes the global train
batch size (like TPUEstimator's train_batch_size) and records the sizes in the Estimator's params;
build the input_fns with them:
  inputs.input_fn_builder(train, seq_length, True, True,
                          batch_size=estimator.params["train_batch_size_per_replica"])
(Estimator refuses subclasses that override its methods, so it cannot hand each mode its own size
the way TPUEstimator does; params["batch_size"] is left unset because one value would serve every
mode.)
"""
import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling.checkpoint_bert import HUB_UNDER_STRATEGY_MESSAGE
from bert_tf1.runtime import cluster

STRATEGIES = ("none", "mirrored", "multi_worker")


def _non_negative_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BertTF1Error("%s: expected an integer >= 0, found %r" % (name, value))
    return value


def make_strategy(name, num_gpus=0):
    """The tf.distribute strategy `--distribution_strategy=name` asks for.

    Args:
      name: "none" (no strategy: returns None), "mirrored" (synchronous data parallelism on
        this machine) or "multi_worker" (synchronous data parallelism over the processes of
        $TF_CONFIG, each using its local GPUs, or its CPU).
      num_gpus: GPUs to mirror over ("/gpu:0".."/gpu:N-1"); 0 mirrors over "/cpu:0" alone (one
        replica: the code path of a multi-GPU run, testable on a CPU machine). multi_worker
        uses every GPU TensorFlow sees; num_gpus > 0 only checks that there are that many.

    Returns:
      tf.compat.v1.distribute.MirroredStrategy, tf.distribute.experimental.
      MultiWorkerMirroredStrategy, or None for "none".

    Raises:
      BertTF1Error for an unknown name, missing GPUs, or (multi_worker) a missing or malformed
      TF_CONFIG, naming the field.

    >>> make_strategy("mirrored", 0).num_replicas_in_sync  # doctest: +SKIP
    1
    """
    if name not in STRATEGIES:
        raise BertTF1Error("--distribution_strategy '%s' is not one of %s"
                           % (name, ", ".join(STRATEGIES)))
    num_gpus = _non_negative_int("--num_gpus", num_gpus)
    if name == "none":
        return None
    if name == "multi_worker":
        cluster.read_tf_config()  # one clear error instead of TF's KeyError or hang
        if num_gpus:
            _check_gpus(num_gpus)
        return tf.distribute.experimental.MultiWorkerMirroredStrategy()
    if num_gpus == 0:
        devices = ["/cpu:0"]
    else:
        _check_gpus(num_gpus)
        devices = ["/gpu:%d" % index for index in range(num_gpus)]
    return tf.compat.v1.distribute.MirroredStrategy(devices=devices)


def _check_gpus(num_gpus):
    visible = tf.config.experimental.list_physical_devices("GPU")
    if len(visible) < num_gpus:
        raise BertTF1Error("--num_gpus=%d but TensorFlow sees %d GPU(s)%s" % (
            num_gpus, len(visible),
            " (check CUDA_VISIBLE_DEVICES and that tensorflow-gpu 1.15 finds CUDA 10.0/"
            "cuDNN 7)" if not visible else ""))


def check_bert_source(strategy, bert_source):
    """Raises BertTF1Error when `bert_source` cannot run under `strategy` (a hub module can't)."""
    if strategy is not None and bert_source is not None and \
            getattr(bert_source, "uses_hub_module", False):
        raise BertTF1Error("BERT source %s: %s" % (bert_source.hub_module_handle,
                                                  HUB_UNDER_STRATEGY_MESSAGE))


def per_replica_batch_size(global_batch_size, strategy):
    """The input_fn batch size that makes `global_batch_size` examples per step under `strategy`.

    >>> per_replica_batch_size(64, make_strategy("mirrored", 2))  # doctest: +SKIP
    32
    """
    num_replicas = strategy.num_replicas_in_sync if strategy is not None else 1
    if isinstance(global_batch_size, bool) or not isinstance(global_batch_size, int) or \
            global_batch_size < 1 or global_batch_size % num_replicas:
        raise BertTF1Error("train_batch_size %r must be a positive multiple of the %d replica(s) "
                           "(each replica trains on train_batch_size / replicas examples)"
                           % (global_batch_size, num_replicas))
    return global_batch_size // num_replicas


def make_distributed_estimator(model_fn, output_dir, strategy, train_batch_size,
                               eval_batch_size=None, predict_batch_size=None,
                               save_checkpoints_steps=1000, keep_checkpoint_max=5, seed=None,
                               log_step_count_steps=100, save_summary_steps=100,
                               session_config=None):
    """A plain tf.estimator.Estimator training under `strategy` (evaluating undistributed).

    Args:
      model_fn: from model_fn.model_fn_builder(..., for_tpu_estimator=False), with a checkpoint
        BERT source when `strategy` is not None.
      output_dir: model_dir (local, gs:// or s3://).
      strategy: from make_strategy (None: no distribution).
      train_batch_size: global examples per training step, a multiple of the number of replicas.
      eval_batch_size, predict_batch_size: default train_batch_size.
      save_checkpoints_steps, keep_checkpoint_max, seed (tf_random_seed), log_step_count_steps,
      save_summary_steps: RunConfig's.
      session_config: tf.compat.v1.ConfigProto (e.g. device_count={"CPU": 2} for tests).

    Returns:
      tf.estimator.Estimator whose params hold train_batch_size, train_batch_size_per_replica,
      eval_batch_size and predict_batch_size: build the input_fns with those (the TRAIN one per
      replica; see the module docstring). The model_fn ignores params.

    Raises:
      BertTF1Error for a TPUEstimator model_fn, a hub module under a strategy, or a batch size
      the replicas cannot share.

    Example:
      strategy = make_strategy("mirrored", num_gpus=2)
      model_fn = model_fn_builder(2, 2e-5, 1000, 100, False, None, for_tpu_estimator=False,
                                  bert_source=BertSource.from_bert_dir("uncased_L-12_H-768_A-12"))
      estimator = make_distributed_estimator(model_fn, "out", strategy, train_batch_size=64)
      estimator.train(inputs.input_fn_builder(
          train_features, 128, True, True,
          batch_size=estimator.params["train_batch_size_per_replica"]), max_steps=1000)
    """
    if getattr(model_fn, "for_tpu_estimator", False):
        raise BertTF1Error("make_distributed_estimator needs a plain Estimator model_fn: build it "
                           "with model_fn_builder(..., for_tpu_estimator=False)")
    check_bert_source(strategy, getattr(model_fn, "bert_source", None))
    per_replica = per_replica_batch_size(train_batch_size, strategy)
    eval_batch_size = train_batch_size if eval_batch_size is None else eval_batch_size
    predict_batch_size = train_batch_size if predict_batch_size is None else predict_batch_size
    for name, value in (("eval_batch_size", eval_batch_size),
                        ("predict_batch_size", predict_batch_size)):
        if _non_negative_int(name, value) == 0:
            raise BertTF1Error("%s: expected a positive integer, found 0" % name)
    run_config = tf.estimator.RunConfig(
        model_dir=output_dir, train_distribute=strategy, eval_distribute=None,
        save_checkpoints_steps=save_checkpoints_steps, keep_checkpoint_max=keep_checkpoint_max,
        tf_random_seed=seed, log_step_count_steps=log_step_count_steps,
        save_summary_steps=save_summary_steps, session_config=session_config)
    params = {"train_batch_size": train_batch_size, "train_batch_size_per_replica": per_replica,
              "eval_batch_size": eval_batch_size, "predict_batch_size": predict_batch_size}
    return tf.estimator.Estimator(model_fn=model_fn, config=run_config, params=params)
