"""The model layer's promises: train tags and head dropout only in TRAIN; predict outputs."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from bert_tf1.classifier import model as classifier
from bert_tf1.classifier import model_fn
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import estimators

pytestmark = pytest.mark.e2e

IDS = np.array([[2, 40, 41, 300, 3, 0], [2, 500, 600, 3, 0, 0], [2, 7, 3, 0, 0, 0]], np.int32)
MASK = (IDS > 0).astype(np.int32)


def features(count=3):
    return {"input_ids": tf.constant(IDS[:count]), "input_mask": tf.constant(MASK[:count]),
            "segment_ids": tf.zeros_like(tf.constant(IDS[:count])),
            "label_ids": tf.constant([1, 0, 1][:count], tf.int32),
            "is_real_example": tf.ones([count], tf.int32)}


@pytest.fixture
def recorded_tags(monkeypatch):
    """Records the tags every hub.Module is built with."""
    calls = []
    real_module = hub.Module

    def recording_module(handle, trainable=False, name="module", tags=None):
        calls.append(set(tags or ()))
        return real_module(handle, trainable=trainable, name=name, tags=tags)

    monkeypatch.setattr(hub, "Module", recording_module)
    return calls


@pytest.mark.parametrize("mode, tags", [(tf.estimator.ModeKeys.TRAIN, {"train"}),
                                        (tf.estimator.ModeKeys.EVAL, set()),
                                        (tf.estimator.ModeKeys.PREDICT, set())])
def test_train_tags_only_in_train_mode(tiny_hub_module, recorded_tags, mode, tags):
    fn = model_fn.model_fn_builder(2, 1e-3, 10, 1, False, tiny_hub_module)
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        fn(features(), None, mode, {})
    assert recorded_tags == [tags]


def run_twice(tiny_hub_module, is_training, head):
    with tf.Graph().as_default():
        f = features()
        _, _, logits, _ = classifier.create_model(
            is_training, f["input_ids"], f["input_mask"], f["segment_ids"], f["label_ids"], 2,
            tiny_hub_module, head=head, head_dropout=0.5)
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return sess.run(logits), sess.run(logits)


@pytest.mark.parametrize("head", ["pooled", "mean", "frozen_mlp"])
def test_no_dropout_outside_training(tiny_hub_module, head):
    first, second = run_twice(tiny_hub_module, False, head)
    np.testing.assert_array_equal(first, second)


def deterministic_bert_source(tiny_bert_dir):
    """The tiny BERT with its own dropout off: in TRAIN its outputs are the same on every run,
    so any run-to-run difference in the logits comes from the head."""
    import json
    import os

    from bert_tf1.modeling.checkpoint_bert import BertSource

    with open(os.path.join(tiny_bert_dir, "bert_config.json")) as handle:
        config = json.load(handle)
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertSource.from_checkpoint(config, os.path.join(tiny_bert_dir, "bert_model.ckpt"))


def head_runs(source, is_training, head, head_dropout):
    """Two session runs of the logits and of BERT's own outputs, in one graph."""
    with tf.Graph().as_default():
        f = features()
        captured = {}
        real_encoder = source.encoder

        def capturing_encoder(*args, **kwargs):
            encode = real_encoder(*args, **kwargs)

            def capturing(*inputs):
                captured.update(encode(*inputs))
                return captured

            return capturing

        source.encoder = capturing_encoder
        try:
            _, _, logits, _ = classifier.create_model(
                is_training, f["input_ids"], f["input_mask"], f["segment_ids"], f["label_ids"], 2,
                None, head=head, head_dropout=head_dropout, bert_source=source)
        finally:
            del source.encoder
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return [sess.run((logits, captured["sequence_output"])) for _ in range(2)]


@pytest.mark.parametrize("head", ["pooled", "mean", "frozen_mlp"])
def test_head_dropout_in_train_on_fixed_bert_outputs(tiny_bert_dir, head):
    """With BERT's outputs identical across runs, TRAIN logits still vary: the head drops out.
    Without head dropout (rate 0) they do not vary, so the variation is the head's alone; and
    outside TRAIN the head's dropout is off."""
    source = deterministic_bert_source(tiny_bert_dir)
    (logits_1, bert_1), (logits_2, bert_2) = head_runs(source, True, head, 0.5)
    np.testing.assert_array_equal(bert_1, bert_2)
    # Unseeded, but two independent rate-0.5 masks over 3 x 128 head inputs coincide with
    # probability ~2^-384: not a chance failure.
    assert not np.allclose(logits_1, logits_2)
    (logits_1, _), (logits_2, _) = head_runs(source, True, head, 0.0)
    np.testing.assert_array_equal(logits_1, logits_2)
    (logits_1, _), (logits_2, _) = head_runs(source, False, head, 0.5)
    np.testing.assert_array_equal(logits_1, logits_2)


def head_random_ops(tiny_hub_module, is_training, head):
    """Random ops built outside the hub module's scopes, i.e. by the head."""
    with tf.Graph().as_default() as graph:
        f = features()
        classifier.create_model(is_training, f["input_ids"], f["input_mask"], f["segment_ids"],
                                f["label_ids"], 2, tiny_hub_module, head=head, head_dropout=0.1)
        return [op.name for op in graph.get_operations()
                if op.type.startswith("Random") and not op.name.startswith("module")]


@pytest.mark.parametrize("head", ["pooled", "mean", "frozen_mlp"])
def test_hub_head_has_one_dropout_in_train_and_none_otherwise(tiny_hub_module, head):
    assert len(head_random_ops(tiny_hub_module, True, head)) == 1
    assert head_random_ops(tiny_hub_module, False, head) == []


def eval_losses(tiny_hub_module, is_real_example, label_ids, count=3):
    """(spec.loss, eval_loss metric) of model_fn in EVAL mode on the first `count` rows."""
    fn = model_fn.model_fn_builder(2, 1e-3, 10, 1, False, tiny_hub_module)
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(0)  # the same random head in every graph
        tf.compat.v1.train.get_or_create_global_step()
        f = features(count)
        f["is_real_example"] = tf.constant(is_real_example, tf.int32)
        f["label_ids"] = tf.constant(label_ids, tf.int32)
        spec = fn(f, None, tf.estimator.ModeKeys.EVAL, {})
        metric_fn, tensors = spec.eval_metrics
        eval_loss, update = metric_fn(*tensors)["eval_loss"]
        with tf.compat.v1.Session() as sess:
            sess.run([tf.compat.v1.global_variables_initializer(),
                      tf.compat.v1.local_variables_initializer()])
            sess.run(update)
            return sess.run([spec.loss, eval_loss])


def test_eval_loss_of_a_padded_batch_counts_only_real_examples(tiny_hub_module):
    real_only = eval_losses(tiny_hub_module, [1, 1], [1, 0], count=2)
    # The same two examples plus a padding row (is_real_example 0) with its own label.
    padded = eval_losses(tiny_hub_module, [1, 1, 0], [1, 0, 0])
    everything = eval_losses(tiny_hub_module, [1, 1, 1], [1, 0, 0])
    np.testing.assert_allclose(padded, real_only, rtol=1e-6)
    np.testing.assert_allclose(padded[0], padded[1], rtol=1e-6)  # loss == eval_loss per batch
    assert abs(everything[0] - padded[0]) > 1e-4
    assert eval_losses(tiny_hub_module, [0, 0, 0], [1, 0, 0])[0] == 0.0  # all padding


def test_real_example_mean_ignores_non_finite_padding_losses():
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        mean = model_fn.real_example_mean(tf.constant([1.0, 3.0, np.inf, np.nan]),
                                          tf.constant([1.0, 1.0, 0.0, 0.0]))
        assert sess.run(mean) == 2.0


def test_frozen_encoder_trains_only_the_head(tiny_hub_module):
    with tf.Graph().as_default():
        f = features()
        classifier.create_model(True, f["input_ids"], f["input_mask"], f["segment_ids"],
                                f["label_ids"], 2, tiny_hub_module, head="frozen_mlp")
        names = [v.op.name for v in tf.compat.v1.trainable_variables()]
    assert names and all(not n.startswith("module/") for n in names), names
    assert "head_hidden/kernel" in names


def test_unknown_head_is_a_clear_error(tiny_hub_module):
    with tf.Graph().as_default():
        f = features()
        with pytest.raises(BertTF1Error, match="head 'cls' is not one of pooled, mean"):
            classifier.create_model(False, f["input_ids"], f["input_mask"], f["segment_ids"],
                                    f["label_ids"], 2, tiny_hub_module, head="cls")


def test_predict_outputs_and_a_final_batch_of_one(tiny_hub_module, tmp_path):
    estimator = estimators.make_estimator(
        model_fn.model_fn_builder(2, 1e-3, 10, 1, False, tiny_hub_module),
        estimators.make_run_config(str(tmp_path)), use_tpu=False, train_batch_size=2,
        eval_batch_size=2, predict_batch_size=2)

    def input_fn(params):
        data = {"input_ids": IDS, "input_mask": MASK, "segment_ids": np.zeros_like(IDS),
                "label_ids": np.array([1, 0, 1], np.int32),
                "is_real_example": np.ones(3, np.int32)}
        # 3 examples in batches of 2: the last batch holds one example.
        return tf.data.Dataset.from_tensor_slices(data).batch(params["batch_size"])

    predictions = list(estimator.predict(input_fn))
    assert len(predictions) == 3
    for p in predictions:
        assert set(p) == {"probabilities", "log_probabilities", "labels", "is_real_example"}
        assert p["probabilities"].shape == (2,)
        np.testing.assert_allclose(np.exp(p["log_probabilities"]), p["probabilities"], atol=1e-6)
        assert p["labels"] == np.argmax(p["probabilities"])
