import pytest
import tensorflow as tf

from bert_tf1 import runtime
from bert_tf1.errors import BertTF1Error


def test_use_tpu_without_a_tpu_name_is_a_clear_error():
    with pytest.raises(BertTF1Error, match="--use_tpu=true needs --tpu_name"):
        runtime.make_run_config("/tmp/unused", use_tpu=True)


def test_tpu_configuration_is_built_from_the_resolver(tmp_path):
    # A grpc:// address is used as is; nothing is contacted while building the configuration.
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="grpc://127.0.0.1:8470")
    config = runtime.make_run_config(str(tmp_path), use_tpu=True, cluster_resolver=resolver,
                                     iterations_per_loop=50, num_tpu_cores=8,
                                     save_checkpoints_steps=200, keep_checkpoint_max=3, seed=7)
    assert isinstance(config, tf.compat.v1.estimator.tpu.RunConfig)
    assert config.master == "grpc://127.0.0.1:8470"
    assert config.tpu_config.iterations_per_loop == 50 and config.tpu_config.num_shards == 8
    assert config.tpu_config.per_host_input_for_training == \
        tf.compat.v1.estimator.tpu.InputPipelineConfig.PER_HOST_V2
    assert (config.save_checkpoints_steps, config.keep_checkpoint_max, config.tf_random_seed) \
        == (200, 3, 7)
    estimator = runtime.make_estimator(lambda features, labels, mode, params: None, config,
                                       use_tpu=True, train_batch_size=32, eval_batch_size=8,
                                       predict_batch_size=8)
    assert isinstance(estimator, tf.compat.v1.estimator.tpu.TPUEstimator)
    assert estimator._ctx._use_tpu  # pylint: disable=protected-access
    assert estimator._ctx._train_batch_size == 32  # pylint: disable=protected-access


def test_cpu_configuration_runs_the_same_estimator_off_tpu(tmp_path):
    config = runtime.make_run_config(str(tmp_path))
    estimator = runtime.make_estimator(lambda features, labels, mode, params: None, config,
                                       use_tpu=False, train_batch_size=4, eval_batch_size=4,
                                       predict_batch_size=4)
    assert not estimator._ctx._use_tpu  # pylint: disable=protected-access
    assert config.cluster_spec.as_dict() == {}


@pytest.mark.parametrize("seconds, text", [(0, "0s"), (59.6, "1m00s"), (3725, "1h02m05s")])
def test_format_duration(seconds, text):
    assert runtime.format_duration(seconds) == text


def test_progress_hook_logs_rate_and_eta():
    logged = []
    hook = runtime.TrainingProgressHook(num_train_steps=10, every_n_steps=5, log_fn=logged.append)

    class Values(object):
        def __init__(self, step):
            self.results = {"step": step, "loss": 1.0 / (step + 1)}

    for step in range(10):
        hook.after_run(None, Values(step))
    assert [s for s, _ in hook.history] == list(range(1, 11))
    assert len(logged) == 2 and logged[0].startswith("step 5/10  loss 0.2000")
    assert "ETA" in logged[0] and logged[1].startswith("step 10/10")
