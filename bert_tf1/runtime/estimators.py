"""RunConfig and Estimator construction for TPU, GPU and CPU.

google-research/bert always builds a TPUEstimator; with use_tpu=False it runs the same model_fn on
CPU/GPU at Estimator speed. A TPU needs tf.contrib.tpu-style RunConfig with TPUConfig and the
TPUClusterResolver of --tpu_name; batch sizes go to the TPUEstimator constructor (params
["batch_size"] is reserved), which hands each input_fn its per-call batch size.
"""
import tensorflow as tf
from tensorflow_estimator.python.estimator.run_config import get_default_session_config

from bert_tf1.errors import BertTF1Error


def tpu_cluster_resolver(tpu_name, tpu_zone=None, gcp_project=None):
    """Resolves --tpu_name (a Cloud TPU name or grpc:// address); None when no name is given."""
    if not tpu_name:
        return None
    return tf.distribute.cluster_resolver.TPUClusterResolver(tpu_name, zone=tpu_zone,
                                                             project=gcp_project)


def session_config(xla_jit=False, intra_op_threads=0, inter_op_threads=0):
    """The tf.ConfigProto of --xla_jit / --intra_op_threads / --inter_op_threads, or None.

    None (all defaults) leaves Estimator's own default session config untouched. Otherwise it is
    that default (allow_soft_placement, one grappler meta-optimizer pass) plus:
      xla_jit: global_jit_level ON_1, XLA auto-clustering. TF 1.15 applies it to CPU kernels
        only with TF_XLA_FLAGS=--tf_xla_cpu_global_jit in the environment (set before TF reads
        it, i.e. before the process starts); see docs/speed.md for what it measured.
      intra_op_threads / inter_op_threads: TF's thread pools (0 = TF's choice: the CPU count).
    """
    if not (xla_jit or intra_op_threads or inter_op_threads):
        return None
    config = get_default_session_config()
    config.intra_op_parallelism_threads = int(intra_op_threads)
    config.inter_op_parallelism_threads = int(inter_op_threads)
    if xla_jit:
        config.graph_options.optimizer_options.global_jit_level = (
            tf.compat.v1.OptimizerOptions.ON_1)
    return config


def make_run_config(output_dir, use_tpu=False, tpu_name=None, tpu_zone=None, gcp_project=None,
                    master=None, save_checkpoints_steps=1000, iterations_per_loop=1000,
                    num_tpu_cores=8, keep_checkpoint_max=5, tpu_job_name=None, seed=None,
                    cluster_resolver=None,
                    log_step_count_steps=100, save_summary_steps=100, session_config=None):
    """Builds the tf.compat.v1.estimator.tpu.RunConfig used for TPU and non-TPU runs alike.

    Args:
      output_dir: model_dir (local, gs:// or s3://).
      use_tpu: whether to run on a TPU (requires tpu_name or master).
      cluster_resolver: a pre-built resolver (tests); otherwise built from tpu_name/zone/project.
      The rest are google-research/bert's flags of the same names, plus keep_checkpoint_max,
      tf_random_seed (`seed`) and the logging/summary intervals.
      session_config: a tf.ConfigProto (see session_config()); None keeps Estimator's default.
    """
    if not use_tpu and log_step_count_steps:
        # TPUEstimator logs examples/sec every ceil(log_step_count_steps / iterations_per_loop)
        # session runs, assuming one run is a whole TPU loop; on CPU/GPU a run is one step, so
        # 100 / 1000 became a line after every step, drowning the progress lines. Scaled, the
        # line comes every log_step_count_steps steps as asked.
        log_step_count_steps *= iterations_per_loop
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
        save_summary_steps=save_summary_steps, session_config=session_config)


def make_estimator(model_fn, run_config, use_tpu, train_batch_size, eval_batch_size,
                   predict_batch_size):
    """TPUEstimator that runs on the TPU when use_tpu, else on CPU/GPU (same model_fn)."""
    return tf.compat.v1.estimator.tpu.TPUEstimator(
        use_tpu=use_tpu, model_fn=model_fn, config=run_config,
        train_batch_size=train_batch_size, eval_batch_size=eval_batch_size,
        predict_batch_size=predict_batch_size)
