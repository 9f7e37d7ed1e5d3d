"""The compact results table a classification run logs and prints at its end.

eval_results.txt/json keep every key (a 5-class run has 49, sorted alphabetically, per-class
figures and confusion cells interleaved); this table shows the key metrics, then per-class
precision/recall/F1 and the confusion matrix (rows gold, columns predicted) for up to
MAX_TABLE_CLASSES classes. The confusion matrix is read back from the metric keys
(true_positives... for two classes, confusion_matrix/<gold>/<predicted> otherwise).
"""
import math

from bert_tf1.classifier.metrics import sanitize_tag

MAX_TABLE_CLASSES = 20
# Key metrics in display order (each shown when the run has it).
KEY_METRICS = ("eval_accuracy", "f1", "precision", "recall", "auc", "macro_f1", "micro_f1",
               "macro_precision", "macro_recall", "mcc", "pearson", "spearman", "mse",
               "eval_loss", "num_eval_examples", "global_step")


def _number(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if isinstance(value, float) and not value.is_integer():
        return "%.4f" % value
    return "%d" % value


def confusion_matrix(results, labels):
    """[[count]] rows gold, columns predicted, from eval results; None if not recoverable."""
    if not labels:
        return None
    if len(labels) == 2 and "true_positives" in results:
        return [[results["true_negatives"], results["false_positives"]],
                [results["false_negatives"], results["true_positives"]]]
    tags = [sanitize_tag(label) for label in labels]
    try:
        return [[results["confusion_matrix/%s/%s" % (gold, predicted)] for predicted in tags]
                for gold in tags]
    except KeyError:
        return None


def _grid(header, rows):
    """Right-aligned text columns (first column left-aligned)."""
    table = [header] + rows
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                      for i, cell in enumerate(row)).rstrip() for row in table]


def format_results_table(results, labels=None):
    """Eval results as a few readable lines (see the module docstring).

    Args:
      results: the eval results dict (eval_results.json's content).
      labels: the label names in output order, or None (regression, pre-training).

    >>> print(format_results_table({"eval_accuracy": 0.75, "true_positives": 2.0,
    ...     "true_negatives": 1.0, "false_positives": 1.0, "false_negatives": 0.0},
    ...     ["neg", "pos"]))
    ***** Eval results *****
      eval_accuracy  0.7500
    confusion matrix (rows gold, columns predicted):
      gold\\pred  neg  pos
      neg          1    1
      pos          0    2
    """
    lines = ["***** Eval results *****"]
    shown = [key for key in KEY_METRICS if key in results]
    if not shown:  # not a classifier's results: every key, as google-research/bert prints them
        shown = sorted(results)
    width = max(len(key) for key in shown) if shown else 0
    lines += ["  %s  %s" % (key.ljust(width), _number(results[key])) for key in shown]
    if not labels or len(labels) > MAX_TABLE_CLASSES:
        if labels:
            lines.append("(%d classes: per-class figures and the confusion matrix are in "
                         "eval_results.json)" % len(labels))
        return "\n".join(lines)
    tags = [sanitize_tag(label) for label in labels]
    if len(labels) > 2 and "precision_" + tags[0] in results:
        rows = [[label] + [_number(results.get("%s_%s" % (kind, tag)))
                           for kind in ("precision", "recall", "f1")]
                for label, tag in zip(labels, tags)]
        lines.append("per class:")
        lines += ["  " + line for line in _grid(["class", "precision", "recall", "f1"], rows)]
    matrix = confusion_matrix(results, labels)
    if matrix is not None:
        lines.append("confusion matrix (rows gold, columns predicted):")
        columns = list(labels)
        names = list(labels)
        if sum(len(label) + 2 for label in labels) > 80:
            # Long or many names would make a row wider than a terminal: number the columns.
            columns = [str(k) for k in range(len(labels))]
            names = ["%d %s" % (k, label) for k, label in enumerate(labels)]
        rows = [[name] + [_number(cell) for cell in row] for name, row in zip(names, matrix)]
        lines += ["  " + line for line in _grid(["gold\\pred"] + columns, rows)]
    return "\n".join(lines)
