"""classifier.model_fn: the EVAL loss over real examples, predict outputs, argument checks."""
import numpy as np
import pytest
import tensorflow as tf

from bert_tf1.classifier import model_fn
from bert_tf1.errors import BertTF1Error


def run(tensors):
    with tf.compat.v1.Session() as sess:
        return sess.run(tensors)


def test_real_example_mean_skips_padding_rows_even_non_finite_ones():
    with tf.Graph().as_default():
        loss = model_fn.real_example_mean(tf.constant([1.0, 3.0, np.inf, np.nan]),
                                          tf.constant([1.0, 1.0, 0.0, 0.0]))
        only_padding = model_fn.real_example_mean(tf.constant([5.0]), tf.constant([0.0]))
        assert run(loss) == pytest.approx(2.0)
        assert run(only_padding) == 0.0


def test_prediction_tensors_keep_a_batch_of_one_a_batch():
    with tf.Graph().as_default():
        logits = tf.constant([[0.1, 2.0, -1.0]])
        outputs = model_fn.prediction_tensors(logits, tf.nn.softmax(logits), tf.constant([1.0]),
                                              is_regression=False)
        values = run(outputs)
    assert set(values) == {"probabilities", "log_probabilities", "labels", "is_real_example"}
    assert values["labels"].tolist() == [1]
    np.testing.assert_allclose(np.exp(values["log_probabilities"]), values["probabilities"],
                               atol=1e-6)
    with tf.Graph().as_default():
        regression = model_fn.prediction_tensors(None, tf.constant([0.5]), tf.constant([1.0]),
                                                 is_regression=True)
    assert set(regression) == {"predictions", "is_real_example"}


@pytest.mark.parametrize("is_regression", [False, True])
def test_prediction_tensors_pass_the_example_index_through_only_when_given(is_regression):
    with tf.Graph().as_default():
        logits = tf.constant([[0.1, 2.0], [1.0, -1.0]])
        plain = model_fn.prediction_tensors(logits, tf.nn.softmax(logits),
                                            tf.constant([1.0, 1.0]), is_regression)
        indexed = model_fn.prediction_tensors(logits, tf.nn.softmax(logits),
                                              tf.constant([1.0, 1.0]), is_regression,
                                              example_index=tf.constant([7, 3]))
        values = run(indexed)
    assert set(indexed) == set(plain) | {"example_index"} and "example_index" not in plain
    assert values["example_index"].tolist() == [7, 3]


@pytest.mark.parametrize("value", [True, -1, 1.5, "2"])
def test_fine_tune_top_layers_must_be_a_non_negative_integer(tiny_hub_module, value):
    with pytest.raises(BertTF1Error, match="fine_tune_top_layers: expected None or an integer"):
        model_fn.model_fn_builder(2, 1e-4, 10, 1, False, tiny_hub_module,
                                  fine_tune_top_layers=value)


def test_fine_tune_top_layers_contradicts_a_frozen_head(tiny_hub_module):
    with pytest.raises(BertTF1Error, match="contradicts head 'frozen_mlp'"):
        model_fn.model_fn_builder(2, 1e-4, 10, 1, False, tiny_hub_module, head="frozen_mlp",
                                  fine_tune_top_layers=1)


def test_builder_exposes_its_bert_source_and_spec_kind(tiny_hub_module):
    built = model_fn.model_fn_builder(2, 1e-4, 10, 1, False, tiny_hub_module,
                                      for_tpu_estimator=False)
    assert built.bert_source.uses_hub_module and built.for_tpu_estimator is False
