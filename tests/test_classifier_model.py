"""The model layer's promises: train tags and head dropout only in TRAIN; predict outputs."""
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from bert_tf1 import classifier, model_fn, runtime
from bert_tf1.errors import BertTF1Error

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
def test_dropout_only_when_training(tiny_hub_module, head):
    first, second = run_twice(tiny_hub_module, False, head)
    np.testing.assert_array_equal(first, second)
    first, second = run_twice(tiny_hub_module, True, head)
    assert not np.allclose(first, second)


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
    estimator = runtime.make_estimator(
        model_fn.model_fn_builder(2, 1e-3, 10, 1, False, tiny_hub_module),
        runtime.make_run_config(str(tmp_path)), use_tpu=False, train_batch_size=2,
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
