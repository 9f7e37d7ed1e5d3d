"""Run outputs: eval results, test predictions and the run manifest.

Every file goes through tf.io.gfile and atomic_io (local, gs:// and s3:// alike) and is written in
one piece: a reader never sees half a results file. Formats:
  eval_results.txt   google-research/bert's "key = value" lines, sorted by key (an undefined
                     metric, e.g. AUC when one class is absent, reads "nan" as in Google's)
  eval_results.json  the same numbers as strict JSON: an undefined (NaN) metric is null, since
                     NaN is not JSON and strict parsers (JSON.parse, jq) reject the file
  Two loss keys, as Estimator reports them: `eval_loss` is the exact mean of the per-example
  loss over the real examples (bert_tf1.classifier.metrics, weighted by is_real_example); `loss` is
  Estimator's mean of the per-batch mean losses: each batch's loss excludes padding rows
  (model_fn), but a final short batch weighs as much as a full one, so `loss` differs from
  `eval_loss` unless every batch holds the same number of real examples.
  test_results.tsv   google-research/bert's format: one row per real test example, in input
                     order (also when prediction batched them sorted by length: see
                     real_predictions), tab-separated class probabilities (regression: the
                     prediction)
  predictions.jsonl  one JSON object per real example: guid, texts, gold label (when known),
                     predicted label name and per-class probabilities
  run_manifest.json  flags, package versions, data fingerprints, seed, git revision
  train_history.json training loss per global step, merged across resumed runs
"""
import datetime
import hashlib
import json
import math
import os
import platform
import subprocess
import sys

import numpy as np
import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.paths import PACKAGE_ROOT
from bert_tf1.runtime import atomic_io, io_errors

EVAL_RESULTS_TXT = "eval_results.txt"
EVAL_RESULTS_JSON = "eval_results.json"
TEST_RESULTS_TSV = "test_results.tsv"
PREDICTIONS_JSONL = "predictions.jsonl"
MANIFEST_JSON = "run_manifest.json"
TRAIN_HISTORY_JSON = "train_history.json"

#: Key of each record's 0-based position in the predict file, as the input pipeline adds it
#: (classifier.inputs, with_example_index) and predict mode passes it through, when the
#: examples were regrouped by length: real_predictions restores the file order from it.
EXAMPLE_INDEX = "example_index"


def _plain(value):
    """numpy scalars/arrays -> Python numbers/lists for JSON."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_safe(value):
    """`value` with numpy types made plain and NaN / infinity replaced by None (JSON null).

    Applied to everything written as JSON: json.dumps would write NaN, which is not JSON.
    """
    value = _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def dumps_json(value, **kwargs):
    """json.dumps of json_safe(value), refusing anything that would not be strict JSON."""
    return json.dumps(json_safe(value), allow_nan=False, **kwargs)


def format_eval_results(results):
    """google-research/bert's eval_results.txt text: 'key = value' per line, keys sorted.

    Google writes str() of Estimator's float32 results ('0.8455', '119.0'); floats are printed
    the same way here, so the file reads like Google's. eval_results.json keeps full precision.
    """
    def text(value):
        value = _plain(value)
        if isinstance(value, float):
            return str(np.float32(value))
        return str(value)

    return "".join("%s = %s\n" % (key, text(results[key])) for key in sorted(results))


def write_eval_results(output_dir, results, prefix="eval"):
    """Writes <prefix>_results.txt and <prefix>_results.json; returns their paths."""
    txt = os.path.join(output_dir, "%s_results.txt" % prefix)
    js = os.path.join(output_dir, "%s_results.json" % prefix)
    plain = {key: _plain(value) for key, value in results.items()}
    atomic_io.write_text_atomically(txt, format_eval_results(plain))
    atomic_io.write_text_atomically(js, dumps_json(plain, indent=2, sort_keys=True) + "\n")
    return txt, js


def real_predictions(predictions, num_examples):
    """Drops TPU padding rows, checks exactly one prediction per real example remains and puts
    the predictions in file order (see restore_file_order).

    Args:
      predictions: iterable of dicts from Estimator.predict (each with is_real_example; with
        EXAMPLE_INDEX too when the predict input was regrouped by length).
      num_examples: number of real examples that were fed, in order, before any padding.

    Returns:
      list of num_examples prediction dicts, in the order of the examples fed, without
      EXAMPLE_INDEX.
    """
    kept = [p for p in predictions if p.get("is_real_example", 1) > 0]
    if len(kept) != num_examples:
        raise BertTF1Error("prediction count mismatch: %d real predictions for %d examples"
                           % (len(kept), num_examples))
    return restore_file_order(kept)


def restore_file_order(predictions):
    """Predictions that carry EXAMPLE_INDEX, put back in file order, without that key.

    Predictions without the key are returned as they came (Estimator yields them in input
    order). With it, the indices must be exactly 0..N-1 once each: anything else means some
    example was predicted twice or never, and writing would misalign texts and predictions.

    Args:
      predictions: list of N prediction dicts, all with EXAMPLE_INDEX (an integer) or none.

    Returns:
      list of N dicts; element i is the prediction whose EXAMPLE_INDEX is i.

    >>> [p["label"] for p in restore_file_order([
    ...     {"label": "b", "example_index": 1}, {"label": "a", "example_index": 0}])]
    ['a', 'b']
    """
    carrying = sum(1 for p in predictions if EXAMPLE_INDEX in p)
    if not carrying:
        return list(predictions)
    count = len(predictions)
    if carrying != count:
        raise BertTF1Error("%d of %d predictions carry %s: expected all or none"
                           % (carrying, count, EXAMPLE_INDEX))
    ordered = [None] * count
    outside, repeated = [], []
    for prediction in predictions:
        index = int(prediction[EXAMPLE_INDEX])
        if not 0 <= index < count:
            outside.append(index)
        elif ordered[index] is not None:
            repeated.append(index)
        else:
            ordered[index] = {key: value for key, value in prediction.items()
                              if key != EXAMPLE_INDEX}
    if outside or repeated:
        missing = [index for index, prediction in enumerate(ordered) if prediction is None]
        raise BertTF1Error(
            "%s of the %d predictions should be 0..%d once each, found %s; missing %s: the "
            "predict input yielded some example twice or never" % (
                EXAMPLE_INDEX, count, count - 1, "; ".join(
                    "%s %s" % (what, _first(values)) for what, values in
                    (("out of range", outside), ("repeated", repeated)) if values),
                _first(missing)))
    return ordered


def _first(values, shown=5):
    """The first `shown` values as text, with how many more there are."""
    text = ", ".join(str(value) for value in values[:shown])
    return text + (" (+%d more)" % (len(values) - shown) if len(values) > shown else "")


def write_predictions(output_dir, examples, predictions, label_list, is_regression=False):
    """Writes test_results.tsv (Google's format) and predictions.jsonl; returns their paths.

    Args:
      output_dir: directory (local, gs://, s3://).
      examples: the real InputExamples, in the order they were fed.
      predictions: the matching prediction dicts (see real_predictions).
      label_list: class names, index = label id (ignored for regression).
    """
    if len(examples) != len(predictions):
        raise BertTF1Error("%d predictions for %d examples" % (len(predictions), len(examples)))
    tsv_rows, json_rows = [], []
    for example, prediction in zip(examples, predictions):
        row = {"guid": example.guid, "text_a": example.text_a}
        if example.text_b is not None:
            row["text_b"] = example.text_b
        if example.label is not None:
            row["label"] = example.label
        if is_regression:
            value = float(prediction["predictions"])
            tsv_rows.append("%s\n" % value)
            row["prediction"] = value
        else:
            probabilities = [float(p) for p in prediction["probabilities"]]
            tsv_rows.append("\t".join(str(p) for p in probabilities) + "\n")
            row["predicted_label"] = label_list[int(np.argmax(probabilities))]
            row["probabilities"] = dict(zip(label_list, probabilities))
        json_rows.append(dumps_json(row, ensure_ascii=False, sort_keys=True) + "\n")
    tsv_path = os.path.join(output_dir, TEST_RESULTS_TSV)
    jsonl_path = os.path.join(output_dir, PREDICTIONS_JSONL)
    atomic_io.write_text_atomically(tsv_path, "".join(tsv_rows))
    atomic_io.write_text_atomically(jsonl_path, "".join(json_rows))
    return tsv_path, jsonl_path


def read_predictions(output_dir):
    """The rows of output_dir's predictions.jsonl (list of dicts, in file order); [] when the
    run did not predict.

    Raises:
      BertTF1Error naming the file and line of a line that is not a JSON object, or the path
      of an I/O fault (permission, remote store down: runtime.io_errors).
    """
    path = os.path.join(output_dir, PREDICTIONS_JSONL)
    if not _translated(tf.io.gfile.exists, path):
        return []
    rows = []
    # split("\n"), not splitlines(): texts may hold U+2028 and the like (ensure_ascii=False).
    lines = _read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except ValueError as error:
            raise BertTF1Error("%s:%d: not valid JSON (%s)" % (path, number, error))
        if not isinstance(row, dict):
            raise BertTF1Error("%s:%d: expected a JSON object per line, found %s"
                               % (path, number, type(row).__name__))
        rows.append(row)
    return rows


def _translated(function, path):
    """function(path), with an I/O fault (EACCES, ENOSPC, store down...) as one BertTF1Error
    naming the path (runtime.io_errors); other errors pass through."""
    try:
        return function(path)
    except (OSError, tf.errors.OpError) as error:
        reported = io_errors.user_error(error)
        if reported is None:
            raise
        raise reported from error


def _read_text(path):
    def read(name):
        with tf.io.gfile.GFile(name, "r") as handle:
            return handle.read()
    return _translated(read, path)


def fingerprint_path(path):
    """sha256 of a file, or of a directory's (relative path, sha256) pairs, for the manifest.

    Local paths are read with the os module: through tf.io.gfile, fingerprinting aclImdb's
    25,000 training files took 34 s of start-up on 2 cores (per-file GFile overhead, not
    hashing); the digest is the same either way.
    """
    local = "://" not in path
    opener = open if local else tf.io.gfile.GFile
    walk = os.walk if local else tf.io.gfile.walk
    isdir = os.path.isdir if local else tf.io.gfile.isdir

    def file_digest(name):
        digest = hashlib.sha256()
        with opener(name, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    if not isdir(path):
        return {"path": path, "sha256": file_digest(path), "files": 1}
    combined, count = hashlib.sha256(), 0
    for root, _, files in sorted(walk(path)):
        for name in sorted(files):
            full = os.path.join(root, name)
            combined.update(("%s\0%s\n" % (os.path.relpath(full, path), file_digest(full)))
                            .encode("utf-8"))
            count += 1
    return {"path": path, "sha256": combined.hexdigest(), "files": count}


def git_revision(directory):
    """The git commit of `directory` (with '+dirty' when modified), or None outside a checkout."""
    try:
        revision = subprocess.run(["git", "rev-parse", "HEAD"], cwd=directory,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  universal_newlines=True, timeout=10)
        if revision.returncode != 0:
            return None
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=directory, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, universal_newlines=True, timeout=10)
        return revision.stdout.strip() + ("+dirty" if status.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _metadata_version_function():
    """(version(name), NotFound): importlib.metadata (Python 3.8+) or its backport
    importlib_metadata, else pkg_resources.

    pkg_resources scans every installed distribution when it is imported: 0.2-0.4 s of every
    run's start-up after TensorFlow (issue 11); the metadata readers look up only the names
    asked for, and give the same versions.
    """
    try:
        from importlib import metadata  # Python 3.8+
    except ImportError:
        try:
            import importlib_metadata as metadata  # its backport (tqdm needs it on 3.7)
        except ImportError:
            metadata = None
    if metadata is not None:
        return metadata.version, metadata.PackageNotFoundError
    import pkg_resources  # the slow last resort, only without either of the above

    return (lambda name: pkg_resources.get_distribution(name).version,
            pkg_resources.DistributionNotFound)


def package_versions(names=("tensorflow", "tensorflow-estimator", "tensorflow-hub",
                            "bert-tensorflow", "numpy", "scikit-learn", "bert_tf1")):
    """{distribution name: installed version, or None when it is not installed}."""
    version, not_found = _metadata_version_function()
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except not_found:
            versions[name] = None
    return versions


def build_manifest(flags, data_paths=(), seed=None, extra=None):
    """The run manifest: what ran, on what, with which code and data."""
    manifest = {
        "created_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": [os.path.basename(sys.argv[0])] + sys.argv[1:],
        "flags": {key: _plain(value) for key, value in sorted(flags.items())},
        "seed": seed,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_revision": git_revision(PACKAGE_ROOT),
        "data": [fingerprint_path(path) for path in data_paths],
    }
    if extra:
        manifest.update(extra)
    return manifest


def read_manifest(output_dir):
    """The run manifest (dict) that write_manifest left in `output_dir`, or None when there is
    none; BertTF1Error naming the file when it is not valid JSON."""
    path = os.path.join(output_dir, MANIFEST_JSON)
    if not _translated(tf.io.gfile.exists, path):
        return None
    text = _read_text(path)
    try:
        return json.loads(text)
    except ValueError as error:
        raise BertTF1Error("%s: not valid JSON (%s)" % (path, error))


def write_manifest(output_dir, manifest):
    path = os.path.join(output_dir, MANIFEST_JSON)
    atomic_io.write_text_atomically(path, dumps_json(manifest, indent=2, sort_keys=True) + "\n")
    return path


def write_train_history(output_dir, history):
    """Merges (global_step, loss) pairs into train_history.json; returns its path.

    Estimator on CPU writes no per-step loss summary, and a resumed run only sees its own steps,
    so the pairs of earlier runs in the same output_dir are kept (a step seen again is replaced).
    A non-finite loss is written as null.
    """

    path = os.path.join(output_dir, TRAIN_HISTORY_JSON)
    merged = {}
    if _translated(tf.io.gfile.exists, path):
        text = _read_text(path)
        try:
            merged = {int(step): loss for step, loss in json.loads(text)["loss"]}
        except (ValueError, KeyError, TypeError) as error:
            raise BertTF1Error("%s: expected {\"loss\": [[step, loss], ...]} (%s: %s); move it "
                               "aside to start a new history" % (path, type(error).__name__,
                                                                 error))
    merged.update((int(step), float(loss)) for step, loss in history)
    # A diverged step's NaN loss is written as null (strict JSON), not dropped.
    text = dumps_json({"loss": [[step, merged[step]] for step in sorted(merged)]}) + "\n"
    atomic_io.write_text_atomically(path, text)
    return path
