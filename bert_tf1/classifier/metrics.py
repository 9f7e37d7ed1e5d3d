"""Evaluation metrics for classification and regression under tf.estimator / TPUEstimator (TF 1.15).

Every public function builds streaming metric ops in the current graph and returns a dict
`name -> (value_tensor, update_op)`, the form `EstimatorSpec(eval_metric_ops=...)` and the metric_fn
of `TPUEstimatorSpec(eval_metrics=(metric_fn, tensors))` both expect. On a TPU, metric_fn runs on
the CPU host with the tensors of all cores concatenated, so nothing here needs to be TPU-compatible.

Contract shared by every function:
  * Every value is a float32 scalar: Estimator only writes scalar metrics to TensorBoard and the
    eval results file.
  * Every statistic is weighted by `is_real_example` (1.0 for a real row, 0.0 for a padding row
    that a TPU input pipeline adds so the last batch is full). A row whose weight is not > 0 is
    ignored completely: its label, prediction and loss may be garbage (out-of-range label, NaN)
    without affecting anything.
  * Counts and ratios follow scikit-learn with `zero_division=0`: a ratio with a zero denominator
    is 0. eval_accuracy / eval_loss / mse of an empty evaluation are 0, like tf.metrics.
  * Statistics undefined on the data seen are NaN, like the reference: AUC with a single class
    present (sklearn raises), Pearson / Spearman with a constant input (scipy returns nan).
    bert_tf1.runtime.outputs writes them as "nan" in eval_results.txt and null in eval_results.json.
  * Accumulators are float64 local variables (collections LOCAL_VARIABLES and METRIC_VARIABLES),
    so `tf.compat.v1.local_variables_initializer()` resets them and counts stay exact.

Two losses reach eval_results: `eval_loss` (the metric here) is the exact mean of the
per-example loss over every real example of the evaluation; `loss` is Estimator's own key, the
mean over batches of model_fn's EVAL loss. model_fn weights that per-batch loss by
is_real_example (sum(w * l) / max(sum(w), 1)), so padding rows never count in either, but `loss`
is a mean of batch means: a short final batch weighs as much as a full one, and `loss` equals
`eval_loss` only when every batch holds the same number of real examples. Compare runs on
`eval_loss`.

Exact AUC, Pearson and Spearman need all rows, not running sums. The rows with weight > 0 are
appended to a float64 buffer held in a local variable that grows by doubling (amortised O(1) per
row, like tf.contrib.metrics.streaming_concat); the statistic is computed from the buffer with
plain TF ops (sort, segment sums, cumsum), so it runs in any graph without tf.py_func. Memory is
24 bytes per evaluated row. AUC is the weighted Mann-Whitney statistic: the probability that a
positive outranks a negative, ties counting 1/2, which is exactly the trapezoidal area that
sklearn.metrics.roc_auc_score reports. It is computed from the class-1 probability, not from hard
labels (where the AUC collapses to (TPR + TNR) / 2) and not with tf.metrics.auc's 200 fixed
thresholds, which cannot separate scores that differ by less than 1/200.

The buffered metrics assume a single replica per evaluation graph (Estimator, TPUEstimator, or
the evaluator task of train_and_evaluate); they are not meant for `eval_distribute` strategies.
"""
import numbers
import re

import tensorflow as tf

from bert_tf1.errors import BertTF1Error

TASK_TYPES = ("binary", "multiclass", "mcc", "regression")

_BINARY_KEYS = (
    "eval_accuracy", "auc", "precision", "recall", "f1", "true_positives", "true_negatives",
    "false_positives", "false_negatives", "eval_loss")

_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-/]")


# ---------------------------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------------------------

def sanitize_tag(name):
    """Returns `name` usable in a TF summary tag: every character outside [A-Za-z0-9_.-/] -> '_'.

    >>> sanitize_tag("very good!")
    'very_good_'
    """
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return _TAG_UNSAFE.sub("_", str(name))


def _check_num_labels(num_labels, task_type, expected=None):
    """Raises BertTF1Error unless num_labels is an int >= 2 (or == expected)."""
    ok_type = isinstance(num_labels, numbers.Integral) and not isinstance(num_labels, bool)
    if expected is not None:
        if not ok_type or num_labels != expected:
            raise BertTF1Error(
                "num_labels=%r is invalid for task_type=%r: expected %d"
                % (num_labels, task_type, expected))
    elif not ok_type or num_labels < 2:
        raise BertTF1Error(
            "num_labels=%r is invalid for task_type=%r: expected an integer >= 2"
            % (num_labels, task_type))
    return int(num_labels)


def _label_tags(num_labels, label_names):
    """Returns num_labels distinct, non-empty tag-safe names (default '0', '1', ...)."""
    if label_names is None:
        return [str(i) for i in range(num_labels)]
    if isinstance(label_names, (str, bytes)) or not hasattr(label_names, "__len__"):
        raise BertTF1Error(
            "label_names=%r is invalid: expected a list of %d names" % (label_names, num_labels))
    if len(label_names) != num_labels:
        raise BertTF1Error(
            "label_names=%r is invalid: expected %d names (num_labels), found %d"
            % (list(label_names), num_labels, len(label_names)))
    tags = []
    seen = {}
    for name in label_names:
        tag = sanitize_tag(name)
        if not tag:
            raise BertTF1Error(
                "label_names=%r is invalid: expected non-empty names" % (list(label_names),))
        if tag in seen:
            raise BertTF1Error(
                "label_names=%r is invalid: %r and %r both become the metric name %r; expected "
                "names that stay distinct after replacing characters outside [A-Za-z0-9_.-/] "
                "with '_'" % (list(label_names), seen[tag], name, tag))
        seen[tag] = name
        tags.append(tag)
    return tags


def _tensor(value, rank, arg, integer=False):
    """Converts `value` to a Tensor and checks its static rank (if known) at graph-build time."""
    tensor = tf.convert_to_tensor(value)
    ndims = tensor.shape.ndims
    if ndims is not None and ndims != rank:
        raise BertTF1Error(
            "%s: expected a Tensor of rank %d, found shape %s (tensor %s)"
            % (arg, rank, tensor.shape, tensor.name))
    if integer and not (tensor.dtype.is_integer or tensor.dtype == tf.bool):
        raise BertTF1Error(
            "%s: expected an integer Tensor of class ids, found dtype %s (tensor %s)"
            % (arg, tensor.dtype.name, tensor.name))
    return tensor


def _check_width(probabilities, num_labels, arg="probabilities"):
    width = tf.compat.dimension_value(probabilities.shape[-1])
    if width is not None and width != num_labels:
        raise BertTF1Error(
            "%s: expected shape [batch_size, %d] (num_labels=%d), found %s (tensor %s)"
            % (arg, num_labels, num_labels, probabilities.shape, probabilities.name))


def _check_same_batch(named_tensors):
    """Raises BertTF1Error when the static batch sizes of the tensors disagree."""
    known = [(arg, t, tf.compat.dimension_value(t.shape[0])) for arg, t in named_tensors
             if t.shape.ndims]
    sizes = set(size for _, _, size in known if size is not None)
    if len(sizes) > 1:
        raise BertTF1Error(
            "expected the same batch size for every input, found %s" % ", ".join(
                "%s %s" % (arg, t.shape) for arg, t, _ in known))


# ---------------------------------------------------------------------------------------------
# Streaming building blocks (float64 local variables)
# ---------------------------------------------------------------------------------------------

def _metric_variable(initial_value, name, validate_shape=True):
    # A ref variable, as tf.metrics makes: resizing (validate_shape=False) then slice-assigning
    # into it is the proven pattern of tf.contrib.metrics.streaming_concat.
    return tf.compat.v1.Variable(
        initial_value, trainable=False, name=name, validate_shape=validate_shape,
        use_resource=False,
        collections=[tf.compat.v1.GraphKeys.LOCAL_VARIABLES,
                     tf.compat.v1.GraphKeys.METRIC_VARIABLES])


def _streaming_sum(values, name):
    """Returns (total, update_op) for a float64 Tensor of static shape summed over batches."""
    total = _metric_variable(lambda: tf.zeros(values.shape, tf.float64), name)
    return total.read_value(), tf.compat.v1.assign_add(total, values)


def _streaming_rows(rows, name="rows"):
    """Accumulates the rows of every batch.

    Args:
      rows: float64 Tensor of shape [n, width] (n may vary per batch, width static).
      name: variable scope default name.

    Returns:
      (value, update_op): value is a float64 Tensor of shape [total_rows, width] holding every row
      appended so far, in order.
    """
    width = tf.compat.dimension_value(rows.shape[1])
    with tf.compat.v1.variable_scope(None, default_name=name):
        buffer = _metric_variable(lambda: tf.zeros([0, width], tf.float64), "buffer",
                                  validate_shape=False)
        size = _metric_variable(lambda: tf.zeros([], tf.int32), "size")
        value = buffer[:size]
        value.set_shape([None, width])

        new_size = size + tf.shape(rows)[0]
        capacity = tf.shape(buffer)[0]

        def grow():
            old = buffer.value()
            with tf.control_dependencies([old]):
                resized = tf.compat.v1.assign(
                    buffer, tf.zeros([tf.maximum(new_size, 2 * capacity), width], tf.float64),
                    validate_shape=False)
            with tf.control_dependencies([resized]):
                copied = buffer[:size].assign(old[:size])
            with tf.control_dependencies([copied]):
                return tf.no_op()

        maybe_grow = tf.cond(new_size > capacity, grow, tf.no_op)
        with tf.control_dependencies([maybe_grow]):
            appended = buffer[size:new_size].assign(rows)
        with tf.control_dependencies([appended]):
            update_op = tf.compat.v1.assign(size, new_size)
    return value, update_op


def _real_mask(is_real_example):
    """Returns (mask bool [batch], weights float64 [batch] with 0 where not mask)."""
    weights = tf.cast(is_real_example, tf.float64)
    mask = weights > 0  # False for NaN as well
    return mask, tf.where(mask, weights, tf.zeros_like(weights))


def _safe_div(numerator, denominator):
    """numerator / denominator, 0 where denominator == 0 (sklearn's zero_division=0)."""
    safe = tf.where(tf.equal(denominator, 0), tf.ones_like(denominator), denominator)
    return tf.where(tf.equal(denominator, 0), tf.zeros_like(numerator), numerator / safe)


def _streaming_weighted_mean(values, mask, weights, name):
    """Returns (mean float64 scalar, update_op); 0 before any weight was seen."""
    values = tf.where(mask, tf.cast(values, tf.float64), tf.zeros_like(weights))
    with tf.compat.v1.variable_scope(None, default_name=name):
        total, update_total = _streaming_sum(tf.reduce_sum(weights * values), "total")
        count, update_count = _streaming_sum(tf.reduce_sum(weights), "count")
    return _safe_div(total, count), tf.group(update_total, update_count)


def _streaming_confusion_matrix(label_ids, predicted_ids, mask, weights, num_labels):
    """(confusion float64 [num_labels, num_labels], update_op); rows true, columns predicted.

    Padding rows get class 0 and weight 0 so garbage labels never reach the range check of
    tf.math.confusion_matrix; an out-of-range label on a real row still fails at run time.
    """
    zeros = tf.zeros_like(label_ids)
    batch = tf.math.confusion_matrix(
        tf.where(mask, label_ids, zeros), tf.where(mask, predicted_ids, zeros),
        num_classes=num_labels, weights=weights, dtype=tf.float64)
    batch.set_shape([num_labels, num_labels])
    return _streaming_sum(batch, "confusion_matrix")


# ---------------------------------------------------------------------------------------------
# Exact rank statistics on buffered rows (plain TF ops)
# ---------------------------------------------------------------------------------------------

def _tie_groups(sorted_values):
    """int32 [n]: index of the run of equal values each element of an ascending array is in."""
    n = tf.size(sorted_values)
    first = tf.ones([tf.minimum(n, 1)], tf.bool)
    is_new = tf.concat([first, tf.not_equal(sorted_values[1:], sorted_values[:-1])], 0)
    return tf.cumsum(tf.cast(is_new, tf.int32)) - 1


def _exact_auc(scores, positive, weights):
    """Weighted ROC AUC with ties counted 1/2, as sklearn.metrics.roc_auc_score(sample_weight=).

    Args:
      scores: float64 Tensor of shape [n], score of the positive class.
      positive: float64 Tensor of shape [n], 1.0 for a positive row, 0.0 for a negative one.
      weights: float64 Tensor of shape [n], non-negative.

    Returns:
      float64 scalar; NaN unless both classes have positive weight.
    """
    n = tf.size(scores)
    order = tf.argsort(scores)
    groups = tf.gather(_tie_groups(tf.gather(scores, order)), tf.math.invert_permutation(order))
    pos = tf.math.unsorted_segment_sum(positive * weights, groups, n)
    neg = tf.math.unsorted_segment_sum((1.0 - positive) * weights, groups, n)
    # Each positive beats the negatives of lower groups and ties with those of its own group.
    wins = tf.reduce_sum(pos * (tf.cumsum(neg, exclusive=True) + 0.5 * neg))
    pairs = tf.reduce_sum(pos) * tf.reduce_sum(neg)
    nan = tf.constant(float("nan"), tf.float64)
    return tf.where(pairs > 0, wins / tf.where(pairs > 0, pairs, tf.ones_like(pairs)), nan)


def _average_ranks(values):
    """float64 [n] -> float64 [n]: 1-based ranks, ties get their mean rank (scipy's rankdata)."""
    n = tf.size(values)
    order = tf.argsort(values)
    groups = _tie_groups(tf.gather(values, order))
    positions = tf.cast(tf.range(n), tf.float64)
    first = tf.math.unsorted_segment_min(positions, groups, n)
    last = tf.math.unsorted_segment_max(positions, groups, n)
    sorted_ranks = tf.gather((first + last) / 2.0 + 1.0, groups)
    return tf.gather(sorted_ranks, tf.math.invert_permutation(order))


def _pearson(x, y, weights):
    """Weighted Pearson correlation of float64 [n] Tensors; NaN when either input is constant."""
    total = tf.reduce_sum(weights)
    safe_total = tf.where(total > 0, total, tf.ones_like(total))
    dx = x - tf.reduce_sum(weights * x) / safe_total
    dy = y - tf.reduce_sum(weights * y) / safe_total
    variance = tf.reduce_sum(weights * dx * dx) * tf.reduce_sum(weights * dy * dy)
    defined = variance > 0
    r = tf.reduce_sum(weights * dx * dy) / tf.sqrt(
        tf.where(defined, variance, tf.ones_like(variance)))
    return tf.where(defined, tf.clip_by_value(r, -1.0, 1.0),
                    tf.constant(float("nan"), tf.float64))


def _matthews(confusion):
    """Matthews correlation from a float64 confusion matrix, as sklearn.metrics.matthews_corrcoef
    (Gorodkin's K-class form; 0 when undefined)."""
    t_sum = tf.reduce_sum(confusion, axis=1)
    p_sum = tf.reduce_sum(confusion, axis=0)
    n_correct = tf.linalg.trace(confusion)
    n = tf.reduce_sum(confusion)
    cov_ytyp = n_correct * n - tf.reduce_sum(t_sum * p_sum)
    cov_ypyp = n * n - tf.reduce_sum(p_sum * p_sum)
    cov_ytyt = n * n - tf.reduce_sum(t_sum * t_sum)
    denominator = cov_ytyt * cov_ypyp
    defined = tf.not_equal(denominator, 0)
    return tf.where(defined, cov_ytyp / tf.sqrt(
        tf.where(defined, denominator, tf.ones_like(denominator))), tf.zeros_like(denominator))


# ---------------------------------------------------------------------------------------------
# Public metric functions
# ---------------------------------------------------------------------------------------------

def _f1(precision, recall):
    return _safe_div(2.0 * precision * recall, precision + recall)


def _finish(values, update_op):
    """Casts float64 values to float32 scalars and pairs each with the shared update op."""
    return {key: (tf.cast(value, tf.float32, name=sanitize_tag(key).replace("/", "_")), update_op)
            for key, value in values.items()}


def _classification(label_ids, probabilities, per_example_loss, is_real_example, num_labels,
                    label_names, binary, with_mcc):
    label_ids = _tensor(label_ids, 1, "label_ids", integer=True)
    probabilities = _tensor(probabilities, 2, "probabilities")
    per_example_loss = _tensor(per_example_loss, 1, "per_example_loss")
    is_real_example = _tensor(is_real_example, 1, "is_real_example")
    _check_width(probabilities, num_labels)
    _check_same_batch([("label_ids", label_ids), ("probabilities", probabilities),
                       ("per_example_loss", per_example_loss),
                       ("is_real_example", is_real_example)])
    tags = _label_tags(num_labels, label_names)

    label_ids = tf.cast(label_ids, tf.int32)
    predicted_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
    mask, weights = _real_mask(is_real_example)
    confusion, update_confusion = _streaming_confusion_matrix(
        label_ids, predicted_ids, mask, weights, num_labels)
    loss, update_loss = _streaming_weighted_mean(per_example_loss, mask, weights, "eval_loss")
    updates = [update_confusion, update_loss]

    tp = tf.linalg.diag_part(confusion)
    n_true = tf.reduce_sum(confusion, axis=1)
    n_pred = tf.reduce_sum(confusion, axis=0)
    values = {"eval_accuracy": _safe_div(tf.reduce_sum(tp), tf.reduce_sum(confusion)),
              "eval_loss": loss}
    if binary:
        rows = tf.stack([tf.cast(probabilities[:, 1], tf.float64),
                         tf.cast(tf.equal(label_ids, 1), tf.float64), weights], axis=1)
        buffered, update_rows = _streaming_rows(tf.boolean_mask(rows, mask), "auc_rows")
        updates.append(update_rows)
        precision = _safe_div(tp[1], n_pred[1])
        recall = _safe_div(tp[1], n_true[1])
        values.update({
            "auc": _exact_auc(buffered[:, 0], buffered[:, 1], buffered[:, 2]),
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
            "true_positives": confusion[1, 1],
            "true_negatives": confusion[0, 0],
            "false_positives": confusion[0, 1],
            "false_negatives": confusion[1, 0],
        })
    else:
        precision = _safe_div(tp, n_pred)
        recall = _safe_div(tp, n_true)
        f1 = _f1(precision, recall)
        # sklearn's average="macro" (labels=None) averages over the classes present in y_true or
        # y_pred; a class never seen nor predicted would otherwise add a 0.
        present = tf.cast(n_true + n_pred > 0, tf.float64)
        n_present = tf.reduce_sum(present)
        micro_precision = _safe_div(tf.reduce_sum(tp), tf.reduce_sum(n_pred))
        micro_recall = _safe_div(tf.reduce_sum(tp), tf.reduce_sum(n_true))
        values.update({
            "macro_precision": _safe_div(tf.reduce_sum(precision * present), n_present),
            "macro_recall": _safe_div(tf.reduce_sum(recall * present), n_present),
            "macro_f1": _safe_div(tf.reduce_sum(f1 * present), n_present),
            "micro_f1": _f1(micro_precision, micro_recall),
        })
        for k, tag in enumerate(tags):
            values["precision_" + tag] = precision[k]
            values["recall_" + tag] = recall[k]
            values["f1_" + tag] = f1[k]
            for j, pred_tag in enumerate(tags):
                values["confusion_matrix/%s/%s" % (tag, pred_tag)] = confusion[k, j]
    if with_mcc:
        values["mcc"] = _matthews(confusion)
    return _finish(values, tf.group(*updates))


def binary_metrics(label_ids, probabilities, per_example_loss, is_real_example):
    """Streaming metrics of a two-class classifier; class 1 is the positive class.

    Args:
      label_ids: int32 Tensor of shape [batch_size], values in {0, 1} on real rows.
      probabilities: float32 Tensor of shape [batch_size, 2]; predicted label = argmax, AUC uses
        column 1 (any score monotone in P(class 1) gives the same AUC).
      per_example_loss: float32 Tensor of shape [batch_size].
      is_real_example: float32 Tensor of shape [batch_size]; 1.0 real row, 0.0 padding row.

    Returns:
      dict name -> (float32 scalar value Tensor, update op) with keys eval_accuracy, auc
      (exact, see module docstring; NaN if one class is absent), precision, recall, f1
      (2PR / (P + R), 0 when P + R == 0), true_positives, true_negatives, false_positives,
      false_negatives (weighted counts) and eval_loss (weighted mean of per_example_loss).

    Example:
      eval_metric_ops = binary_metrics(label_ids, tf.nn.softmax(logits), per_example_loss,
                                       tf.cast(features["is_real_example"], tf.float32))
    """
    with tf.compat.v1.variable_scope(None, default_name="binary_metrics"):
        return _classification(label_ids, probabilities, per_example_loss, is_real_example, 2,
                               None, binary=True, with_mcc=False)


def multiclass_metrics(label_ids, probabilities, per_example_loss, is_real_example, num_labels,
                       label_names=None):
    """Streaming metrics of a single-label classifier with num_labels classes.

    Args:
      label_ids: int32 Tensor of shape [batch_size], values in [0, num_labels) on real rows.
      probabilities: float32 Tensor of shape [batch_size, num_labels]; predicted label = argmax.
      per_example_loss: float32 Tensor of shape [batch_size].
      is_real_example: float32 Tensor of shape [batch_size]; 1.0 real row, 0.0 padding row.
      num_labels: int >= 2.
      label_names: optional list of num_labels names used in metric names (default '0', '1', ...);
        characters outside [A-Za-z0-9_.-/] become '_' (TF summary tags), e.g. "very bad" ->
        "very_bad". Names must stay distinct after that.

    Returns:
      dict name -> (float32 scalar value Tensor, update op) with keys eval_accuracy, eval_loss,
      macro_precision, macro_recall, macro_f1 (unweighted means over the classes present in the
      labels or the predictions, as sklearn's average="macro"), micro_f1 (= accuracy for
      single-label data), precision_<name>, recall_<name>, f1_<name> per class, and
      confusion_matrix/<true_name>/<predicted_name> (weighted counts). Undefined ratios are 0
      (sklearn's zero_division=0).

    Raises:
      BertTF1Error: bad num_labels or label_names, or input shapes that disagree.

    Example:
      eval_metric_ops = multiclass_metrics(label_ids, probabilities, per_example_loss,
                                           is_real_example, 3, ["negative", "neutral", "positive"])
    """
    num_labels = _check_num_labels(num_labels, "multiclass")
    with tf.compat.v1.variable_scope(None, default_name="multiclass_metrics"):
        return _classification(label_ids, probabilities, per_example_loss, is_real_example,
                               num_labels, label_names, binary=False, with_mcc=False)


def mcc_metrics(label_ids, probabilities, per_example_loss, is_real_example, num_labels=2,
                label_names=None):
    """Classification metrics plus the Matthews correlation `mcc` (CoLA's GLUE metric).

    Args:
      label_ids, probabilities, per_example_loss, is_real_example: as binary_metrics
        (num_labels == 2) or multiclass_metrics.
      num_labels: int >= 2. With 2 the keys are binary_metrics' plus mcc, otherwise
        multiclass_metrics' plus mcc.
      label_names: optional class names, used when num_labels > 2 (see multiclass_metrics).

    Returns:
      dict name -> (float32 scalar value Tensor, update op); `mcc` matches
      sklearn.metrics.matthews_corrcoef (its K-class form when num_labels > 2) and is 0 when
      undefined (a single class among the labels or the predictions).

    Example:
      eval_metric_ops = mcc_metrics(label_ids, probabilities, per_example_loss, is_real_example)
    """
    num_labels = _check_num_labels(num_labels, "mcc")
    with tf.compat.v1.variable_scope(None, default_name="mcc_metrics"):
        return _classification(label_ids, probabilities, per_example_loss, is_real_example,
                               num_labels, label_names, binary=num_labels == 2, with_mcc=True)


def regression_metrics(predictions, label_values, per_example_loss, is_real_example):
    """Streaming metrics of a scalar regressor (STS-B).

    Args:
      predictions: float32 Tensor of shape [batch_size] (or [batch_size, 1]).
      label_values: float32 Tensor of shape [batch_size] (or [batch_size, 1]).
      per_example_loss: float32 Tensor of shape [batch_size].
      is_real_example: float32 Tensor of shape [batch_size]; 1.0 real row, 0.0 padding row.

    Returns:
      dict name -> (float32 scalar value Tensor, update op) with keys pearson (weighted by
      is_real_example), spearman (exact: Pearson of average ranks with ties, as
      scipy.stats.spearmanr, over the rows with is_real_example > 0, unweighted), mse and
      eval_loss (weighted means). pearson and spearman are NaN when an input is constant.

    Example:
      eval_metric_ops = regression_metrics(tf.squeeze(logits, -1), label_values,
                                           per_example_loss, is_real_example)
    """
    with tf.compat.v1.variable_scope(None, default_name="regression_metrics"):
        predictions = _tensor_vector(predictions, "predictions")
        label_values = _tensor_vector(label_values, "label_values")
        per_example_loss = _tensor(per_example_loss, 1, "per_example_loss")
        is_real_example = _tensor(is_real_example, 1, "is_real_example")
        _check_same_batch([("predictions", predictions), ("label_values", label_values),
                           ("per_example_loss", per_example_loss),
                           ("is_real_example", is_real_example)])
        mask, weights = _real_mask(is_real_example)
        predictions = tf.cast(predictions, tf.float64)
        label_values = tf.cast(label_values, tf.float64)
        loss, update_loss = _streaming_weighted_mean(per_example_loss, mask, weights, "eval_loss")
        mse, update_mse = _streaming_weighted_mean(
            tf.square(predictions - label_values), mask, weights, "mse")
        rows = tf.stack([predictions, label_values, weights], axis=1)
        buffered, update_rows = _streaming_rows(tf.boolean_mask(rows, mask), "regression_rows")
        x, y = buffered[:, 0], buffered[:, 1]
        values = {
            "pearson": _pearson(x, y, buffered[:, 2]),
            "spearman": _pearson(_average_ranks(x), _average_ranks(y), tf.ones_like(x)),
            "mse": mse,
            "eval_loss": loss,
        }
        return _finish(values, tf.group(update_loss, update_mse, update_rows))


def _tensor_vector(value, arg):
    """A rank-1 Tensor from a [batch] or [batch, 1] input."""
    tensor = tf.convert_to_tensor(value)
    if tensor.shape.ndims == 2 and tf.compat.dimension_value(tensor.shape[1]) == 1:
        tensor = tf.squeeze(tensor, axis=1)
    return _tensor(tensor, 1, arg)


def metric_fn_builder(task_type, num_labels, label_names=None):
    """Returns the metric_fn of `TPUEstimatorSpec(eval_metrics=(metric_fn, tensors))`.

    The returned function takes four positional Tensors, in this order:
      classification ("binary", "multiclass", "mcc"):
        metric_fn(per_example_loss, label_ids, probabilities, is_real_example)
      regression:
        metric_fn(per_example_loss, label_values, predictions, is_real_example)
    with the dtypes and shapes of binary_metrics / multiclass_metrics / regression_metrics, and
    returns their dict name -> (value, update_op). TPUEstimator calls it on the CPU host;
    `spec.as_estimator_spec()` calls it for a plain Estimator.

    Args:
      task_type: one of "binary" (binary_metrics), "multiclass" (multiclass_metrics), "mcc"
        (mcc_metrics) or "regression" (regression_metrics).
      num_labels: int; 2 for "binary", >= 2 for "multiclass" and "mcc", 1 for "regression".
      label_names: optional list of num_labels class names for "multiclass" / "mcc" metric names;
        must be None for "regression".

    Returns:
      metric_fn as described above.

    Raises:
      BertTF1Error: naming the bad argument, its value and what was expected.

    Example:
      metric_fn = metric_fn_builder("multiclass", 3, ["neg", "neu", "pos"])
      spec = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
          mode, loss=loss, eval_metrics=(metric_fn, [per_example_loss, label_ids, probabilities,
                                                     is_real_example]))
    """
    if not isinstance(task_type, str) or task_type not in TASK_TYPES:
        raise BertTF1Error("task_type=%r is not supported: expected one of %s"
                           % (task_type, ", ".join(repr(t) for t in TASK_TYPES)))
    if task_type == "regression":
        _check_num_labels(num_labels, task_type, expected=1)
        if label_names is not None:
            raise BertTF1Error("label_names=%r is invalid for task_type='regression': expected "
                               "None" % (label_names,))

        def metric_fn(per_example_loss, label_values, predictions, is_real_example):
            return regression_metrics(predictions, label_values, per_example_loss,
                                      is_real_example)
        return metric_fn

    if task_type == "binary":
        num_labels = _check_num_labels(num_labels, task_type, expected=2)
    else:
        num_labels = _check_num_labels(num_labels, task_type)
    _label_tags(num_labels, label_names)  # fail now, not at graph-build time
    if task_type == "binary":
        def metric_fn(per_example_loss, label_ids, probabilities, is_real_example):
            return binary_metrics(label_ids, probabilities, per_example_loss, is_real_example)
    elif task_type == "multiclass":
        def metric_fn(per_example_loss, label_ids, probabilities, is_real_example):
            return multiclass_metrics(label_ids, probabilities, per_example_loss,
                                      is_real_example, num_labels, label_names)
    else:
        def metric_fn(per_example_loss, label_ids, probabilities, is_real_example):
            return mcc_metrics(label_ids, probabilities, per_example_loss, is_real_example,
                               num_labels, label_names)
    return metric_fn
