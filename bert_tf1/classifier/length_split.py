"""BERT over a training batch in length-sorted parts: the same examples, fewer padded tokens.

Dynamic padding pads a batch to its longest example, and the longest of 32 random sentences
sits near the 97th percentile of the lengths: rotten_tomatoes batches are 57.6 tokens wide
for a mean length of 27. Sorting the batch by length and running BERT on each of N parts,
padded to that part's own longest example (rounded up to a multiple of 8), computes fewer
tokens while the step still trains on the same examples with the same loss: BERT's attention
masks padding, so an example's outputs do not depend on what it is padded with or to (equal to
float rounding, as with dynamic padding itself), and the head and loss see the features in
the batch's own order.

Unlike --length_buckets or --train_length_sort this changes no batch, so the pipeline does it
by default when training with dynamic padding (--train_length_splits, docs/speed.md).
"""
import tensorflow as tf

from bert_tf1.classifier import inputs


def length_split_features(encode, features_fn, input_ids, input_mask, segment_ids, num_parts,
                          multiple=inputs.PAD_MULTIPLE):
    """A head's features for a batch, BERT run on `num_parts` length-sorted parts of it.

    Args:
      encode: (input_ids, input_mask, segment_ids) -> BERT outputs dict; called once per part,
        every call on the same weights (checkpoint_bert.BertSource.encoder).
      features_fn: (bert outputs, input_mask) -> float Tensor [n, width], per example (a
        head's features_fn, modeling.heads).
      input_ids, input_mask, segment_ids: int32 Tensors of shape [batch_size, seq_length].
      num_parts: int >= 1; 1 runs BERT once on the whole batch. A batch of known size smaller
        than num_parts is split into one part per example.
      multiple: each part's width is its longest example rounded up to this (at most
        seq_length).

    Returns:
      float Tensor [batch_size, width]: row i is example i's features, as one call on the whole
      batch gives them (to float rounding).
    """
    num_parts = int(num_parts)
    if num_parts < 1:
        raise ValueError("num_parts must be >= 1, got %d" % num_parts)
    known_size = tf.compat.dimension_value(input_ids.shape[0])
    if known_size is not None:
        num_parts = max(1, min(num_parts, known_size))
    if num_parts == 1:
        return features_fn(encode(input_ids, input_mask, segment_ids), input_mask)
    # Stable, so equal lengths keep the batch order and a run is reproducible.
    order = tf.argsort(inputs.sequence_lengths(input_mask), stable=True)
    size = tf.shape(order)[0]
    width = tf.shape(input_ids)[1]
    batch = {"input_ids": input_ids, "input_mask": input_mask, "segment_ids": segment_ids}
    rows_of_parts, parts = [], []
    for index in range(num_parts):
        rows = order[index * size // num_parts:(index + 1) * size // num_parts]
        part = inputs.trim_batch({key: tf.gather(value, rows) for key, value in batch.items()},
                                 width, multiple)
        rows_of_parts.append(rows)
        parts.append(features_fn(encode(part["input_ids"], part["input_mask"],
                                        part["segment_ids"]), part["input_mask"]))
    # Each part's rows back at their examples' places (dense gradients, unlike a gather).
    features = tf.dynamic_stitch(rows_of_parts, parts)
    features.set_shape(input_ids.shape[:1].concatenate(parts[0].shape[1:]))
    return features
