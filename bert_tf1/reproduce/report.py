"""Reproduction reports: measured metrics beside a recipe's reference numbers, plus plots.

Input is what run_classifier leaves in each variant's output_dir (run_manifest.json,
eval_results.json, predictions.jsonl on the evaluated examples, train_history.json); output is
report.md, report.json and PNG plots in one folder:
  loss.png                training loss per step, every variant: the line is train_history.json
                          (every step), the dots are the loss summaries of the TensorBoard event
                          files (Estimator writes one every save_summary_steps = 100 steps, too
                          few for a short run's curve; a run without history is drawn from them)
  confusion_<variant>.png confusion matrix on the evaluated examples
  roc.png                 ROC curves of every variant (binary tasks), AUC in the legend
The figures are recomputed from predictions.jsonl with scikit-learn, so the plots do not depend on
the in-graph metrics they are meant to check.
"""
import io
import json
import math
import os
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from sklearn import metrics as sk

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import atomic_io, outputs

REPORT_MD = "report.md"
REPORT_JSON = "report.json"

# Metrics shown for every classification run, referenced or not (when the run has them).
_HEADLINE = ("eval_accuracy", "f1", "auc", "precision", "recall", "macro_f1", "mcc", "pearson",
             "spearman", "eval_loss")


def _gfile():
    return tf.io.gfile


def _read_json(path, what):
    if not _gfile().exists(path):
        raise BertTF1Error("%s: missing %s (did the run finish?)" % (path, what))
    with _gfile().GFile(path, "r") as handle:
        try:
            return json.load(handle)
        except ValueError as error:
            raise BertTF1Error("%s: not valid JSON (%s)" % (path, error))


def read_run(run_dir, variant):
    """Collects one finished run's outputs into a plain dict.

    Returns:
      dict with variant, run_dir, settings (the manifest's flags), eval_results, train_seconds,
      history ([step, loss] pairs, possibly empty) and predictions (list of predictions.jsonl
      rows; empty when the run did not predict), event_losses ([step, loss] pairs from the
      event files, possibly empty).
    """
    manifest = _read_json(os.path.join(run_dir, outputs.MANIFEST_JSON), "run manifest")
    results = _read_json(os.path.join(run_dir, outputs.EVAL_RESULTS_JSON), "eval results")
    history_path = os.path.join(run_dir, outputs.TRAIN_HISTORY_JSON)
    history = _read_json(history_path, "history")["loss"] if _gfile().exists(history_path) else []
    history = [pair for pair in history if pair[1] is not None]  # null: a non-finite loss
    predictions = outputs.read_predictions(run_dir)
    return {"variant": variant, "run_dir": run_dir, "settings": manifest.get("flags", {}),
            "eval_results": results, "train_seconds": manifest.get("train_seconds"),
            "history": history, "event_losses": event_file_losses(run_dir),
            "predictions": predictions,
            "labels": (manifest.get("task_spec") or {}).get("labels")}


# Estimator's loss summary; TPUEstimator's tag is "loss_1" when its graph holds a second "loss".
_LOSS_TAG = re.compile(r"^loss(_\d+)?$")


def event_file_losses(run_dir):
    """[step, loss] pairs of the training loss summaries in run_dir's event files (not eval/).

    Returns:
      sorted list of [int, float]; empty when there are no event files or no loss summaries.
    """

    pairs = {}
    for path in sorted(_gfile().glob(os.path.join(run_dir, "events.out.tfevents.*"))):
        try:
            for event in tf.compat.v1.train.summary_iterator(path):
                for value in event.summary.value:
                    if _LOSS_TAG.match(value.tag) and value.HasField("simple_value"):
                        pairs[int(event.step)] = float(value.simple_value)
        except tf.errors.DataLossError:
            continue  # a file still being written by a live run ends mid-record
    return [[step, pairs[step]] for step in sorted(pairs)]


def metric_value(results, metric):
    """A metric from eval results; error_rate (Sun et al.'s figure) is 1 - eval_accuracy."""
    if metric == "error_rate" and "eval_accuracy" in results:
        return 1.0 - results["eval_accuracy"]
    value = results.get(metric)
    return None if value is None else float(value)


def comparison_rows(references, runs):
    """One row per reference number, then the headline metrics no reference covers.

    Returns:
      list of dicts: metric, reference (number or None), model, source, note, measured
      ({variant: value or None}).
    """
    rows = []
    for reference in references:
        rows.append({"metric": reference["metric"], "reference": reference["value"],
                     "model": reference["model"], "source": reference["source"],
                     "note": reference.get("note", ""),
                     "measured": {run["variant"]: metric_value(run["eval_results"],
                                                               reference["metric"])
                                  for run in runs}})
    covered = {reference["metric"] for reference in references}
    for metric in _HEADLINE:
        if metric in covered or not any(metric in run["eval_results"] for run in runs):
            continue
        rows.append({"metric": metric, "reference": None, "model": "", "source": "", "note": "",
                     "measured": {run["variant"]: metric_value(run["eval_results"], metric)
                                  for run in runs}})
    return rows


def format_value(value):
    """A table cell: 4 decimals, integers as such, "—" for None/NaN (shared with run_report)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return "%.4f" % value
    return "%d" % value if isinstance(value, (int, float)) else str(value)


def format_seconds(value):
    """Whole seconds, or "—"."""
    return "—" if value is None else "%.0f" % value


def prediction_arrays(run):
    """(gold label ids [n], class probabilities [n, num_labels], label names) of the labelled
    classification predictions of `run` (a dict with "labels" and "predictions"), or None."""
    labels = run["labels"]
    if not isinstance(labels, list):
        return None
    rows = [row for row in run["predictions"]
            if row.get("label") in labels and "probabilities" in row]
    if not rows:
        return None
    gold = np.array([labels.index(row["label"]) for row in rows])
    probabilities = np.array([[row["probabilities"][name] for name in labels] for row in rows])
    return gold, probabilities, labels


def recomputed_metrics(run):
    """Accuracy (and ROC AUC for two classes) recomputed with scikit-learn from predictions."""

    arrays = prediction_arrays(run)
    if arrays is None:
        return {}
    gold, probabilities, labels = arrays
    values = {"examples": int(len(gold)),
              "accuracy": float(sk.accuracy_score(gold, probabilities.argmax(axis=1)))}
    if len(labels) == 2 and len(set(gold)) == 2:
        values["auc"] = float(sk.roc_auc_score(gold, probabilities[:, 1]))
    return values


def save_figure(figure, path):
    """Writes a matplotlib figure as PNG to `path` (local, gs://, s3://) atomically; closes it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    with atomic_io.replaced_on_success(path) as temporary:
        with _gfile().GFile(temporary, "wb") as handle:
            handle.write(buffer.getvalue())
    return path


def pyplot():
    """matplotlib.pyplot on the Agg backend."""
    matplotlib.use("Agg")  # no display on servers and CI

    return plt


def plot_loss_curves(runs, path):
    """Training loss per step for every run with a history or event-file losses; returns path
    or None."""
    runs = [run for run in runs if run["history"] or run.get("event_losses")]
    if not runs:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 3.8))
    for run in runs:
        color = None
        if run["history"]:
            steps, losses = zip(*sorted(run["history"]))
            axes.plot(steps, losses, alpha=0.35, linewidth=0.8)
            color = axes.lines[-1].get_color()
            window = max(1, len(losses) // 20)
            smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
            # A window of 1 is the raw curve: "mean of 1" only puzzled readers.
            axes.plot(steps[window - 1:], smooth, color=color, linewidth=1.8,
                      label=run["variant"] if window == 1 else "%s (running mean of %d steps)"
                      % (run["variant"], window))
        if run.get("event_losses"):
            steps, losses = zip(*run["event_losses"])
            axes.plot(steps, losses, "o", color=color, markersize=4,
                      label="%s (event files)" % run["variant"])
    axes.set_xlabel("global step")
    axes.set_ylabel("training loss")
    axes.set_title("Training loss")
    axes.legend()
    return save_figure(figure, path)


def plot_confusion_matrix(run, path):
    """Confusion matrix (rows gold, columns predicted) of one run; returns path or None."""

    arrays = prediction_arrays(run)
    if arrays is None:
        return None
    gold, probabilities, labels = arrays
    matrix = sk.confusion_matrix(gold, probabilities.argmax(axis=1), labels=range(len(labels)))
    return draw_confusion_matrix(matrix, labels, "Confusion matrix: %s" % run["variant"], path)


def draw_confusion_matrix(matrix, labels, title, path):
    """Draws a confusion matrix (rows gold, columns predicted) into a PNG; returns path.

    Readable up to ~20 classes: the figure grows with the classes, x labels are rotated (5
    names side by side overlapped), and cells are shaded by their share of the gold row so a
    small class's errors show as clearly as a large one's.
    """
    matrix = np.asarray(matrix, dtype=float)
    n = len(labels)
    plt = pyplot()
    size = 2.8 + 0.42 * n
    font = 9 if n <= 10 else 7
    figure, axes = plt.subplots(figsize=(size + 1.0, size))
    rows = matrix.sum(axis=1, keepdims=True)
    shares = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            axes.text(j, i, "%d" % matrix[i, j], ha="center", va="center", fontsize=font,
                      color="white" if shares[i, j] > 0.5 else "black")
    axes.set_xticks(range(n))
    axes.set_yticks(range(n))
    axes.set_xticklabels(labels, rotation=45, ha="right", rotation_mode="anchor",
                         fontsize=font)
    axes.set_yticklabels(labels, fontsize=font)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the gold row")
    return save_figure(figure, path)


def plot_roc(runs, path):
    """ROC curves (class-1 probability) of the binary runs; returns path or None."""

    curves = []
    for run in runs:
        arrays = prediction_arrays(run)
        if arrays is None or len(arrays[2]) != 2 or len(set(arrays[0])) < 2:
            continue
        gold, probabilities, _ = arrays
        fpr, tpr, _ = sk.roc_curve(gold, probabilities[:, 1])
        curves.append((run["variant"], fpr, tpr, sk.auc(fpr, tpr)))
    if not curves:
        return None
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(4.8, 4.8))
    for variant, fpr, tpr, area in curves:
        axes.plot(fpr, tpr, label="%s (AUC %.4f)" % (variant, area))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
    axes.set_xlabel("false positive rate")
    axes.set_ylabel("true positive rate")
    axes.set_title("ROC")
    axes.legend(loc="lower right")
    return save_figure(figure, path)


def _settings_line(settings, names):
    return ", ".join("%s=%s" % (name, settings[name]) for name in names if name in settings)


_SHOWN_SETTINGS = ("task_name", "train_examples", "eval_split", "eval_examples",
                   "max_seq_length", "train_batch_size", "learning_rate", "num_train_epochs",
                   "warmup_proportion", "head", "truncation", "seed", "deterministic")


def render_markdown(report):
    """report (see build_report) -> Markdown text."""
    recipe = report["recipe"]
    variants = [run["variant"] for run in report["runs"]]
    lines = ["# Reproduction report: %s" % report["recipe_label"], "",
             recipe["title"], ""]
    if report.get("model"):
        lines += ["Model: %s" % report["model"], ""]
    lines += ["## Measured beside the reference numbers", "",
              "| metric | %s | reference | reference model | source |" % " | ".join(variants),
              "|---|%s|---|---|---|" % "|".join("---" for _ in variants)]
    for row in report["rows"]:
        measured = " | ".join(format_value(row["measured"][v]) for v in variants)
        source = row["source"] + (" (%s)" % row["note"] if row["note"] else "")
        lines.append("| %s | %s | %s | %s | %s |" % (row["metric"], measured,
                                                     format_value(row["reference"]), row["model"],
                                                     source))
    lines += ["", "## Runs", "",
              "| variant | train seconds | examples evaluated | accuracy (sklearn, from "
              "predictions) | settings |", "|---|---|---|---|---|"]
    for run in report["runs"]:
        check = run["recomputed"]
        lines.append("| %s | %s | %s | %s | %s |" % (
            run["variant"], format_seconds(run["train_seconds"]),
            format_value(check.get("examples")), format_value(check.get("accuracy")),
            _settings_line(run["settings"], _SHOWN_SETTINGS)))
    if report["overrides"]:
        lines += ["", "Deviations from the recipe (given on the command line): %s" % ", ".join(
            "%s=%s" % item for item in sorted(report["overrides"].items()))]
    if report["plots"]:
        lines += ["", "## Plots", ""]
        lines += ["![%s](%s)" % (name, os.path.basename(path))
                  for name, path in sorted(report["plots"].items())]
    if recipe.get("notes"):
        lines += ["", "## Notes", "", recipe["notes"]]
    lines += ["", "Environment: %s" % report["environment"], ""]
    return "\n".join(lines)


def build_report(recipe, runs, report_dir, overrides=None, environment="", model=""):
    """Writes report.md, report.json and the plots for `runs` of `recipe` into report_dir.

    Args:
      recipe: a bert_tf1.reproduce.recipes.Recipe.
      runs: list of dicts from read_run, one per variant, in report order.
      report_dir: folder (local, gs://, s3://); created when missing.
      overrides: settings given on the command line that deviate from the recipe.
      environment: one line describing the machine/software (goes into the report).
      model: what was fine-tuned (e.g. the hub module path).

    Returns:
      the report dict (also written as report.json).
    """
    _gfile().makedirs(report_dir)
    plots = {}
    path = plot_loss_curves(runs, os.path.join(report_dir, "loss.png"))
    if path:
        plots["loss"] = path
    path = plot_roc(runs, os.path.join(report_dir, "roc.png"))
    if path:
        plots["roc"] = path
    for run in runs:
        name = "confusion_%s" % file_safe(run["variant"])
        path = plot_confusion_matrix(run, os.path.join(report_dir, name + ".png"))
        if path:
            plots[name] = path
    report = {
        "recipe_label": "%s@v%s" % (recipe.name, recipe.version),
        "recipe": recipe.to_dict(), "model": model, "overrides": dict(overrides or {}),
        "environment": environment, "plots": plots,
        "rows": comparison_rows(recipe.references, runs),
        "runs": [{"variant": run["variant"], "run_dir": run["run_dir"],
                  "settings": run["settings"], "eval_results": run["eval_results"],
                  "train_seconds": run["train_seconds"], "recomputed": recomputed_metrics(run)}
                 for run in runs],
    }
    atomic_io.write_text_atomically(os.path.join(report_dir, REPORT_JSON),
                                    json.dumps(report, indent=2, sort_keys=True) + "\n")
    atomic_io.write_text_atomically(os.path.join(report_dir, REPORT_MD), render_markdown(report))
    return report


def file_safe(name):
    """`name` with every character but letters, digits, - and _ replaced by _ (file names)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
