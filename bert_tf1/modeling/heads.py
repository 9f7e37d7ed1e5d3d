"""Classifier heads: how BERT's outputs become the features under the output layer.

A head is registered by name; run_classifier_hub.py's --head choices and help come from this
registry, so a new head is one `register_head` call:

    >>> register_head(Head("first_token", "the last layer's [CLS] vector, no pooler",
    ...                    lambda outputs, input_mask: outputs["sequence_output"][:, 0]))
    ... # doctest: +SKIP

Built-in heads: pooled ([CLS] pooled output, the BERT paper's), mean (masked mean of the last
layer) and frozen_mlp (encoder frozen, masked mean, Dense(256, relu): the TL-for-NLP book's).
"""
import collections

import tensorflow as tf

from bert_tf1.errors import BertTF1Error


class Head(object):
    """A classifier head.

    Args:
      name: the --head value.
      description: one line for --help.
      features_fn: (bert_outputs, input_mask) -> float Tensor [batch_size, width]; bert_outputs
        is the dict BertSource.bert_outputs returns (pooled_output [batch_size, hidden_size],
        sequence_output [batch_size, seq_length, hidden_size]); input_mask is int32
        [batch_size, seq_length].
      trains_encoder: False freezes BERT (its variables are built non-trainable).
      hidden_layer: True adds Dense(head_hidden_units, relu) before the output layer.
    """

    def __init__(self, name, description, features_fn, trains_encoder=True, hidden_layer=False):
        self.name = name
        self.description = description
        self.features_fn = features_fn
        self.trains_encoder = trains_encoder
        self.hidden_layer = hidden_layer

    def __repr__(self):
        return "Head(%r)" % self.name


_HEADS = collections.OrderedDict()


def register_head(head, overwrite=False):
    """Adds `head` (a Head) to the registry under head.name."""
    if not isinstance(head, Head):
        raise BertTF1Error("register_head: expected a Head, found %r" % (head,))
    if head.name in _HEADS and not overwrite:
        raise BertTF1Error("head '%s' is already registered (pass overwrite=True to replace it)"
                           % head.name)
    _HEADS[head.name] = head


def get_head(name):
    """The registered Head called `name`; an unknown name raises BertTF1Error listing them."""
    if name not in _HEADS:
        raise BertTF1Error("head '%s' is not one of %s" % (name, ", ".join(_HEADS)))
    return _HEADS[name]


def head_names():
    """Registered head names, in registration order (built-ins first)."""
    return list(_HEADS)


def describe_head(name):
    return get_head(name).description


def masked_mean(sequence_output, input_mask):
    """Mean of the token vectors where input_mask is 1.

    Args:
      sequence_output: float Tensor of shape [batch_size, seq_length, hidden_size].
      input_mask: int32 Tensor of shape [batch_size, seq_length].

    Returns:
      float Tensor of shape [batch_size, hidden_size].
    """
    mask = tf.cast(tf.expand_dims(input_mask, -1), sequence_output.dtype)
    total = tf.reduce_sum(sequence_output * mask, axis=1)
    count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
    return total / count


def output_layer(features, num_outputs, is_training, dropout_prob=0.1, hidden_units=0):
    """Dropout (TRAIN only) -> optional Dense(hidden_units, relu) -> linear layer.

    Variable names output_weights / output_bias match Google's classifier, so checkpoints of
    Google-style fine-tuning runs restore into this head.

    Args:
      features: float Tensor of shape [batch_size, width].
      num_outputs: number of classes (or 1 for regression).
      is_training: apply dropout only when True.
      dropout_prob: dropout rate in TRAIN.
      hidden_units: width of an extra ReLU layer (0 for none; the TL-for-NLP book used 256).

    Returns:
      float Tensor of shape [batch_size, num_outputs] (logits).
    """
    if hidden_units:
        features = tf.compat.v1.layers.dense(
            features, hidden_units, activation=tf.nn.relu, name="head_hidden",
            kernel_initializer=tf.compat.v1.truncated_normal_initializer(stddev=0.02))
    if is_training and dropout_prob > 0:
        features = tf.nn.dropout(features, rate=dropout_prob)
    width = features.shape[-1].value
    output_weights = tf.compat.v1.get_variable(
        "output_weights", [num_outputs, width],
        initializer=tf.compat.v1.truncated_normal_initializer(stddev=0.02))
    output_bias = tf.compat.v1.get_variable(
        "output_bias", [num_outputs], initializer=tf.zeros_initializer())
    return tf.nn.bias_add(tf.matmul(features, output_weights, transpose_b=True), output_bias)


def pooled_features(bert_outputs, input_mask):  # pylint: disable=unused-argument
    """The [CLS] pooled output: float Tensor [batch_size, hidden_size]."""
    return bert_outputs["pooled_output"]


def mean_features(bert_outputs, input_mask):
    """Masked mean of the last layer: float Tensor [batch_size, hidden_size]."""
    return masked_mean(bert_outputs["sequence_output"], input_mask)


register_head(Head("pooled", "the [CLS] pooled output (BERT paper)", pooled_features))
register_head(Head("mean", "masked mean of the last layer", mean_features))
register_head(Head("frozen_mlp", "frozen encoder + masked mean + Dense(256, relu)",
                   mean_features, trains_encoder=False, hidden_layer=True))
