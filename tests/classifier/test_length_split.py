"""classifier.length_split: BERT on length-sorted parts of a batch gives the whole batch's
features, loss and gradients (to float rounding), on one set of weights."""
import numpy as np
import pytest
import tensorflow as tf

from bert_tf1.classifier import length_split, model_fn, pipeline
from bert_tf1.classifier import model as classifier
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import checkpoint_bert, heads, hub_bert

# Lengths 9, 3, 17, 5, 12, 24 in a batch padded to 32.
LENGTHS = [9, 3, 17, 5, 12, 24]
WIDTH = 32
# No dropout anywhere, so two graphs of the same weights compute the same function.
CONFIG = dict(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=32, hidden_act="gelu", hidden_dropout_prob=0.0,
              attention_probs_dropout_prob=0.0, max_position_embeddings=WIDTH,
              type_vocab_size=2, initializer_range=0.5)


def batch(lengths=LENGTHS, vocab=60, seed=0):
    rng = np.random.RandomState(seed)
    ids = np.zeros([len(lengths), WIDTH], np.int32)
    segments = np.zeros_like(ids)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.randint(1, vocab, size=length)
        segments[row, length // 2:length] = 1
    return ids, (ids > 0).astype(np.int32), segments


def placeholders():
    return [tf.compat.v1.placeholder(tf.int32, [None, None]) for _ in range(3)]


def feed(tensors, arrays):
    return dict(zip(tensors, arrays))


@pytest.mark.parametrize("head", ["pooled", "mean"])
def test_parts_give_the_whole_batch_features_loss_and_gradients(head):
    features_fn = heads.get_head(head).features_fn
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(1)
        inputs = placeholders()
        encode = checkpoint_bert.checkpoint_encoder(CONFIG, None, is_training=True)
        by_parts = {n: length_split.length_split_features(encode, features_fn, *inputs,
                                                          num_parts=n) for n in (1, 3)}
        # Only the first call made variables: every part ran on the same weights.
        names = [v.name for v in tf.compat.v1.global_variables()]
        assert len(names) == len(set(names)) and all(n.startswith("bert/") for n in names)
        weights = tf.constant(np.random.RandomState(2).randn(1, 16), tf.float32)
        losses = {n: tf.reduce_mean(tf.reduce_sum(f * weights, axis=1))
                  for n, f in by_parts.items()}
        variables = tf.compat.v1.trainable_variables()
        # (The mean head leaves the pooler without a gradient.)
        gradients = {n: [tf.convert_to_tensor(g) if g is not None else tf.zeros([])
                         for g in tf.gradients(loss, variables)] for n, loss in losses.items()}
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            values = session.run((by_parts, losses, gradients), feed(inputs, batch()))
    features, loss, grads = values
    whole = features[1]
    assert whole.shape == (len(LENGTHS), 16)
    assert np.abs(whole).max() > 0.1  # not a degenerate encoder
    for n in (3,):
        np.testing.assert_allclose(features[n], whole, rtol=0, atol=2e-6)
        np.testing.assert_allclose(loss[n], loss[1], rtol=0, atol=2e-6)
        for got, want in zip(grads[n], grads[1]):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=2e-6)


def test_parts_are_padded_to_their_own_longest_example():
    seen = []

    def encode(input_ids, input_mask, segment_ids):
        seen.append((input_ids, input_mask))
        return {"pooled_output": tf.cast(tf.reduce_sum(input_mask, axis=1, keepdims=True),
                                         tf.float32)}

    with tf.Graph().as_default():
        inputs = placeholders()
        out = length_split.length_split_features(encode, heads.pooled_features, *inputs,
                                                 num_parts=2)
        with tf.compat.v1.Session() as session:
            got, parts = session.run((out, seen), feed(inputs, batch()))
    # Sorted lengths 3 5 9 | 12 17 24: widths 16 (9 rounded up to 8s) and 24.
    assert [ids.shape for ids, _ in parts] == [(3, 16), (3, 24)]
    assert [list(mask.sum(axis=1)) for _, mask in parts] == [[3, 5, 9], [12, 17, 24]]
    assert list(got[:, 0]) == LENGTHS  # back in the batch's order


def test_a_batch_smaller_than_the_parts_still_gives_every_example():
    features_fn = heads.pooled_features
    with tf.Graph().as_default():
        inputs = placeholders()
        encode = checkpoint_bert.checkpoint_encoder(CONFIG, None, is_training=False)
        whole = length_split.length_split_features(encode, features_fn, *inputs, num_parts=1)
        split = length_split.length_split_features(encode, features_fn, *inputs, num_parts=3)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            # One example, three parts: two of them are empty.
            got = session.run((whole, split), feed(inputs, batch(LENGTHS[:1])))
    assert got[1].shape == (1, 16)
    np.testing.assert_allclose(got[1], got[0], rtol=0, atol=2e-6)


def test_hub_module_parts_share_one_module(tiny_hub_module):
    with tf.Graph().as_default():
        inputs = placeholders()
        encode = hub_bert.bert_encoder(tiny_hub_module, is_training=False)
        whole = length_split.length_split_features(encode, heads.pooled_features, *inputs,
                                                   num_parts=1)
        count = len(tf.compat.v1.global_variables())
        split = length_split.length_split_features(encode, heads.pooled_features, *inputs,
                                                   num_parts=2)
        assert len(tf.compat.v1.global_variables()) == count  # no second copy of BERT
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            got = session.run((whole, split), feed(inputs, batch(vocab=400)))
    np.testing.assert_allclose(got[1], got[0], rtol=0, atol=2e-6)


def test_bad_number_of_parts_is_refused():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="num_parts must be >= 1"):
            length_split.length_split_features(None, None, *placeholders(), num_parts=0)


@pytest.mark.parametrize("splits, use_tpu, message", [
    (0, False, "expected an integer >= 1"), (True, False, "expected an integer >= 1"),
    (2, True, "a TPU runs static shapes")])
def test_model_fn_builder_refuses_splits_it_cannot_run(tiny_hub_module, splits, use_tpu,
                                                        message):
    with pytest.raises(BertTF1Error, match=message):
        model_fn.model_fn_builder(2, 1e-3, 10, 1, use_tpu, tiny_hub_module,
                                  train_length_splits=splits)


@pytest.mark.parametrize("mode, parts", [(tf.estimator.ModeKeys.TRAIN, 2),
                                         (tf.estimator.ModeKeys.EVAL, 1),
                                         (tf.estimator.ModeKeys.PREDICT, 1)])
def test_model_fn_splits_training_batches_only(tiny_hub_module, monkeypatch, mode, parts):
    calls = []
    real = length_split.length_split_features

    def recording(*args, **kwargs):
        calls.append(kwargs["num_parts"] if "num_parts" in kwargs else args[5])
        return real(*args, **kwargs)

    monkeypatch.setattr(classifier.length_split, "length_split_features", recording)
    fn = model_fn.model_fn_builder(2, 1e-3, 10, 1, False, tiny_hub_module,
                                   train_length_splits=2)
    ids, mask, segments = batch(vocab=400)
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        fn({"input_ids": tf.constant(ids), "input_mask": tf.constant(mask),
            "segment_ids": tf.constant(segments), "label_ids": tf.zeros([6], tf.int32)},
           None, mode, {})
    assert calls == [parts]


@pytest.mark.parametrize("overrides, steps, expected", [
    ({}, 200, 2), ({}, 199, 1),                      # only runs long enough to repay start-up
    (dict(train_length_splits=3), 10, 3),            # an explicit value wins
    (dict(train_length_splits=1), 5000, 1),
    (dict(length_buckets="24,32"), 5000, 1),         # batches already of similar length
    (dict(train_length_sort=True), 5000, 1),
    (dict(dynamic_padding=False), 5000, 1), (dict(use_tpu=True), 5000, 1)])
def test_pipeline_chooses_the_parts(overrides, steps, expected):
    s = pipeline.ClassifierRunSettings(**overrides)
    assert pipeline.train_length_splits(s, steps) == expected


@pytest.mark.parametrize("overrides, message", [
    (dict(train_length_splits=-1), "must be 0 \\(automatic\\) or a positive number"),
    (dict(train_length_splits=2, dynamic_padding=False), "needs dynamic padding"),
    (dict(train_length_splits=2, use_tpu=True, tpu_name="t"), "needs dynamic padding")])
def test_settings_refuse_parts_that_cannot_run(overrides, message):
    s = pipeline.ClassifierRunSettings(task_name="cola", data_dir="d", output_dir="o",
                                       bert_hub_module_handle="m", do_train=True, **overrides)
    with pytest.raises(BertTF1Error, match="--train_length_splits.*" + message):
        pipeline.validate_settings(s)
