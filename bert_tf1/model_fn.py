"""model_fn_builder: the Estimator/TPUEstimator model function for classification and regression.

One model_fn serves TPUEstimator (TPU, or CPU/GPU with use_tpu=False, as google-research/bert
runs it) and plain tf.estimator.Estimator (needed for tf.distribute strategies): with
`for_tpu_estimator=False` the TPUEstimatorSpec is converted by its own as_estimator_spec().
"""
import tensorflow as tf
from bert import optimization

from bert_tf1 import classifier, metrics

TRAIN_LOSS_COLLECTION = "bert_tf1_train_loss"


def model_fn_builder(num_labels, learning_rate, num_train_steps, num_warmup_steps, use_tpu,
                     bert_hub_module_handle, task_type="binary", label_names=None, head="pooled",
                     head_dropout=0.1, for_tpu_estimator=True):
    """Returns a `model_fn(features, labels, mode, params)` closure.

    Args:
      num_labels: number of classes (1 or anything for regression).
      learning_rate: peak learning rate of BERT's AdamW schedule (linear warm-up, linear decay).
      num_train_steps, num_warmup_steps: schedule length (int; 0 warm-up steps is allowed).
      use_tpu: build TPU-compatible training ops (CrossShardOptimizer).
      bert_hub_module_handle: TF1 Hub module handle.
      task_type: "binary", "multiclass", "mcc" or "regression" (selects head loss and metrics).
      label_names: list of label names for per-class metric names.
      head, head_dropout: see classifier.create_model.
      for_tpu_estimator: return TPUEstimatorSpec (True) or EstimatorSpec (False).

    The features dict holds input_ids, input_mask, segment_ids (int32 [batch, seq]), label_ids
    (int32 or float32 [batch]) and optionally is_real_example ([batch], 0 for padding rows).
    """
    is_regression = task_type == "regression"
    metric_fn = (metrics.metric_fn_builder(task_type, 1) if is_regression
                 else metrics.metric_fn_builder(task_type, num_labels, label_names))

    def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
        input_ids = features["input_ids"]
        input_mask = features["input_mask"]
        segment_ids = features["segment_ids"]
        label_ids = features["label_ids"]
        if "is_real_example" in features:
            is_real_example = tf.cast(features["is_real_example"], tf.float32)
        else:
            is_real_example = tf.ones(tf.shape(label_ids)[:1], dtype=tf.float32)
        is_training = mode == tf.estimator.ModeKeys.TRAIN

        total_loss, per_example_loss, logits, probabilities = classifier.create_model(
            is_training, input_ids, input_mask, segment_ids, label_ids, num_labels,
            bert_hub_module_handle, head=head, head_dropout=head_dropout,
            is_regression=is_regression)

        if mode == tf.estimator.ModeKeys.TRAIN:
            train_op = optimization.create_optimizer(total_loss, learning_rate, num_train_steps,
                                                     num_warmup_steps, use_tpu)
            # runtime.TrainingProgressHook finds the loss here (hooks run outside model_fn).
            tf.compat.v1.add_to_collection(TRAIN_LOSS_COLLECTION, total_loss)
            spec = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(mode=mode, loss=total_loss,
                                                               train_op=train_op)
        elif mode == tf.estimator.ModeKeys.EVAL:
            eval_metrics = (metric_fn, [per_example_loss, label_ids, probabilities,
                                        is_real_example])
            spec = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(mode=mode, loss=total_loss,
                                                               eval_metrics=eval_metrics)
        else:
            spec = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
                mode=mode, predictions=prediction_tensors(logits, probabilities,
                                                          is_real_example, is_regression))
        return spec if for_tpu_estimator else spec.as_estimator_spec()

    return model_fn


def prediction_tensors(logits, probabilities, is_real_example, is_regression):
    """The predict-mode outputs, every one with a leading batch dimension (TPU requirement).

    argmax over axis -1 (not tf.squeeze of it, as the IMDB notebook did) keeps a batch of one
    example a batch.
    """
    if is_regression:
        return {"predictions": probabilities, "is_real_example": is_real_example}
    return {
        "probabilities": probabilities,
        "log_probabilities": tf.nn.log_softmax(logits, axis=-1),
        "labels": tf.argmax(logits, axis=-1, output_type=tf.int32),
        "is_real_example": is_real_example,
    }
