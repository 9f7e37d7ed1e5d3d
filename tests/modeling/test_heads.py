"""modeling.heads: the head registry, the built-in heads' features, and a user's own head."""
import numpy as np
import pytest
import tensorflow as tf

from bert_tf1.classifier import model as classifier
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import heads
from bert_tf1.modeling.checkpoint_bert import BertSource


def test_builtin_heads_in_order_with_their_properties():
    assert heads.head_names()[:3] == ["pooled", "mean", "frozen_mlp"]
    assert heads.get_head("pooled").trains_encoder and not heads.get_head("pooled").hidden_layer
    frozen = heads.get_head("frozen_mlp")
    assert not frozen.trains_encoder and frozen.hidden_layer


def test_unknown_and_duplicate_heads_are_clear_errors():
    with pytest.raises(BertTF1Error, match="head 'cls' is not one of pooled, mean, frozen_mlp"):
        heads.get_head("cls")
    with pytest.raises(BertTF1Error, match="already registered"):
        heads.register_head(heads.Head("mean", "again", heads.mean_features))
    with pytest.raises(BertTF1Error, match="expected a Head"):
        heads.register_head("mean")


def test_masked_mean_ignores_padding():
    sequence = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=np.int32)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        got = sess.run(heads.masked_mean(tf.constant(sequence), tf.constant(mask)))
    np.testing.assert_allclose(got, [sequence[0, :2].mean(0), sequence[1, 0]])


@pytest.fixture
def first_token_head():
    head = heads.Head("first_token", "the last layer's [CLS] vector, no pooler",
                      lambda outputs, input_mask: outputs["sequence_output"][:, 0])
    heads.register_head(head)
    yield head
    del heads._HEADS["first_token"]  # pylint: disable=protected-access


def test_a_registered_head_builds_a_classifier(tiny_bert_dir, first_token_head):
    ids = np.array([[2, 10, 11, 3], [2, 12, 3, 0]], dtype=np.int32)
    mask = (ids > 0).astype(np.int32)
    with tf.Graph().as_default():
        _, _, logits, probabilities = classifier.create_model(
            False, tf.constant(ids), tf.constant(mask), tf.zeros_like(ids),
            tf.constant([0, 1]), 3, None, head=first_token_head.name,
            bert_source=BertSource.from_bert_dir(tiny_bert_dir))
        names = [v.op.name for v in tf.compat.v1.trainable_variables()]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            values = sess.run(probabilities)
    assert logits.shape.as_list() == [2, 3]
    np.testing.assert_allclose(values.sum(axis=1), 1.0, atol=1e-6)
    assert "output_weights" in names and not any(n.startswith("head_hidden") for n in names)
