import pytest
import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import estimators, progress


def test_use_tpu_without_a_tpu_name_is_a_clear_error():
    with pytest.raises(BertTF1Error, match="--use_tpu=true needs --tpu_name"):
        estimators.make_run_config("/tmp/unused", use_tpu=True)


def test_tpu_configuration_is_built_from_the_resolver(tmp_path):
    # A grpc:// address is used as is; nothing is contacted while building the configuration.
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="grpc://127.0.0.1:8470")
    config = estimators.make_run_config(str(tmp_path), use_tpu=True, cluster_resolver=resolver,
                                     iterations_per_loop=50, num_tpu_cores=8,
                                     save_checkpoints_steps=200, keep_checkpoint_max=3, seed=7)
    assert isinstance(config, tf.compat.v1.estimator.tpu.RunConfig)
    assert config.master == "grpc://127.0.0.1:8470"
    assert config.tpu_config.iterations_per_loop == 50 and config.tpu_config.num_shards == 8
    assert config.tpu_config.per_host_input_for_training == \
        tf.compat.v1.estimator.tpu.InputPipelineConfig.PER_HOST_V2
    assert (config.save_checkpoints_steps, config.keep_checkpoint_max, config.tf_random_seed) \
        == (200, 3, 7)
    estimator = estimators.make_estimator(lambda features, labels, mode, params: None, config,
                                       use_tpu=True, train_batch_size=32, eval_batch_size=8,
                                       predict_batch_size=8)
    assert isinstance(estimator, tf.compat.v1.estimator.tpu.TPUEstimator)
    assert estimator._ctx._use_tpu  # pylint: disable=protected-access
    assert estimator._ctx._train_batch_size == 32  # pylint: disable=protected-access


def test_cpu_configuration_runs_the_same_estimator_off_tpu(tmp_path):
    config = estimators.make_run_config(str(tmp_path))
    estimator = estimators.make_estimator(lambda features, labels, mode, params: None, config,
                                       use_tpu=False, train_batch_size=4, eval_batch_size=4,
                                       predict_batch_size=4)
    assert not estimator._ctx._use_tpu  # pylint: disable=protected-access
    assert config.cluster_spec.as_dict() == {}
    # examples/sec every 100 steps on CPU, not after every step (100 / iterations_per_loop)
    assert estimator._log_every_n_steps == 100  # pylint: disable=protected-access


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.6, "1m00s"), (3725, "1h02m05s")])
def test_format_duration(seconds, text):
    assert progress.format_duration(seconds) == text


class FakeClock(object):
    """One second per call: the rates below are exact."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.0
        return self.now


def run_hook(hook, steps_per_run, runs, make_loss=lambda: tf.constant(0.5)):
    """Runs a train op that adds `steps_per_run` to the global step `runs` times, as one
    session.run does on CPU (1) or a TPU training loop does (iterations_per_loop)."""
    with tf.Graph().as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        tf.compat.v1.add_to_collection(progress.TRAIN_LOSS_COLLECTION, make_loss())
        train_op = tf.compat.v1.assign_add(global_step, steps_per_run)
        with tf.compat.v1.train.SingularMonitoredSession(hooks=[hook]) as session:
            for _ in range(runs):
                session.run(train_op)


def test_progress_hook_on_cpu_logs_loss_rate_and_eta():
    logged = []
    hook = progress.TrainingProgressHook(num_train_steps=10, every_n_steps=5, log_fn=logged.append,
                                        clock=FakeClock())
    run_hook(hook, steps_per_run=1, runs=10)
    assert hook.history == [(step, 0.5) for step in range(1, 11)]
    # Baseline after step 1; then 5 steps in 5 s -> 1 step/s, ETA 4 s; the last log at step 10.
    assert logged == ["step 6/10  loss 0.5000  1.00 steps/s  ETA 4s",
                      "step 10/10  loss 0.5000  1.00 steps/s  ETA 0s"]


def test_progress_hook_on_tpu_fetches_no_model_tensor_and_counts_loop_steps():
    """use_tpu: the loss lives inside the on-device loop; the hook must not fetch it. A
    placeholder stands in for it here: fetching it without a feed would fail the run."""
    logged = []
    hook = progress.TrainingProgressHook(num_train_steps=20, every_n_steps=5, log_fn=logged.append,
                                        fetch_loss=False, clock=FakeClock())
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        tf.compat.v1.add_to_collection(progress.TRAIN_LOSS_COLLECTION,
                                       tf.compat.v1.placeholder(tf.float32, []))
        hook.begin()
        assert hook.before_run(None) is None  # nothing added to the train op's fetches
    # 4 steps per session.run (iterations_per_loop=4): global step 4, 8, ..., 20.
    run_hook(progress.TrainingProgressHook(20, 5, logged.append, fetch_loss=False,
                                          clock=FakeClock()),
             steps_per_run=4, runs=5,
             make_loss=lambda: tf.compat.v1.placeholder(tf.float32, []))
    # Baseline at step 4; step 12: 8 steps in 2 s -> 4 steps/s, 8 left -> 2 s; then step 20.
    assert logged == ["step 12/20  4.00 steps/s  ETA 2s", "step 20/20  4.00 steps/s  ETA 0s"]


def test_progress_hook_history_follows_the_global_step_when_resumed():
    hook = progress.TrainingProgressHook(num_train_steps=6, every_n_steps=100,
                                         log_fn=lambda _: None)
    with tf.Graph().as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        tf.compat.v1.add_to_collection(progress.TRAIN_LOSS_COLLECTION, tf.constant(1.0))
        train_op = tf.compat.v1.assign_add(global_step, 1)
        resume_at_3 = tf.compat.v1.assign(global_step, 3)
        with tf.compat.v1.train.SingularMonitoredSession(hooks=[hook]) as session:
            session.run(resume_at_3)
            del hook.history[:]
            session.run(train_op)
    assert hook.history == [(4, 1.0)]


def test_pipeline_builds_a_tpu_safe_progress_hook():
    from bert_tf1.classifier.pipeline import ClassifierRunSettings, make_progress_hook

    assert make_progress_hook(ClassifierRunSettings(use_tpu=True), 10).fetch_loss is False
    assert make_progress_hook(ClassifierRunSettings(), 10).fetch_loss is True


def test_session_config_is_none_by_default_and_keeps_estimators_defaults_otherwise(tmp_path):
    from tensorflow_estimator.python.estimator.run_config import get_default_session_config

    from bert_tf1.runtime.estimators import make_run_config, session_config

    assert session_config() is None
    assert make_run_config(str(tmp_path)).session_config is None  # Estimator's default applies
    stock = get_default_session_config()
    config = session_config(xla_jit=True, intra_op_threads=2, inter_op_threads=1)
    assert config.allow_soft_placement == stock.allow_soft_placement
    assert (config.graph_options.rewrite_options.meta_optimizer_iterations
            == stock.graph_options.rewrite_options.meta_optimizer_iterations)
    assert config.graph_options.optimizer_options.global_jit_level == \
        tf.compat.v1.OptimizerOptions.ON_1
    assert (config.intra_op_parallelism_threads, config.inter_op_parallelism_threads) == (2, 1)
    assert session_config(intra_op_threads=1).graph_options.optimizer_options \
        .global_jit_level == tf.compat.v1.OptimizerOptions.DEFAULT
    assert make_run_config(str(tmp_path), session_config=config).session_config is config


def test_pipeline_passes_the_cpu_flags_to_the_run_config(tmp_path):
    from bert_tf1.classifier import pipeline
    from bert_tf1.errors import BertTF1Error

    settings = pipeline.ClassifierRunSettings(
        output_dir=str(tmp_path), bert_hub_module_handle="unused", xla_jit=True,
        intra_op_threads=1)
    source = pipeline.checkpoint_bert.BertSource.from_flags("unused", None, None)
    estimator, _ = pipeline.build_estimator(settings, source, 2, ["a", "b"], "binary", 1, 0)
    config = estimator.config.session_config
    assert config.intra_op_parallelism_threads == 1
    assert config.graph_options.optimizer_options.global_jit_level == \
        tf.compat.v1.OptimizerOptions.ON_1
    with pytest.raises(BertTF1Error, match="--inter_op_threads must be 0"):
        pipeline.validate_settings(pipeline.ClassifierRunSettings(
            task_name="sst2", data_dir="d", output_dir="o", bert_hub_module_handle="m",
            do_train=True, inter_op_threads=-1))
