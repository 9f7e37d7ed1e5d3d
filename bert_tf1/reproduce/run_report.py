"""The report of any finished run (bert-tf1-report), not only of recipes.

Reads what run_classifier leaves in an output_dir: run_manifest.json (required), eval_results.json,
train_history.json (and the TensorBoard event files), predictions.jsonl and data_summary.json.
Writes report.md, report.html, report.json and PNG plots into one folder:

  loss.png              training loss per step, every run (see reproduce.report.plot_loss_curves)
  confusion_RUN.png     confusion matrix: from predictions.jsonl when the predicted split has gold
                        labels, else from the eval results' counts
  roc_RUN.png, pr_RUN.png
                        ROC and precision-recall curves from the predicted probabilities (binary:
                        class 1; more classes: one curve per class, one-vs-rest); need labelled
                        predictions
  labels_RUN.png        examples per class in each split (data_summary.json) and predicted
  lengths_RUN.png       WordPiece lengths per split with the max_seq_length cut (truncated share)

Several runs give one comparison table (metrics as rows, runs as columns, plus the settings that
differ) and, for two-class runs, roc.png with every run's ROC curve. Metrics and curves are
recomputed with scikit-learn from predictions.jsonl, so the plots do not depend on the in-graph
metrics.
"""
import html
import json
import os

import numpy as np
import tensorflow as tf
from sklearn import metrics as sk

from bert_tf1.classifier import data_summary, results_table
from bert_tf1.errors import BertTF1Error
from bert_tf1.reproduce import report as plots
from bert_tf1.runtime import atomic_io, outputs

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
REPORT_JSON = "report.json"
# Settings shown for each run (and, with several runs, those that differ).
SHOWN_SETTINGS = ("task_name", "data_dir", "bert_hub_module_handle", "init_checkpoint",
                  "max_seq_length", "train_batch_size", "learning_rate", "num_train_epochs",
                  "train_examples", "eval_split", "eval_examples", "predict_split", "head",
                  "truncation", "seed")


def _read_json(path):
    with tf.io.gfile.GFile(path, "r") as handle:
        try:
            return json.loads(handle.read())
        except ValueError as error:
            raise BertTF1Error("%s: not valid JSON (%s)" % (path, error))


def _optional_json(path):
    return _read_json(path) if tf.io.gfile.exists(path) else None


def read_finished_run(run_dir, name=None):
    """One run's outputs as a plain dict (keys as reproduce.report.read_run's, plus manifest,
    status, data_summary; eval_results is {} when the run did not evaluate).

    Raises:
      BertTF1Error when run_dir holds no run_manifest.json (not a run_classifier output_dir).
    """
    manifest_path = os.path.join(run_dir, outputs.MANIFEST_JSON)
    if not tf.io.gfile.exists(manifest_path):
        raise BertTF1Error("%s: no %s, so this is not the output_dir of a run_classifier run "
                           "(give the --output_dir the run was started with)"
                           % (run_dir, outputs.MANIFEST_JSON))
    manifest = _read_json(manifest_path)
    history = (_optional_json(os.path.join(run_dir, outputs.TRAIN_HISTORY_JSON)) or {})
    predictions = outputs.read_predictions(run_dir)
    return {
        "variant": name or os.path.basename(os.path.normpath(run_dir)), "run_dir": run_dir,
        "manifest": manifest, "status": manifest.get("status"),
        "settings": manifest.get("flags", {}),
        "labels": (manifest.get("task_spec") or {}).get("labels"),
        "eval_results": _optional_json(os.path.join(run_dir, outputs.EVAL_RESULTS_JSON)) or {},
        "train_seconds": manifest.get("train_seconds"),
        "history": [pair for pair in history.get("loss", []) if pair[1] is not None],
        "event_losses": plots.event_file_losses(run_dir),
        "predictions": predictions,
        "data_summary": _optional_json(os.path.join(run_dir, data_summary.DATA_SUMMARY_JSON)),
    }


def recomputed(run):
    """Accuracy, macro F1 and (binary) ROC AUC from labelled predictions, with scikit-learn."""
    arrays = plots.prediction_arrays(run)
    if arrays is None:
        return {}
    gold, probabilities, labels = arrays
    predicted = probabilities.argmax(axis=1)
    values = {"examples": int(len(gold)), "accuracy": float(sk.accuracy_score(gold, predicted)),
              "macro_f1": float(sk.f1_score(gold, predicted, average="macro"))}
    if len(labels) == 2 and len(set(gold)) == 2:
        values["auc"] = float(sk.roc_auc_score(gold, probabilities[:, 1]))
    return values


def _curves(gold, probabilities, labels, kind):
    """[(name, x, y, area)] for ROC or PR: class 1 for two classes, else one-vs-rest."""
    classes = [1] if len(labels) == 2 else range(len(labels))
    found = []
    for k in classes:
        truth = (gold == k).astype(int)
        if truth.min() == truth.max():
            continue  # a class absent (or alone) in the predicted split has no curve
        scores = probabilities[:, k]
        if kind == "roc":
            x, y, _ = sk.roc_curve(truth, scores)
            area = sk.auc(x, y)
        else:
            precision, recall, _ = sk.precision_recall_curve(truth, scores)
            x, y = recall, precision
            area = sk.average_precision_score(truth, scores)
        found.append((labels[k], x, y, area))
    return found


def plot_curves(run, kind, path):
    """ROC (kind "roc") or precision-recall ("pr") curves of one run; returns path or None."""
    arrays = plots.prediction_arrays(run)
    if arrays is None:
        return None
    curves = _curves(*arrays, kind=kind)
    if not curves:
        return None
    plt = plots.pyplot()
    many = len(curves) > 1
    figure, axes = plt.subplots(figsize=(7.6 if many else 4.8, 4.8))
    colors = plt.get_cmap("tab20")
    for index, (name, x, y, area) in enumerate(curves):
        label = "%s (%s %.3f)" % (name, "AUC" if kind == "roc" else "AP", area)
        axes.plot(x, y, linewidth=1.2, label=label,
                  color=colors(index % 20) if many else None,
                  drawstyle="steps-post" if kind == "pr" else "default")
    if kind == "roc":
        axes.plot([0, 1], [0, 1], linestyle=":", color="grey")
        axes.set_xlabel("false positive rate")
        axes.set_ylabel("true positive rate")
    else:
        axes.set_xlabel("recall")
        axes.set_ylabel("precision")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    what = "ROC" if kind == "roc" else "Precision-recall"
    axes.set_title("%s: %s%s" % (what, run["variant"], ", one-vs-rest" if many else ""))
    if many:  # up to 20 entries: beside the plot, not over the curves
        axes.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7)
    else:
        axes.legend(loc="lower right" if kind == "roc" else "lower left")
    return plots.save_figure(figure, path)


def plot_confusion(run, path):
    """Confusion matrix from labelled predictions, else from the eval counts; path or None."""
    arrays = plots.prediction_arrays(run)
    split = run["settings"].get("predict_split", "predicted")
    if arrays is not None:
        gold, probabilities, labels = arrays
        matrix = sk.confusion_matrix(gold, probabilities.argmax(axis=1),
                                     labels=range(len(labels)))
        title = "Confusion matrix: %s (%s split)" % (run["variant"], split)
    else:
        labels = run["labels"] if isinstance(run["labels"], list) else None
        matrix = results_table.confusion_matrix(run["eval_results"], labels)
        if matrix is None:
            return None
        title = "Confusion matrix: %s (%s split)" % (
            run["variant"], run["settings"].get("eval_split", "eval"))
    return plots.draw_confusion_matrix(matrix, labels, title, path)


_PART_NAMES = {"train": "train", "eval": "eval", "predict": "predict"}


def plot_label_histogram(run, path):
    """Examples per class in each split, and predicted; horizontal bars (20 names stay
    readable); returns path or None."""
    labels = run["labels"] if isinstance(run["labels"], list) else None
    summary = run["data_summary"] or {}
    series = []
    for part, split in (summary.get("splits") or {}).items():
        if split.get("classes"):
            series.append((_PART_NAMES.get(part, part), split["classes"]))
    predicted = [row["predicted_label"] for row in run["predictions"] if "predicted_label" in row]
    if predicted:
        series.append(("predicted", {name: predicted.count(name) for name in set(predicted)}))
    if not series:
        return None
    names = labels or sorted({name for _, counts in series for name in counts})
    plt = plots.pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 1.4 + 0.3 * len(names) * max(1, len(series)) / 2))
    height = 0.8 / len(series)
    positions = np.arange(len(names))
    for index, (title, counts) in enumerate(series):
        axes.barh(positions + index * height, [counts.get(name, 0) for name in names],
                  height=height, label=title)
    axes.set_yticks(positions + height * (len(series) - 1) / 2)
    axes.set_yticklabels(names, fontsize=8 if len(names) <= 10 else 7)
    axes.invert_yaxis()
    axes.set_xlabel("examples")
    axes.set_title("Examples per class: %s" % run["variant"])
    axes.legend(fontsize=8)
    return plots.save_figure(figure, path)


def plot_length_histogram(run, path):
    """WordPiece lengths per split with the max_seq_length cut; returns path or None."""
    summary = run["data_summary"] or {}
    splits = [(part, split) for part, split in (summary.get("splits") or {}).items()
              if split.get("token_lengths")]
    if not splits:
        return None
    max_len = summary["max_seq_length"]
    plt = plots.pyplot()
    figure, axes = plt.subplots(figsize=(6.4, 3.8))
    top = max(max(split["token_lengths"]) for _, split in splits)
    bins = np.linspace(0, max(top, max_len) + 1, 41)
    for part, split in splits:
        axes.hist(split["token_lengths"], bins=bins, alpha=0.5,
                  label="%s (%.0f%% truncated)" % (_PART_NAMES.get(part, part),
                                                   100 * split["truncated"]))
    axes.axvline(max_len, color="black", linestyle="--", linewidth=1)
    axes.text(max_len, axes.get_ylim()[1] * 0.95, " max_seq_length %d" % max_len, fontsize=8,
              va="top")
    axes.set_xlabel("WordPieces per example with [CLS]/[SEP] (before truncation)")
    axes.set_ylabel("examples")
    axes.set_title("Lengths: %s" % run["variant"])
    axes.legend(fontsize=8)
    return plots.save_figure(figure, path)


def _metric_rows(runs):
    keys = [key for key in results_table.KEY_METRICS
            if any(key in run["eval_results"] for run in runs)]
    rows = [[key] + [plots.format_value(run["eval_results"].get(key)) for run in runs]
            for key in keys]
    for key in ("accuracy", "macro_f1", "auc"):
        if any(key in run["recomputed"] for run in runs):
            rows.append(["%s (sklearn, predictions)" % key] +
                        [plots.format_value(run["recomputed"].get(key)) for run in runs])
    rows.append(["train seconds"] + [plots.format_seconds(run["train_seconds"])
                                     for run in runs])
    return rows


def _setting_rows(runs):
    rows = []
    for name in SHOWN_SETTINGS:
        values = [run["settings"].get(name) for run in runs]
        if all(value in (None, "", 0) for value in values):
            continue
        if len(runs) > 1 and len(set(map(str, values))) == 1:
            continue  # a comparison shows what differs
        rows.append([name] + ["" if value is None else str(value) for value in values])
    return rows


def _markdown_table(header, rows):
    lines = ["| %s |" % " | ".join(header), "|%s|" % "|".join("---" for _ in header)]
    lines += ["| %s |" % " | ".join(cell.replace("|", "\\|") for cell in row) for row in rows]
    return lines


def _html_table(header, rows):
    cells = "".join("<th>%s</th>" % html.escape(cell) for cell in header)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(cell) for cell in row)
                   for row in rows)
    return "<table><tr>%s</tr>%s</table>" % (cells, body)


def render(report, markdown=True):
    """report (see build_run_report) -> Markdown or HTML text."""
    runs = report["runs"]
    names = [run["variant"] for run in runs]
    title = ("Run report: %s" % names[0]) if len(runs) == 1 else \
        "Comparison of %d runs" % len(runs)
    sections = [("Metrics", ["metric"] + names, report["metric_rows"])]
    if report["setting_rows"]:
        sections.append(("Settings" if len(runs) == 1 else "Settings that differ",
                         ["setting"] + names, report["setting_rows"]))
    texts = []
    for run in runs:
        if run["results_table"]:
            texts.append(("Results: %s" % run["variant"], run["results_table"]))
        if run["data_summary_text"]:
            texts.append(("Data: %s" % run["variant"], run["data_summary_text"]))
    if markdown:
        lines = ["# " + title, ""]
        for run in runs:
            lines.append("- %s: `%s` (status %s)" % (run["variant"], run["run_dir"],
                                                     run["status"]))
        for heading, header, rows in sections:
            lines += ["", "## " + heading, ""] + _markdown_table(header, rows)
        for heading, text in texts:
            lines += ["", "## " + heading, "", "```text", text, "```"]
        if report["notes"]:
            lines += ["", "## Notes", ""] + ["- " + note for note in report["notes"]]
        if report["plots"]:
            lines += ["", "## Plots", ""]
            lines += ["![%s](%s)" % (name, os.path.basename(path))
                      for name, path in sorted(report["plots"].items())]
        return "\n".join(lines) + "\n"
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>%s</title><style>"
             "body{font-family:sans-serif;max-width:1100px;margin:auto}td,th{border:1px solid "
             "#ccc;padding:2px 8px;text-align:right}td:first-child{text-align:left}"
             "table{border-collapse:collapse}img{max-width:100%%}</style></head><body>"
             % html.escape(title), "<h1>%s</h1><ul>%s</ul>" % (html.escape(title), "".join(
                 "<li>%s: <code>%s</code> (status %s)</li>" % (
                     html.escape(run["variant"]), html.escape(run["run_dir"]),
                     html.escape(str(run["status"]))) for run in runs))]
    for heading, header, rows in sections:
        parts.append("<h2>%s</h2>%s" % (html.escape(heading), _html_table(header, rows)))
    for heading, text in texts:
        parts.append("<h2>%s</h2><pre>%s</pre>" % (html.escape(heading), html.escape(text)))
    if report["notes"]:
        parts.append("<h2>Notes</h2><ul>%s</ul>" % "".join(
            "<li>%s</li>" % html.escape(note) for note in report["notes"]))
    for name, path in sorted(report["plots"].items()):
        parts.append("<h3>%s</h3><img src='%s' alt='%s'>" % (
            html.escape(name), html.escape(os.path.basename(path)), html.escape(name)))
    return "".join(parts) + "</body></html>\n"


def _unique_names(run_dirs):
    """Short distinct run names: the folder names, or the last two path parts when they clash."""
    names = [os.path.basename(os.path.normpath(d)) for d in run_dirs]
    if len(set(names)) < len(names):
        names = [os.path.join(*os.path.normpath(d).split(os.sep)[-2:]).replace(os.sep, "_")
                 for d in run_dirs]
    if len(set(names)) < len(names):
        names = ["run%d_%s" % (k + 1, name) for k, name in enumerate(names)]
    return names


def default_report_dir(run_dirs):
    """RUN/report for one run; for several, report_<names> beside the first run."""
    if len(run_dirs) == 1:
        return os.path.join(run_dirs[0], "report")
    parent = os.path.dirname(os.path.normpath(run_dirs[0]))
    return os.path.join(parent, "report_" + "_vs_".join(
        plots.file_safe(name) for name in _unique_names(run_dirs))[:120])


def build_run_report(run_dirs, report_dir=None):
    """Writes report.md, report.html, report.json and the PNG plots for finished runs.

    Args:
      run_dirs: output_dirs of run_classifier runs (one, or several to compare).
      report_dir: where to write (default: default_report_dir(run_dirs)); created if missing.

    Returns:
      the report dict (also written as report.json): runs, metric_rows, setting_rows, plots
      ({name: path}), notes, report_dir.
    """
    if not run_dirs:
        raise BertTF1Error("give at least one run directory")
    report_dir = report_dir or default_report_dir(run_dirs)
    runs = [read_finished_run(d, name) for d, name in zip(run_dirs, _unique_names(run_dirs))]
    tf.io.gfile.makedirs(report_dir)
    notes = []
    plot_paths = {}
    path = plots.plot_loss_curves(runs, os.path.join(report_dir, "loss.png"))
    if path:
        plot_paths["loss"] = path
    if len(runs) > 1:  # binary runs side by side on one ROC plot
        path = plots.plot_roc(runs, os.path.join(report_dir, "roc.png"))
        if path:
            plot_paths["roc"] = path
    for run in runs:
        run["recomputed"] = recomputed(run)
        suffix = plots.file_safe(run["variant"])
        if run["status"] != "finished":
            notes.append("%s: status %r (an unfinished or failed run: its figures may be "
                         "partial)" % (run["variant"], run["status"]))
        drawn = {
            "confusion": plot_confusion(run, os.path.join(report_dir,
                                                          "confusion_%s.png" % suffix)),
            "roc": plot_curves(run, "roc", os.path.join(report_dir, "roc_%s.png" % suffix)),
            "pr": plot_curves(run, "pr", os.path.join(report_dir, "pr_%s.png" % suffix)),
            "labels": plot_label_histogram(run, os.path.join(report_dir,
                                                             "labels_%s.png" % suffix)),
            "lengths": plot_length_histogram(run, os.path.join(report_dir,
                                                               "lengths_%s.png" % suffix)),
        }
        for kind, found in drawn.items():
            if found:
                plot_paths["%s_%s" % (kind, suffix)] = found
        if not drawn["roc"] and isinstance(run["labels"], list):
            notes.append("%s: no ROC/PR curves: they need predictions.jsonl on a labelled split "
                         "(e.g. --do_predict --predict_split=dev)" % run["variant"])
        if not run["data_summary"]:
            notes.append("%s: no %s (a run of an older version): no label or length histogram"
                         % (run["variant"], data_summary.DATA_SUMMARY_JSON))
        labels = run["labels"] if isinstance(run["labels"], list) else None
        run["results_table"] = results_table.format_results_table(
            run["eval_results"], labels) if run["eval_results"] else ""
        run["data_summary_text"] = data_summary.format_summary(run["data_summary"]) \
            if run["data_summary"] else ""
    report = {"report_dir": report_dir, "plots": plot_paths, "notes": notes,
              "metric_rows": _metric_rows(runs), "setting_rows": _setting_rows(runs),
              "runs": [{key: run[key] for key in (
                  "variant", "run_dir", "status", "settings", "eval_results", "train_seconds",
                  "recomputed", "results_table", "data_summary_text")} for run in runs]}
    atomic_io.write_text_atomically(os.path.join(report_dir, REPORT_JSON),
                                    outputs.dumps_json(report, indent=2, sort_keys=True) + "\n")
    atomic_io.write_text_atomically(os.path.join(report_dir, REPORT_MD), render(report))
    atomic_io.write_text_atomically(os.path.join(report_dir, REPORT_HTML),
                                    render(report, markdown=False))
    return report
