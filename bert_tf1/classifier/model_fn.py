"""model_fn_builder: the Estimator/TPUEstimator model function for classification and regression.

One model_fn serves TPUEstimator (TPU, or CPU/GPU with use_tpu=False, as google-research/bert
runs it) and plain tf.estimator.Estimator (needed for tf.distribute strategies): with
`for_tpu_estimator=False` the TPUEstimatorSpec is converted by its own as_estimator_spec().

Training uses bert_tf1.modeling.optimization.create_optimizer: Google's AdamW schedule and update,
as a standard tf.train.Optimizer, so the same model_fn also trains under
tf.distribute.MirroredStrategy (bert.optimization's optimizer fails there). Under a strategy BERT
must come from a checkpoint (`bert_source`, see checkpoint_bert.BertSource): hub.Module does not
work there.
"""
import tensorflow as tf

from bert_tf1.classifier import metrics
from bert_tf1.classifier import model as classifier
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import checkpoint_bert, heads, optimization
from bert_tf1.runtime.outputs import EXAMPLE_INDEX
from bert_tf1.runtime.progress import TRAIN_LOSS_COLLECTION


def model_fn_builder(num_labels, learning_rate, num_train_steps, num_warmup_steps, use_tpu,
                     bert_hub_module_handle, task_type="binary", label_names=None, head="pooled",
                     head_dropout=0.1, for_tpu_estimator=True, bert_source=None,
                     fine_tune_top_layers=None, init_checkpoint=None, train_length_splits=1):
    """Returns a `model_fn(features, labels, mode, params)` closure.

    Args:
      num_labels: number of classes (1 or anything for regression).
      learning_rate: peak learning rate of BERT's AdamW schedule (linear warm-up, linear decay).
      num_train_steps, num_warmup_steps: schedule length (int; 0 warm-up steps is allowed).
      use_tpu: build TPU-compatible training ops (CrossShardOptimizer); a checkpoint BERT source
        is then restored from the spec's scaffold_fn, as google-research/bert does on TPU.
      bert_hub_module_handle: TF1 Hub module handle, or None when `bert_source` is given.
      task_type: "binary", "multiclass", "mcc" or "regression" (selects head loss and metrics).
      label_names: list of label names for per-class metric names.
      head, head_dropout: see classifier.create_model.
      for_tpu_estimator: return TPUEstimatorSpec (True) or EstimatorSpec (False; needed by
        plain tf.estimator.Estimator, e.g. under tf.distribute strategies).
      bert_source: checkpoint_bert.BertSource (or dict / hub handle) instead of
        bert_hub_module_handle; a checkpoint source works under tf.distribute strategies.
      fine_tune_top_layers: None trains every trainable variable; N trains only the top N
        encoder layers, the pooler and the head (embeddings and lower layers stay as loaded).
      init_checkpoint: google-research/bert's --init_checkpoint: every trainable variable this
        checkpoint holds with the same name and shape starts from it (see
        checkpoint_bert.init_trainable_from_checkpoint), after the BERT source has loaded its
        own weights. With a fine-tuned classifier's model.ckpt-N that includes the head, so
        `--do_predict --init_checkpoint=<trained model> --output_dir=<new dir>` predicts with
        the trained model, with a hub module as with a checkpoint BERT. A checkpoint in the
        Estimator's model_dir still wins (resume).

    The returned model_fn carries `bert_source` (the resolved BertSource) and `for_tpu_estimator`
    attributes, which distribution.make_distributed_estimator checks.

    The features dict holds input_ids, input_mask, segment_ids (int32 [batch, seq]), label_ids
    (int32 or float32 [batch]) and optionally is_real_example ([batch], 0 for padding rows) and
    example_index (int32 [batch], the record's position in the file: predict mode passes it
    through to the predictions, so a length-sorted predict can be put back in file order).
    """
    source = checkpoint_bert.resolve_bert_source(bert_hub_module_handle, bert_source)
    if fine_tune_top_layers is not None:
        if isinstance(fine_tune_top_layers, bool) or not isinstance(fine_tune_top_layers, int) \
                or fine_tune_top_layers < 0:
            raise BertTF1Error("fine_tune_top_layers: expected None or an integer >= 0, found %r"
                               % (fine_tune_top_layers,))
        if not heads.get_head(head).trains_encoder:
            raise BertTF1Error("fine_tune_top_layers=%d contradicts head '%s' (its encoder is "
                               "frozen): use head 'pooled' or 'mean'"
                               % (fine_tune_top_layers, head))
    if isinstance(train_length_splits, bool) or not isinstance(train_length_splits, int) \
            or train_length_splits < 1:
        raise BertTF1Error("train_length_splits: expected an integer >= 1, found %r"
                           % (train_length_splits,))
    if train_length_splits > 1 and use_tpu:
        raise BertTF1Error("train_length_splits=%d needs batches of varying width; a TPU runs "
                           "static shapes: use 1 with use_tpu" % train_length_splits)
    # On a TPU the checkpoint is restored from scaffold_fn, outside the TPU computation (as
    # google-research/bert's run_classifier.py does); elsewhere while building the encoder.
    tpu_restore = use_tpu and not source.uses_hub_module and source.init_checkpoint is not None
    graph_source = source.without_init_checkpoint() if tpu_restore else source
    is_regression = task_type == "regression"
    metric_fn = (metrics.metric_fn_builder(task_type, 1) if is_regression
                 else metrics.metric_fn_builder(task_type, num_labels, label_names))

    def model_fn(features, labels, mode, params, config=None):  # pylint: disable=unused-argument
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
            is_training, input_ids, input_mask, segment_ids, label_ids, num_labels, None,
            head=head, head_dropout=head_dropout, is_regression=is_regression,
            bert_source=graph_source, length_splits=train_length_splits if is_training else 1)

        def restore():
            if tpu_restore:
                checkpoint_bert.init_bert_from_checkpoint(source.init_checkpoint)
            if init_checkpoint:
                variables = None
                if (not source.uses_hub_module and source.init_checkpoint
                        and checkpoint_bert.resolve_init_checkpoint(source.init_checkpoint)
                        == checkpoint_bert.resolve_init_checkpoint(init_checkpoint)):
                    # The BERT source restores its encoder from this very checkpoint: only
                    # the rest (the head) is left to restore.
                    variables = [v for v in tf.compat.v1.trainable_variables()
                                 if checkpoint_bert.BERT_SCOPE not in v.name.split("/")]
                _, not_found, _ = checkpoint_bert.init_trainable_from_checkpoint(
                    init_checkpoint, variables)
                missing_head = [name for name in not_found
                                if name.startswith(("output_", "head_hidden/"))]
                model_dir = getattr(config, "model_dir", None)
                resumes = model_dir and tf.train.latest_checkpoint(model_dir)
                if missing_head and mode != tf.estimator.ModeKeys.TRAIN and not resumes:
                    # Not a warning: predictions from a random head look like any others.
                    raise BertTF1Error(
                        "%s holds no %s and %s holds no checkpoint: %s would use a randomly "
                        "initialised classifier head" % (
                            init_checkpoint, " / ".join(missing_head),
                            model_dir or "the model_dir", mode))

        scaffold_fn = None
        if use_tpu and (tpu_restore or init_checkpoint):
            # On a TPU, initialisers are replaced outside the TPU computation (Google's recipe).
            def scaffold_fn():
                restore()
                return tf.compat.v1.train.Scaffold()
        else:
            restore()

        if mode == tf.estimator.ModeKeys.TRAIN:
            var_list = optimization.variables_to_fine_tune(fine_tune_top_layers)
            train_op = optimization.create_optimizer(total_loss, learning_rate, num_train_steps,
                                                     num_warmup_steps, use_tpu,
                                                     var_list=var_list)
            # runtime.progress.TrainingProgressHook finds the loss here (hooks run outside
            # model_fn).
            tf.compat.v1.add_to_collection(TRAIN_LOSS_COLLECTION, total_loss)
            spec = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
                mode=mode, loss=total_loss, train_op=train_op, scaffold_fn=scaffold_fn)
        elif mode == tf.estimator.ModeKeys.EVAL:
            eval_metrics = (metric_fn, [per_example_loss, label_ids, probabilities,
                                        is_real_example])
            # Estimator's `loss` key averages this per-batch value over batches; without the
            # weighting, the PaddingInputExample rows of a TPU-style last batch would count.
            spec = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
                mode=mode, loss=real_example_mean(per_example_loss, is_real_example),
                eval_metrics=eval_metrics, scaffold_fn=scaffold_fn)
        else:
            spec = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
                mode=mode, predictions=prediction_tensors(
                    logits, probabilities, is_real_example, is_regression,
                    example_index=features.get(EXAMPLE_INDEX)),
                scaffold_fn=scaffold_fn)
        return spec if for_tpu_estimator else spec.as_estimator_spec()

    model_fn.bert_source = source
    model_fn.for_tpu_estimator = for_tpu_estimator
    return model_fn


def real_example_mean(per_example_loss, is_real_example):
    """The batch's mean loss over its real examples: sum(w * loss) / max(sum(w), 1).

    Args:
      per_example_loss: float32 Tensor of shape [batch_size].
      is_real_example: float32 Tensor of shape [batch_size]; 1.0 for a real example, 0.0 for a
        PaddingInputExample row (TPU-style full batches).

    Returns:
      float32 scalar Tensor; 0 for a batch of padding only. A padding row never counts, even
      when its loss is not finite (tf.where, not a product: 0 * inf is NaN).

    This is EVAL mode's `loss`, which Estimator averages over batches (a mean of batch means).
    The exact per-example mean over the whole evaluation is the `eval_loss` metric.
    """
    weights = tf.cast(is_real_example, tf.float32)
    real = weights > 0
    weighted = tf.where(real, weights * per_example_loss, tf.zeros_like(per_example_loss))
    total_weight = tf.reduce_sum(tf.where(real, weights, tf.zeros_like(weights)))
    return tf.reduce_sum(weighted) / tf.maximum(total_weight, 1.0)


def prediction_tensors(logits, probabilities, is_real_example, is_regression,
                       example_index=None):
    """The predict-mode outputs, every one with a leading batch dimension (TPU requirement).

    Args:
      logits: float32 Tensor of shape [batch_size, num_labels] (regression: [batch_size]).
      probabilities: float32 Tensor of shape [batch_size, num_labels] (regression: the
        prediction, [batch_size]).
      is_real_example: float32 Tensor of shape [batch_size].
      is_regression: bool.
      example_index: None, or int32 Tensor of shape [batch_size] (each example's position in
        the predict file), passed through as EXAMPLE_INDEX; None adds no key, so a TPU's or an
        export's outputs are as before.

    Returns:
      dict of Tensors, each [batch_size, ...]. argmax over axis -1 (not tf.squeeze of it, as
      the IMDB notebook did) keeps a batch of one example a batch.
    """
    if is_regression:
        predictions = {"predictions": probabilities, "is_real_example": is_real_example}
    else:
        predictions = {
            "probabilities": probabilities,
            "log_probabilities": tf.nn.log_softmax(logits, axis=-1),
            "labels": tf.argmax(logits, axis=-1, output_type=tf.int32),
            "is_real_example": is_real_example,
        }
    if example_index is not None:
        predictions[EXAMPLE_INDEX] = example_index
    return predictions
