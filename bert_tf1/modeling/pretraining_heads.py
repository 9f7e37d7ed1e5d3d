"""BERT's pre-training heads (masked LM and next sentence), with Google's variable names.

The names (cls/predictions/transform/dense, cls/predictions/transform/LayerNorm,
cls/predictions/output_bias, cls/seq_relationship/output_weights|output_bias) are the contract that
lets Google's released checkpoints, our tiny BERT and the hub module's `mlm` signature share
weights; tests/test_hub_export.py pins them. Written here rather than imported from
bert.run_pretraining because importing that module defines absl flags that clash with our CLIs.
"""
import tensorflow as tf
from bert import modeling


def gather_positions(sequence_tensor, positions):
    """Gathers the vectors at `positions` of each sequence.

    Args:
      sequence_tensor: float Tensor of shape [batch_size, seq_length, width].
      positions: int32 Tensor of shape [batch_size, num_positions].

    Returns:
      float Tensor of shape [batch_size * num_positions, width].
    """
    shape = modeling.get_shape_list(sequence_tensor, expected_rank=3)
    batch_size, seq_length, width = shape
    flat_offsets = tf.reshape(tf.range(0, batch_size, dtype=tf.int32) * seq_length, [-1, 1])
    flat_positions = tf.reshape(positions + flat_offsets, [-1])
    flat_sequence = tf.reshape(sequence_tensor, [batch_size * seq_length, width])
    return tf.gather(flat_sequence, flat_positions)


def masked_lm_logits(bert_config, sequence_output, embedding_table, positions):
    """Logits of the masked-LM head at `positions`.

    Args:
      bert_config: modeling.BertConfig.
      sequence_output: float Tensor of shape [batch_size, seq_length, hidden_size].
      embedding_table: float Tensor of shape [vocab_size, hidden_size] (output weights are tied
        to the input embeddings, as in BERT).
      positions: int32 Tensor of shape [batch_size, num_positions].

    Returns:
      float Tensor of shape [batch_size, num_positions, vocab_size].
    """
    batch_size = modeling.get_shape_list(positions, expected_rank=2)[0]
    num_positions = modeling.get_shape_list(positions, expected_rank=2)[1]
    hidden = gather_positions(sequence_output, positions)
    with tf.compat.v1.variable_scope("cls/predictions"):
        with tf.compat.v1.variable_scope("transform"):
            hidden = tf.compat.v1.layers.dense(
                hidden, units=bert_config.hidden_size,
                activation=modeling.get_activation(bert_config.hidden_act),
                kernel_initializer=modeling.create_initializer(bert_config.initializer_range))
            hidden = modeling.layer_norm(hidden)
        output_bias = tf.compat.v1.get_variable(
            "output_bias", shape=[bert_config.vocab_size], initializer=tf.zeros_initializer())
        logits = tf.matmul(hidden, embedding_table, transpose_b=True)
        logits = tf.nn.bias_add(logits, output_bias)
    return tf.reshape(logits, [batch_size, num_positions, bert_config.vocab_size])


def next_sentence_logits(bert_config, pooled_output):
    """Logits of the next-sentence head (index 0 = "is next", 1 = "random", as Google's).

    Args:
      bert_config: modeling.BertConfig.
      pooled_output: float Tensor of shape [batch_size, hidden_size].

    Returns:
      float Tensor of shape [batch_size, 2].
    """
    with tf.compat.v1.variable_scope("cls/seq_relationship"):
        output_weights = tf.compat.v1.get_variable(
            "output_weights", shape=[2, bert_config.hidden_size],
            initializer=modeling.create_initializer(bert_config.initializer_range))
        output_bias = tf.compat.v1.get_variable(
            "output_bias", shape=[2], initializer=tf.zeros_initializer())
        logits = tf.matmul(pooled_output, output_weights, transpose_b=True)
        return tf.nn.bias_add(logits, output_bias)


MASKED_LM_VARIABLES = (
    "cls/predictions/transform/dense/kernel",
    "cls/predictions/transform/dense/bias",
    "cls/predictions/transform/LayerNorm/beta",
    "cls/predictions/transform/LayerNorm/gamma",
    "cls/predictions/output_bias",
)
NEXT_SENTENCE_VARIABLES = (
    "cls/seq_relationship/output_weights",
    "cls/seq_relationship/output_bias",
)
