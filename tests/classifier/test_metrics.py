"""classifier.metrics against scikit-learn / scipy on the real rows of padded, streamed batches."""
import math

import numpy as np
import pytest
import scipy.stats
from sklearn import metrics as skm

from bert_tf1 import compat
from bert_tf1.errors import BertTF1Error

compat.setup_tf1()

import tensorflow as tf  # noqa: E402  (after setup_tf1, which quiets TF's import-time logging)

from bert_tf1.classifier import metrics  # noqa: E402

TOL = 1e-6
BINARY_KEYS = {"eval_accuracy", "auc", "precision", "recall", "f1", "true_positives",
               "true_negatives", "false_positives", "false_negatives", "eval_loss"}
COUNT_KEYS = ("true_positives", "true_negatives", "false_positives", "false_negatives")


# ----------------------------------------------------------------------------------------------
# Harness: stream batches with TPU-style padding through the metric ops
# ----------------------------------------------------------------------------------------------

def _pad(batch, n_pad, rng, num_labels):
    """Appends n_pad padding rows with garbage labels/outputs/loss and is_real_example == 0."""
    if not n_pad:
        return batch
    garbage = {
        "labels": rng.choice([-7, num_labels, 99], n_pad).astype(batch["labels"].dtype)
        if batch["labels"].dtype.kind == "i" else np.full(n_pad, np.nan, np.float32),
        "loss": np.full(n_pad, np.nan, np.float32),
        "weights": np.zeros(n_pad, np.float32),
    }
    out = batch["outputs"]
    if out.ndim == 2:
        bad = rng.uniform(-5, 5, (n_pad, out.shape[1])).astype(np.float32)
        bad[0, 0] = np.nan
    else:
        bad = np.full(n_pad, np.nan, np.float32)
    garbage["outputs"] = bad
    return {k: np.concatenate([batch[k], garbage[k]]) for k in batch}


def _split(data, sizes, rng, num_labels, paddings=None):
    """Cuts the real rows of `data` into batches of `sizes`, padding some batches."""
    assert sum(sizes) == len(data["labels"])
    paddings = paddings or [0] * len(sizes)
    batches, start = [], 0
    for size, n_pad in zip(sizes, paddings):
        batch = {k: v[start:start + size] for k, v in data.items()}
        batches.append(_pad(batch, n_pad, rng, num_labels))
        start += size
    return batches


def _run(build, batches, num_labels=None):
    """Builds metric ops from placeholders in a fresh graph, streams batches, returns values."""
    with tf.Graph().as_default():
        labels_dtype = tf.float32 if batches[0]["labels"].dtype.kind == "f" else tf.int32
        out_shape = [None] if batches[0]["outputs"].ndim == 1 else [None, num_labels]
        ph = {"labels": tf.compat.v1.placeholder(labels_dtype, [None]),
              "outputs": tf.compat.v1.placeholder(tf.float32, out_shape),
              "loss": tf.compat.v1.placeholder(tf.float32, [None]),
              "weights": tf.compat.v1.placeholder(tf.float32, [None])}
        ops = build(ph["loss"], ph["labels"], ph["outputs"], ph["weights"])
        for key, (value, _) in ops.items():
            assert value.shape.ndims == 0, key
            assert value.dtype == tf.float32, key
        values = {k: v for k, (v, _) in ops.items()}
        updates = [u for _, u in ops.values()]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.local_variables_initializer())
            for batch in batches:
                sess.run(updates, {ph[k]: batch[k] for k in ph})
            return sess.run(values)


def _builder(task_type, num_labels, label_names=None):
    fn = metrics.metric_fn_builder(task_type, num_labels, label_names)
    return lambda loss, labels, outputs, weights: fn(loss, labels, outputs, weights)


def _classification_data(rng, n, num_labels, decimals=None):
    labels = rng.randint(0, num_labels, n).astype(np.int32)
    logits = rng.normal(size=(n, num_labels))
    logits[np.arange(n), labels] += 1.0  # informative but imperfect predictions
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    if decimals is not None:  # coarse probabilities -> many tied scores
        probs = np.round(probs, decimals)
    return {"labels": labels,
            "outputs": probs.astype(np.float32),
            "loss": rng.exponential(size=n).astype(np.float32),
            "weights": np.ones(n, np.float32)}


def _assert_close(got, want, key):
    assert not math.isnan(got), "%s is NaN, expected %r" % (key, want)
    assert abs(got - want) <= TOL, "%s: got %r, expected %r" % (key, got, want)


def _check_binary(got, data, has_mcc=False):
    y, probs, w = data["labels"], data["outputs"], data["weights"].astype(np.float64)
    pred = probs.argmax(1)
    assert set(got) == BINARY_KEYS | ({"mcc"} if has_mcc else set())
    cm = skm.confusion_matrix(y, pred, labels=[0, 1], sample_weight=w)
    counts = {"true_negatives": cm[0, 0], "false_positives": cm[0, 1],
              "false_negatives": cm[1, 0], "true_positives": cm[1, 1]}
    for key in COUNT_KEYS:
        assert got[key] == counts[key], key  # exact
    kw = dict(sample_weight=w, zero_division=0)
    _assert_close(got["eval_accuracy"], skm.accuracy_score(y, pred, sample_weight=w), "accuracy")
    _assert_close(got["precision"], skm.precision_score(y, pred, **kw), "precision")
    _assert_close(got["recall"], skm.recall_score(y, pred, **kw), "recall")
    _assert_close(got["f1"], skm.f1_score(y, pred, **kw), "f1")
    _assert_close(got["eval_loss"], np.average(data["loss"], weights=w), "eval_loss")
    if len(set(y)) == 2:
        _assert_close(got["auc"], skm.roc_auc_score(y, probs[:, 1], sample_weight=w), "auc")
    if has_mcc:
        _assert_close(got["mcc"], skm.matthews_corrcoef(y, pred, sample_weight=w), "mcc")


# Real rows per batch and padding rows appended to it: a batch of 16 with no padding, padded
# batches, a batch made only of padding, and a final batch of one real row.
SIZES = [16, 9, 1, 13, 0, 8, 1]
PADDING = [0, 7, 0, 3, 4, 8, 0]


# ----------------------------------------------------------------------------------------------
# Binary
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("decimals", [None, 1])
def test_binary_matches_sklearn_with_padding_and_ties(seed, decimals):
    rng = np.random.RandomState(seed)
    data = _classification_data(rng, sum(SIZES), 2, decimals)
    if decimals is not None:
        assert len(np.unique(data["outputs"][:, 1])) < len(data["labels"]) / 3  # ties galore
    got = _run(_builder("binary", 2), _split(data, SIZES, rng, 2, PADDING), 2)
    _check_binary(got, data)


def test_binary_auc_is_exact_where_thresholds_fail():
    # Scores within 1e-4 of each other fall between two of tf.metrics.auc's 200 thresholds, so
    # it reports 0.5; the ranks separate the classes perfectly.
    n = 40
    labels = np.array([0, 1] * (n // 2), np.int32)
    p1 = (0.5 + 1e-6 * np.arange(n) + 1e-4 * labels).astype(np.float32)
    data = {"labels": labels, "outputs": np.stack([1 - p1, p1], 1).astype(np.float32),
            "loss": np.ones(n, np.float32), "weights": np.ones(n, np.float32)}
    got = _run(_builder("binary", 2), _split(data, [25, 15], np.random.RandomState(0), 2), 2)
    assert skm.roc_auc_score(labels, p1) == 1.0
    _check_binary(got, data)


def test_binary_all_scores_tied():
    n = 10
    data = {"labels": np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 1], np.int32),
            "outputs": np.tile(np.float32([[0.3, 0.7]]), (n, 1)),
            "loss": np.arange(n, dtype=np.float32), "weights": np.ones(n, np.float32)}
    got = _run(_builder("binary", 2), _split(data, [4, 6], np.random.RandomState(0), 2, [4, 0]), 2)
    assert got["auc"] == pytest.approx(0.5, abs=TOL)
    _check_binary(got, data)


def test_binary_no_positive_predictions():
    rng = np.random.RandomState(3)
    data = _classification_data(rng, 20, 2)
    data["outputs"] = np.stack([np.full(20, 0.9), np.linspace(0, 0.1, 20)], 1).astype(np.float32)
    got = _run(_builder("binary", 2), _split(data, [12, 8], rng, 2, [4, 0]), 2)
    assert got["true_positives"] == 0 and got["false_positives"] == 0
    assert got["precision"] == 0 and got["f1"] == 0
    _check_binary(got, data)


def test_binary_single_class_present():
    rng = np.random.RandomState(4)
    data = _classification_data(rng, 15, 2)
    data["labels"][:] = 0
    got = _run(_builder("mcc", 2), _split(data, [10, 5], rng, 2, [6, 3]), 2)
    with pytest.raises(ValueError):  # sklearn: "Only one class present in y_true"
        skm.roc_auc_score(data["labels"], data["outputs"][:, 1])
    assert math.isnan(got["auc"])
    assert got["recall"] == 0 and got["mcc"] == 0
    _check_binary(got, data, has_mcc=True)


def test_binary_fractional_weights_match_sample_weight():
    rng = np.random.RandomState(5)
    data = _classification_data(rng, 50, 2, decimals=1)
    data["weights"] = rng.choice([0.25, 0.5, 1.0, 2.0], 50).astype(np.float32)
    got = _run(_builder("mcc", 2), _split(data, [30, 19, 1], rng, 2, [2, 0, 0]), 2)
    _check_binary(got, data, has_mcc=True)


def test_binary_many_small_batches_grow_the_buffer():
    rng = np.random.RandomState(6)
    sizes = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 1, 1, 100, 7]
    data = _classification_data(rng, sum(sizes), 2, decimals=2)
    paddings = [i % 3 for i in range(len(sizes))]
    got = _run(_builder("binary", 2), _split(data, sizes, rng, 2, paddings), 2)
    _check_binary(got, data)


def test_binary_empty_evaluation():
    data = _classification_data(np.random.RandomState(0), 0, 2)
    got = _run(_builder("binary", 2), _split(data, [0], np.random.RandomState(0), 2, [4]), 2)
    assert got["eval_accuracy"] == 0 and got["eval_loss"] == 0 and got["true_positives"] == 0
    assert math.isnan(got["auc"])


# ----------------------------------------------------------------------------------------------
# Multiclass and MCC
# ----------------------------------------------------------------------------------------------

NAMES = ["very bad", "so-so", "good!"]
TAGS = ["very_bad", "so-so", "good_"]


def _check_multiclass(got, data, num_labels, tags, has_mcc=False):
    y, pred = data["labels"], data["outputs"].argmax(1)
    w = data["weights"].astype(np.float64)
    expected_keys = {"eval_accuracy", "eval_loss", "macro_f1", "micro_f1", "macro_precision",
                     "macro_recall"}
    expected_keys |= {"%s_%s" % (m, t) for m in ("precision", "recall", "f1") for t in tags}
    expected_keys |= {"confusion_matrix/%s/%s" % (a, b) for a in tags for b in tags}
    if has_mcc:
        expected_keys.add("mcc")
    assert set(got) == expected_keys
    cm = skm.confusion_matrix(y, pred, labels=list(range(num_labels)), sample_weight=w)
    for i, a in enumerate(tags):
        for j, b in enumerate(tags):
            assert got["confusion_matrix/%s/%s" % (a, b)] == cm[i, j], (a, b)  # exact
    kw = dict(sample_weight=w, zero_division=0)
    per_class = skm.precision_recall_fscore_support(
        y, pred, labels=list(range(num_labels)), average=None, **kw)
    for k, tag in enumerate(tags):
        _assert_close(got["precision_" + tag], per_class[0][k], "precision_" + tag)
        _assert_close(got["recall_" + tag], per_class[1][k], "recall_" + tag)
        _assert_close(got["f1_" + tag], per_class[2][k], "f1_" + tag)
    _assert_close(got["macro_precision"], skm.precision_score(y, pred, average="macro", **kw),
                  "macro_precision")
    _assert_close(got["macro_recall"], skm.recall_score(y, pred, average="macro", **kw),
                  "macro_recall")
    _assert_close(got["macro_f1"], skm.f1_score(y, pred, average="macro", **kw), "macro_f1")
    _assert_close(got["micro_f1"], skm.f1_score(y, pred, average="micro", **kw), "micro_f1")
    _assert_close(got["eval_accuracy"], skm.accuracy_score(y, pred, sample_weight=w), "accuracy")
    _assert_close(got["eval_loss"], np.average(data["loss"], weights=w), "eval_loss")
    if has_mcc:
        _assert_close(got["mcc"], skm.matthews_corrcoef(y, pred, sample_weight=w), "mcc")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_three_named_labels(seed):
    rng = np.random.RandomState(seed)
    data = _classification_data(rng, sum(SIZES), 3)
    got = _run(_builder("multiclass", 3, NAMES), _split(data, SIZES, rng, 3, PADDING), 3)
    _check_multiclass(got, data, 3, TAGS)


def test_multiclass_default_names_and_absent_class():
    # Class 3 is neither a label nor a prediction: sklearn's macro average skips it and reports
    # 0 for its per-class scores; class 2 is predicted but never true (precision 0).
    rng = np.random.RandomState(7)
    data = _classification_data(rng, 30, 4)
    data["outputs"][:, 3] = 0.0
    data["labels"] = np.where(data["labels"] >= 2, 0, data["labels"]).astype(np.int32)
    assert 2 in data["outputs"].argmax(1)
    got = _run(_builder("multiclass", 4), _split(data, [20, 10], rng, 4, [3, 0]), 4)
    _check_multiclass(got, data, 4, ["0", "1", "2", "3"])


def test_multiclass_mcc():
    rng = np.random.RandomState(8)
    data = _classification_data(rng, sum(SIZES), 3)
    got = _run(_builder("mcc", 3, NAMES), _split(data, SIZES, rng, 3, PADDING), 3)
    _check_multiclass(got, data, 3, TAGS, has_mcc=True)


@pytest.mark.parametrize("seed", [0, 1])
def test_binary_mcc(seed):
    rng = np.random.RandomState(seed)
    data = _classification_data(rng, sum(SIZES), 2)
    got = _run(_builder("mcc", 2), _split(data, SIZES, rng, 2, PADDING), 2)
    assert abs(got["mcc"]) > 0.01  # a non-trivial value
    _check_binary(got, data, has_mcc=True)


def test_mcc_zero_when_one_class_predicted():
    rng = np.random.RandomState(9)
    data = _classification_data(rng, 20, 2)
    data["outputs"] = np.tile(np.float32([[0.2, 0.8]]), (20, 1))
    got = _run(_builder("mcc", 2), _split(data, [20], rng, 2, [5]), 2)
    assert got["mcc"] == 0
    _check_binary(got, data, has_mcc=True)


# ----------------------------------------------------------------------------------------------
# Regression
# ----------------------------------------------------------------------------------------------

def _regression_data(rng, n, decimals=None):
    labels = rng.uniform(0, 5, n)
    preds = labels + rng.normal(scale=1.5, size=n)
    if decimals is not None:
        labels, preds = np.round(labels, decimals), np.round(preds, decimals)
    return {"labels": labels.astype(np.float32), "outputs": preds.astype(np.float32),
            "loss": rng.exponential(size=n).astype(np.float32), "weights": np.ones(n, np.float32)}


@pytest.mark.parametrize("seed,decimals", [(0, None), (1, 0), (2, 1)])
def test_regression_matches_scipy(seed, decimals):
    rng = np.random.RandomState(seed)
    data = _regression_data(rng, sum(SIZES), decimals)
    if decimals is not None:
        assert len(np.unique(data["outputs"])) < len(data["outputs"]) * 0.8  # ties
        assert len(np.unique(data["labels"])) < len(data["labels"]) * 0.8
    got = _run(_builder("regression", 1), _split(data, SIZES, rng, 1, PADDING))
    assert set(got) == {"pearson", "spearman", "mse", "eval_loss"}
    x, y = data["outputs"].astype(np.float64), data["labels"].astype(np.float64)
    _assert_close(got["pearson"], scipy.stats.pearsonr(x, y)[0], "pearson")
    _assert_close(got["spearman"], scipy.stats.spearmanr(x, y)[0], "spearman")
    _assert_close(got["mse"], skm.mean_squared_error(y, x), "mse")
    _assert_close(got["eval_loss"], np.mean(data["loss"]), "eval_loss")


def test_regression_fractional_weights():
    # pearson / mse / eval_loss weight rows; spearman ranks the rows with weight > 0 equally.
    rng = np.random.RandomState(4)
    data = _regression_data(rng, 40, decimals=1)
    data["weights"] = rng.choice([0.0, 0.5, 1.0, 3.0], 40).astype(np.float32)
    got = _run(_builder("regression", 1), _split(data, [25, 15], rng, 1, [2, 1]))
    x, y = data["outputs"].astype(np.float64), data["labels"].astype(np.float64)
    w = data["weights"].astype(np.float64)
    cov = np.cov(x, y, aweights=w)
    _assert_close(got["pearson"], cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1]), "pearson")
    real = w > 0
    _assert_close(got["spearman"], scipy.stats.spearmanr(x[real], y[real])[0], "spearman")
    _assert_close(got["mse"], skm.mean_squared_error(y, x, sample_weight=w), "mse")
    _assert_close(got["eval_loss"], np.average(data["loss"], weights=w), "eval_loss")


def test_regression_constant_prediction_is_nan_like_scipy():
    rng = np.random.RandomState(3)
    data = _regression_data(rng, 12)
    data["outputs"][:] = 2.5
    got = _run(_builder("regression", 1), _split(data, [7, 5], rng, 1, [1, 3]))
    assert math.isnan(got["pearson"]) and math.isnan(got["spearman"])
    _assert_close(got["mse"], skm.mean_squared_error(data["labels"], data["outputs"]), "mse")


def test_regression_accepts_column_predictions():
    with tf.Graph().as_default():
        ops = metrics.regression_metrics(tf.zeros([4, 1]), tf.zeros([4]), tf.zeros([4]),
                                         tf.ones([4]))
        assert all(v.shape.ndims == 0 for v, _ in ops.values())


# ----------------------------------------------------------------------------------------------
# Estimator integration and errors
# ----------------------------------------------------------------------------------------------

def test_tpu_estimator_spec_eval_on_cpu(tmp_path):
    """metric_fn works as TPUEstimatorSpec(eval_metrics=...) inside a real (use_tpu=False) eval."""
    rng = np.random.RandomState(10)
    n = 37
    data = _classification_data(rng, n, 2, decimals=1)
    padded = _pad(data, 3, rng, 2)  # real rows, then 3 padding rows: last batch 5 + 3

    def input_fn(params):
        ds = tf.data.Dataset.from_tensor_slices(
            ({"probabilities": padded["outputs"], "loss": padded["loss"],
              "is_real_example": padded["weights"]}, padded["labels"]))
        return ds.batch(params["batch_size"])

    def model_fn(features, labels, mode, params):
        del params
        step = tf.compat.v1.train.get_or_create_global_step()
        loss = tf.reduce_mean(features["loss"]) + 0.0 * tf.cast(step, tf.float32)
        tensors = [features["loss"], labels, features["probabilities"],
                   features["is_real_example"]]
        return tf.compat.v1.estimator.tpu.TPUEstimatorSpec(
            mode, loss=loss, eval_metrics=(metrics.metric_fn_builder("mcc", 2), tensors))

    # The global step variable must exist in a checkpoint before evaluate().
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(sess, str(tmp_path / "model.ckpt"))
    estimator = tf.compat.v1.estimator.tpu.TPUEstimator(
        model_fn=model_fn, use_tpu=False, eval_batch_size=8, train_batch_size=8,
        config=tf.compat.v1.estimator.tpu.RunConfig(model_dir=str(tmp_path)))
    result = estimator.evaluate(input_fn, steps=None)
    result = {k: float(v) for k, v in result.items() if k not in ("loss", "global_step")}
    _check_binary(result, data, has_mcc=True)


@pytest.mark.parametrize("args,words", [
    (("bogus", 2), ["task_type", "'bogus'", "'binary'", "'regression'"]),
    ((None, 2), ["task_type", "None", "expected one of"]),
    (("binary", 3), ["num_labels", "3", "'binary'", "expected 2"]),
    (("multiclass", 1), ["num_labels", "1", "'multiclass'", ">= 2"]),
    (("mcc", "2"), ["num_labels", "'2'", "'mcc'", ">= 2"]),
    (("multiclass", True), ["num_labels", "True", ">= 2"]),
    (("regression", 2), ["num_labels", "2", "'regression'", "expected 1"]),
    (("regression", 1, ["a"]), ["label_names", "'regression'", "expected None"]),
    (("multiclass", 3, ["a", "b"]), ["label_names", "['a', 'b']", "expected 3", "found 2"]),
    (("multiclass", 3, "abc"), ["label_names", "'abc'", "expected a list of 3"]),
    (("multiclass", 2, ["a b", "a_b"]), ["label_names", "'a b'", "'a_b'", "distinct"]),
    (("mcc", 2, ["", "x"]), ["label_names", "non-empty"]),
])
def test_metric_fn_builder_errors(args, words):
    with pytest.raises(BertTF1Error) as info:
        metrics.metric_fn_builder(*args)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_shape_errors_at_graph_build_time():
    with tf.Graph().as_default():
        with pytest.raises(BertTF1Error, match="probabilities.*rank 2"):
            metrics.binary_metrics(tf.zeros([4], tf.int32), tf.zeros([4]), tf.zeros([4]),
                                   tf.ones([4]))
        with pytest.raises(BertTF1Error, match=r"probabilities.*\[batch_size, 3\]"):
            metrics.multiclass_metrics(tf.zeros([4], tf.int32), tf.zeros([4, 2]), tf.zeros([4]),
                                       tf.ones([4]), 3)
        with pytest.raises(BertTF1Error, match="label_ids.*integer"):
            metrics.binary_metrics(tf.zeros([4]), tf.zeros([4, 2]), tf.zeros([4]), tf.ones([4]))
        with pytest.raises(BertTF1Error, match="same batch size"):
            metrics.binary_metrics(tf.zeros([4], tf.int32), tf.zeros([5, 2]), tf.zeros([4]),
                                   tf.ones([4]))


def test_sanitize_tag():
    assert metrics.sanitize_tag("a b/c.d-e_f!") == "a_b/c.d-e_f_"
    assert metrics.sanitize_tag(b"caf\xc3\xa9") == "caf_"
