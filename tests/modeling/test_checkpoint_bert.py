"""modeling.checkpoint_bert: BertModel from a Google checkpoint or a hub module's weights."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_tf1.classifier import inputs, model_fn
from bert_tf1.classifier.features import InputFeatures
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import bert_dir, checkpoint_bert, hub_bert
from bert_tf1.modeling.checkpoint_bert import BertSource
from bert_tf1.runtime import estimators

SEQ_LENGTH = 8


def token_inputs():
    """A batch of 3 with padding, both segments and a whole-length row."""
    rng = np.random.RandomState(3)
    input_ids = rng.randint(5, 800, size=(3, SEQ_LENGTH)).astype(np.int32)
    input_mask = np.array([[1] * 8, [1] * 5 + [0] * 3, [1] * 3 + [0] * 5], np.int32)
    segment_ids = np.array([[0] * 4 + [1] * 4, [0] * 8, [0] * 2 + [1] + [0] * 5], np.int32)
    return input_ids * input_mask, input_mask, segment_ids


def encoder_outputs(build):
    """Runs build(input_ids, input_mask, segment_ids) -> outputs dict in a fresh graph."""
    with tf.Graph().as_default():
        tensors = [tf.constant(array) for array in token_inputs()]
        outputs = build(*tensors)
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.tables_initializer()])
            return sess.run(outputs)


def test_checkpoint_bert_equals_hub_module(tiny_bert_dir, tiny_hub_module):
    hub = encoder_outputs(lambda ids, mask, segments: hub_bert.bert_outputs(
        tiny_hub_module, ids, mask, segments, is_training=False))
    config_file = os.path.join(tiny_bert_dir, "bert_config.json")
    checkpoint = os.path.join(tiny_bert_dir, "bert_model.ckpt")
    bert_dir_source = BertSource.from_bert_dir(tiny_bert_dir)
    hub_variables_source = BertSource.from_hub_module_variables(tiny_hub_module)
    sources = {
        "function": lambda ids, mask, segments: checkpoint_bert.bert_outputs_from_checkpoint(
            config_file, checkpoint, ids, mask, segments, is_training=False),
        "bert_dir": lambda ids, mask, segments: bert_dir_source.bert_outputs(
            ids, mask, segments, is_training=False),
        "hub_variables": lambda ids, mask, segments: hub_variables_source.bert_outputs(
            ids, mask, segments, is_training=False),
    }
    for name, build in sources.items():
        outputs = encoder_outputs(build)
        for key in ("pooled_output", "sequence_output"):
            np.testing.assert_allclose(outputs[key], hub[key], atol=1e-5, rtol=0,
                                       err_msg="%s %s" % (name, key))
    # Not vacuous: a randomly initialised BertModel differs.
    untrained = encoder_outputs(
        lambda ids, mask, segments: checkpoint_bert.bert_outputs_from_checkpoint(
            config_file, None, ids, mask, segments, is_training=False))
    assert np.abs(untrained["pooled_output"] - hub["pooled_output"]).max() > 1e-2


def test_infer_bert_config_from_hub_module(tiny_bert_dir, tiny_hub_module):
    inferred = checkpoint_bert.infer_bert_config_from_hub_module(tiny_hub_module)
    expected = bert_dir.load_bert_config(os.path.join(tiny_bert_dir, "bert_config.json"))
    assert inferred.to_dict() == expected.to_dict()


def test_variable_names_and_frozen_encoder(tiny_bert_dir):
    config = bert_dir.load_bert_config(os.path.join(tiny_bert_dir, "bert_config.json"))
    for trainable in (True, False):
        with tf.Graph().as_default():
            ids = tf.compat.v1.placeholder(tf.int32, [None, SEQ_LENGTH])
            with tf.compat.v1.variable_scope("outer"):  # names map under an outer scope too
                checkpoint_bert.bert_outputs_from_checkpoint(
                    config, tiny_bert_dir, ids, tf.ones_like(ids), tf.zeros_like(ids),
                    is_training=True, trainable=trainable)
            names = sorted(v.op.name for v in tf.compat.v1.global_variables())
            trainable_names = [v.op.name for v in tf.compat.v1.trainable_variables()]
        assert names == sorted("outer/" + name for name in bert_dir.expected_encoder_shapes(config))
        assert sorted(trainable_names) == (names if trainable else [])


def test_checkpoint_that_does_not_fit_the_config(tiny_bert_dir, tmp_path):
    with open(os.path.join(tiny_bert_dir, "bert_config.json")) as handle:
        values = json.load(handle)

    def build(**changes):
        with tf.Graph().as_default():
            ids = tf.compat.v1.placeholder(tf.int32, [None, SEQ_LENGTH])
            checkpoint_bert.bert_outputs_from_checkpoint(
                dict(values, **changes), tiny_bert_dir, ids, tf.ones_like(ids),
                tf.zeros_like(ids), is_training=False)

    with pytest.raises(BertTF1Error, match=r"lacks 16 of the 55 .*layer_2"):
        build(num_hidden_layers=3)
    with pytest.raises(BertTF1Error, match=r"intermediate/dense/kernel is \[128, 512\] in the "
                                           r"checkpoint, the config implies \[128, 256\]"):
        build(intermediate_size=256)
    with pytest.raises(BertTF1Error, match="no checkpoint there"):
        checkpoint_bert.resolve_init_checkpoint(str(tmp_path / "nowhere"))


def test_resolve_init_checkpoint(tiny_bert_dir, tiny_hub_module):
    prefix = os.path.join(tiny_bert_dir, "bert_model.ckpt")
    assert checkpoint_bert.resolve_init_checkpoint(prefix) == prefix
    assert checkpoint_bert.resolve_init_checkpoint(tiny_bert_dir) == prefix
    assert checkpoint_bert.resolve_init_checkpoint(tiny_hub_module) == os.path.join(
        tiny_hub_module, "variables", "variables")


def test_bert_source_construction(tiny_bert_dir, tiny_hub_module):
    config_file = os.path.join(tiny_bert_dir, "bert_config.json")
    prefix = os.path.join(tiny_bert_dir, "bert_model.ckpt")

    hub = BertSource.from_flags(bert_hub_module_handle=tiny_hub_module)
    assert hub.uses_hub_module and hub.hub_module_handle == tiny_hub_module
    ckpt = BertSource.from_flags(bert_config_file=config_file, init_checkpoint=prefix)
    assert not ckpt.uses_hub_module and ckpt.init_checkpoint == prefix
    assert ckpt.bert_config.num_hidden_layers == 2
    from_dir = BertSource.from_flags(init_checkpoint=tiny_bert_dir)
    assert from_dir.bert_config_file == config_file
    from_hub_dir = BertSource.from_flags(init_checkpoint=tiny_hub_module)
    assert from_hub_dir.kind == "checkpoint" and from_hub_dir.init_checkpoint.endswith(
        os.path.join("variables", "variables"))
    assert hub.as_checkpoint_source().bert_config.to_dict() == ckpt.bert_config.to_dict()

    for source in (hub, ckpt, from_hub_dir):
        again = BertSource.from_dict(json.loads(json.dumps(source.to_dict())))
        assert again.to_dict() == source.to_dict()
    assert checkpoint_bert.as_bert_source(tiny_hub_module).uses_hub_module
    assert checkpoint_bert.as_bert_source(
        {"bert_config_file": config_file, "init_checkpoint": prefix}).kind == "checkpoint"
    assert checkpoint_bert.resolve_bert_source(None, ckpt) is ckpt

    with pytest.raises(BertTF1Error, match="not both"):
        BertSource.from_flags(bert_hub_module_handle=tiny_hub_module, bert_config_file=config_file)
    # A checkpoint beside a hub module warm-starts (model_fn_builder); the encoder is the module.
    assert BertSource.from_flags(bert_hub_module_handle=tiny_hub_module,
                                 init_checkpoint=prefix).uses_hub_module
    with pytest.raises(BertTF1Error, match="needs --bert_config_file"):
        BertSource.from_flags(init_checkpoint=prefix)
    with pytest.raises(BertTF1Error, match="no BERT given"):
        BertSource.from_flags()
    with pytest.raises(BertTF1Error, match="not both"):
        checkpoint_bert.resolve_bert_source(tiny_hub_module, ckpt)
    with pytest.raises(BertTF1Error, match="no BERT given"):
        checkpoint_bert.resolve_bert_source(None, None)
    with pytest.raises(BertTF1Error, match="unknown field"):
        BertSource.from_dict({"hub": tiny_hub_module})


def random_features(count, seed):
    rng = np.random.RandomState(seed)
    features = []
    for index in range(count):
        length = rng.randint(3, SEQ_LENGTH + 1)
        ids = [2] + list(rng.randint(5, 800, size=length - 1)) + [0] * (SEQ_LENGTH - length)
        mask = [1] * length + [0] * (SEQ_LENGTH - length)
        features.append(InputFeatures(ids, mask, [0] * SEQ_LENGTH, index % 2))
    return features


@pytest.mark.e2e
def test_fine_tune_top_layers_trains_only_the_top(tiny_bert_dir, tmp_path):
    steps = 3
    model_dir = str(tmp_path / "run")
    estimator = estimators.make_estimator(
        model_fn.model_fn_builder(
            num_labels=2, learning_rate=1e-2, num_train_steps=steps, num_warmup_steps=0,
            use_tpu=False, bert_hub_module_handle=None,
            bert_source=BertSource.from_bert_dir(tiny_bert_dir), fine_tune_top_layers=1),
        estimators.make_run_config(model_dir, save_checkpoints_steps=steps, seed=0),
        use_tpu=False, train_batch_size=8, eval_batch_size=8, predict_batch_size=8)
    estimator.train(inputs.input_fn_builder(random_features(16, 0), SEQ_LENGTH, is_training=True,
                                            drop_remainder=True, seed=0), max_steps=steps)

    trained = dict(tf.train.list_variables(model_dir))
    initial = os.path.join(tiny_bert_dir, "bert_model.ckpt")
    assert tf.train.load_variable(model_dir, "global_step") == steps

    def changed(name):
        return not np.array_equal(tf.train.load_variable(model_dir, name),
                                  tf.train.load_variable(initial, name))

    encoder = [name for name in bert_dir.expected_encoder_shapes(
        bert_dir.load_bert_config(os.path.join(tiny_bert_dir, "bert_config.json")))]
    frozen = [n for n in encoder if n.startswith(("bert/embeddings/", "bert/encoder/layer_0/"))]
    tuned = [n for n in encoder if n not in frozen]
    assert frozen and tuned
    assert [n for n in frozen if changed(n)] == []
    assert [n for n in tuned if not changed(n)] == []
    # Slots exist only for what was trained (and the head).
    slots = sorted(n[:-len("/adam_m")] for n in trained if n.endswith("/adam_m"))
    assert slots == sorted(tuned + ["output_bias", "output_weights"])


def test_fine_tune_top_layers_validation(tiny_bert_dir):
    source = BertSource.from_bert_dir(tiny_bert_dir)
    with pytest.raises(BertTF1Error, match="frozen_mlp"):
        model_fn.model_fn_builder(2, 1e-3, 10, 1, False, None, head="frozen_mlp",
                                  bert_source=source, fine_tune_top_layers=1)
    with pytest.raises(BertTF1Error, match="integer >= 0"):
        model_fn.model_fn_builder(2, 1e-3, 10, 1, False, None, bert_source=source,
                                  fine_tune_top_layers=-1)


def test_tpu_model_fn_restores_from_scaffold_fn(tiny_bert_dir):
    """use_tpu=True: nothing restored while building the graph, scaffold_fn restores (Google's
    TPU recipe); checked in PREDICT mode, which needs no TPU-only ops."""
    fn = model_fn.model_fn_builder(2, 1e-3, 10, 1, True, None,
                                   bert_source=BertSource.from_bert_dir(tiny_bert_dir))
    name = "bert/embeddings/word_embeddings"
    expected = tf.train.load_variable(os.path.join(tiny_bert_dir, "bert_model.ckpt"), name)
    with tf.Graph().as_default():
        ids, mask, segments = [tf.constant(array) for array in token_inputs()]
        features = dict(input_ids=ids, input_mask=mask, segment_ids=segments,
                        label_ids=tf.zeros([3], tf.int32))
        spec = fn(features, None, tf.estimator.ModeKeys.PREDICT, {})
        assert spec.scaffold_fn is not None
        variable = [v for v in tf.compat.v1.global_variables() if v.op.name == name][0]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            assert not np.allclose(sess.run(variable), expected)
            spec.scaffold_fn()
            sess.run(tf.compat.v1.global_variables_initializer())
            np.testing.assert_array_equal(sess.run(variable), expected)
    # Off TPU, the graph restores by itself and there is no scaffold_fn.
    cpu_fn = model_fn.model_fn_builder(2, 1e-3, 10, 1, False, None,
                                       bert_source=BertSource.from_bert_dir(tiny_bert_dir))
    with tf.Graph().as_default():
        features = dict(zip(("input_ids", "input_mask", "segment_ids"),
                            [tf.constant(array) for array in token_inputs()]),
                        label_ids=tf.zeros([3], tf.int32))
        assert cpu_fn(features, None, tf.estimator.ModeKeys.PREDICT, {}).scaffold_fn is None


def test_init_trainable_from_checkpoint_restores_what_matches(tmp_path):
    """Google's run_classifier.py init: same name and shape -> restored, head included; BERT
    names match across hub ("module/bert/...") and checkpoint ("bert/...") runs."""
    prefix = str(tmp_path / "model.ckpt-7")
    with tf.Graph().as_default():
        saved = {"module/bert/embeddings/word_embeddings": np.full([5, 3], 2.0, np.float32),
                 "output_weights": np.full([2, 3], 3.0, np.float32),
                 "output_bias": np.full([3], 4.0, np.float32),  # a 3-label head
                 "global_step": np.int64(7)}
        for name, value in saved.items():
            tf.compat.v1.get_variable(name, initializer=value)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(sess, prefix)
    with tf.Graph().as_default():
        zeros = tf.zeros_initializer()
        embeddings = tf.compat.v1.get_variable("bert/embeddings/word_embeddings", [5, 3],
                                               initializer=zeros)
        weights = tf.compat.v1.get_variable("output_weights", [2, 3], initializer=zeros)
        bias = tf.compat.v1.get_variable("output_bias", [2], initializer=zeros)
        extra = tf.compat.v1.get_variable("head_hidden/kernel", [3, 3], initializer=zeros)
        logged = []
        assignment, not_found, wrong_shape = checkpoint_bert.init_trainable_from_checkpoint(
            prefix, log_fn=logged.append)
        assert assignment == {"module/bert/embeddings/word_embeddings":
                              "bert/embeddings/word_embeddings",
                              "output_weights": "output_weights"}
        assert not_found == ["head_hidden/kernel"] and wrong_shape == ["output_bias"]
        assert "initialised 2 of 4 trainable variables" in logged[0]
        assert "bert/* (1), output_weights; not in it: head_hidden/kernel, output_bias" \
            in logged[0]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            values = sess.run([embeddings, weights, bias, extra])
    assert (values[0] == 2).all() and (values[1] == 3).all()
    assert (values[2] == 0).all() and (values[3] == 0).all()


def test_name_candidates_cover_both_sources():
    assert checkpoint_bert.checkpoint_name_candidates("bert/pooler/dense/kernel") == [
        "bert/pooler/dense/kernel", "module/bert/pooler/dense/kernel"]
    assert checkpoint_bert.checkpoint_name_candidates("module/bert/x") == ["module/bert/x",
                                                                          "bert/x"]
    assert checkpoint_bert.checkpoint_name_candidates("output_bias") == ["output_bias"]


def test_tpu_checkpoint_runs_use_one_hot_embeddings(tiny_bert_dir, tiny_hub_module):
    """google-research/bert passes use_one_hot_embeddings=FLAGS.use_tpu: gathers are slow on
    TPUs. The setting must reach the graph."""
    from bert_tf1.classifier.pipeline import ClassifierRunSettings, bert_source_from_settings

    flags = dict(bert_config_file=os.path.join(tiny_bert_dir, "bert_config.json"),
                 init_checkpoint=os.path.join(tiny_bert_dir, "bert_model.ckpt"),
                 vocab_file=os.path.join(tiny_bert_dir, "vocab.txt"))
    tpu = bert_source_from_settings(ClassifierRunSettings(use_tpu=True, **flags))
    cpu = bert_source_from_settings(ClassifierRunSettings(**flags))
    assert tpu.use_one_hot_embeddings and not cpu.use_one_hot_embeddings
    hub_source = BertSource.from_hub_module(tiny_hub_module)
    assert hub_source.as_checkpoint_source(use_one_hot_embeddings=True).use_one_hot_embeddings
    assert not hub_source.as_checkpoint_source().use_one_hot_embeddings

    def lookup_ops(source, use_tpu):
        fn = model_fn.model_fn_builder(2, 1e-3, 10, 1, use_tpu, None, bert_source=source)
        with tf.Graph().as_default() as graph:
            ids, mask, segments = [tf.constant(array) for array in token_inputs()]
            fn(dict(input_ids=ids, input_mask=mask, segment_ids=segments,
                    label_ids=tf.zeros([3], tf.int32)), None, tf.estimator.ModeKeys.PREDICT, {})
            table = graph.get_tensor_by_name("bert/embeddings/word_embeddings/read:0")
            return {op.type for op in table.consumers()}

    assert "MatMul" in lookup_ops(tpu, True) and "GatherV2" not in lookup_ops(tpu, True)
    assert "GatherV2" in lookup_ops(cpu, False) and "MatMul" not in lookup_ops(cpu, False)
