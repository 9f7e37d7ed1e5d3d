"""Classification/regression on top of BERT: create_model (BERT + a registered head + loss).

Names and return values follow google-research/bert's run_classifier_with_tfhub.py so notebook
code ports unchanged. What differs, on purpose (each pinned by a test):
  * the hub module is built with tags={"train"} only in TRAIN mode (BERT's own dropout on while
    fine-tuning, off for eval/predict); the IMDB notebook never passed tags;
  * head dropout applies only in TRAIN (the notebook applied it at predict time too);
  * predictions carry probabilities, log_probabilities and the predicted label id, plus
    is_real_example so writers can drop TPU padding rows;
  * BERT may also be built with bert.modeling.BertModel from a Google checkpoint (`bert_source`,
    see checkpoint_bert.BertSource): needed under tf.distribute, where hub.Module fails.
"""
import tensorflow as tf

from bert_tf1.classifier import length_split
from bert_tf1.modeling import checkpoint_bert, heads


def create_model(is_training, input_ids, input_mask, segment_ids, labels, num_labels,
                 bert_hub_module_handle, head="pooled", head_dropout=0.1, is_regression=False,
                 head_hidden_units=256, bert_source=None, length_splits=1):
    """Builds the classifier (or regressor) on BERT from a hub module or a checkpoint.

    Args:
      is_training: bool, True in TRAIN mode only.
      input_ids, input_mask, segment_ids: int32 Tensors of shape [batch_size, seq_length].
      labels: int32 Tensor [batch_size] (classification) or float32 [batch_size] (regression).
      num_labels: number of classes (ignored for regression).
      bert_hub_module_handle: TF1 Hub module handle, or None when `bert_source` is given.
      head: a registered head's name (bert_tf1.modeling.heads): "pooled" ([CLS] pooled output,
        BERT paper), "mean" (masked mean of the last layer), "frozen_mlp" (encoder frozen, masked
        mean, Dense(head_hidden_units, relu): the TL-for-NLP book's setup), or your own.
      head_dropout: dropout rate before the output layer, TRAIN only.
      is_regression: one linear output and squared-error loss (STS-B).
      head_hidden_units: width of the hidden layer of heads that have one (frozen_mlp).
      bert_source: where BERT comes from instead of `bert_hub_module_handle`: a
        checkpoint_bert.BertSource, a dict (BertSource.from_dict) or a hub handle. A checkpoint
        source builds bert.modeling.BertModel ("bert/..." variables) restored with
        init_from_checkpoint; its outputs equal the hub module's.
      length_splits: run BERT on this many length-sorted parts of the batch, each padded to
        its own longest example (classifier.length_split): same features and loss, fewer
        tokens. 1 runs it once on the whole batch.

    Returns:
      (loss, per_example_loss, logits, probabilities): scalar; float [batch_size];
      float [batch_size, num_labels] (regression: [batch_size]); float [batch_size, num_labels]
      (regression: the predictions, [batch_size]).
    """
    head_spec = heads.get_head(head)
    source = checkpoint_bert.resolve_bert_source(bert_hub_module_handle, bert_source)
    encode = source.encoder(is_training=is_training, trainable=head_spec.trains_encoder)
    features = length_split.length_split_features(encode, head_spec.features_fn, input_ids,
                                                  input_mask, segment_ids, length_splits)
    hidden_units = head_hidden_units if head_spec.hidden_layer else 0
    num_outputs = 1 if is_regression else num_labels
    logits = heads.output_layer(features, num_outputs, is_training, head_dropout, hidden_units)

    with tf.compat.v1.variable_scope("loss"):
        if is_regression:
            predictions = tf.squeeze(logits, axis=-1)
            per_example_loss = tf.square(predictions - tf.cast(labels, tf.float32))
            return tf.reduce_mean(per_example_loss), per_example_loss, predictions, predictions
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        probabilities = tf.nn.softmax(logits, axis=-1)
        one_hot_labels = tf.one_hot(labels, depth=num_labels, dtype=tf.float32)
        per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
        return tf.reduce_mean(per_example_loss), per_example_loss, logits, probabilities
