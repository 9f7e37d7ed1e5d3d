"""bert-tf1-report on hand-made run outputs: plots, tables, comparison, errors."""
import json
import os

import numpy as np
import pytest

from bert_tf1.cli import report as report_cli
from bert_tf1.errors import BertTF1Error
from bert_tf1.reproduce import run_report
from bert_tf1.runtime import outputs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_run(directory, labels, n=60, seed=0, lr=1e-3, summary=True, labelled=True,
             predicted=True):
    """The files run_classifier leaves: manifest, eval results, history, predictions, summary."""
    rng = np.random.RandomState(seed)
    os.makedirs(directory)
    manifest = {"status": "finished", "train_seconds": 10.0,
                "flags": {"task_name": "csv", "max_seq_length": 16, "learning_rate": lr,
                          "predict_split": "dev"},
                "task_spec": {"labels": labels}}
    json.dump(manifest, open(os.path.join(directory, outputs.MANIFEST_JSON), "w"))
    json.dump({"eval_accuracy": 0.5, "eval_loss": 1.0, "global_step": 5},
              open(os.path.join(directory, outputs.EVAL_RESULTS_JSON), "w"))
    json.dump({"loss": [[s, 1.0 / s] for s in range(1, 6)]},
              open(os.path.join(directory, outputs.TRAIN_HISTORY_JSON), "w"))
    with open(os.path.join(directory, outputs.PREDICTIONS_JSONL), "w") as handle:
        for i in range(n if predicted else 0):
            gold = i % len(labels)
            p = rng.dirichlet(np.ones(len(labels)))
            row = {"guid": "dev-%d" % i, "predicted_label": labels[int(p.argmax())],
                   "probabilities": dict(zip(labels, p.tolist()))}
            if labelled:
                row["label"] = labels[gold]
            handle.write(json.dumps(row) + "\n")
    if summary:
        split = {"examples": n, "unlabelled": 0, "classes": {k: n // len(labels) for k in labels},
                 "imbalance": 1.0, "lengths_measured": n, "token_lengths": list(range(3, n + 3)),
                 "truncated": 0.5, "length_p50": 30, "length_p90": 50, "length_max": n + 2}
        json.dump({"max_seq_length": 16, "splits": {"train": split, "eval": split}},
                  open(os.path.join(directory, "data_summary.json"), "w"))


def is_png(path):
    with open(path, "rb") as handle:
        return handle.read(8) == PNG_MAGIC


def test_multiclass_run_gets_every_plot_and_both_reports(tmp_path):
    labels = ["class_%02d" % k for k in range(6)]  # 20 classes were checked by eye (slower)
    fake_run(str(tmp_path / "run"), labels, n=30)
    report = run_report.build_run_report([str(tmp_path / "run")])
    assert report["report_dir"] == str(tmp_path / "run" / "report")
    assert sorted(report["plots"]) == ["confusion_run", "labels_run", "lengths_run", "loss",
                                       "pr_run", "roc_run"]
    assert all(is_png(path) for path in report["plots"].values())
    markdown = open(str(tmp_path / "run" / "report" / "report.md")).read()
    assert "| eval_accuracy | 0.5000 |" in markdown and "![roc_run](roc_run.png)" in markdown
    assert "accuracy (sklearn, predictions)" in markdown
    page = open(str(tmp_path / "run" / "report" / "report.html")).read()
    assert "<img src='confusion_run.png'" in page and "<td>eval_accuracy</td>" in page


def test_binary_unlabelled_and_old_runs_say_what_is_missing(tmp_path):
    fake_run(str(tmp_path / "a"), ["neg", "pos"], labelled=False, summary=False)
    report = run_report.build_run_report([str(tmp_path / "a")], str(tmp_path / "out"))
    assert "roc_a" not in report["plots"] and "loss" in report["plots"]
    assert any("no ROC/PR curves" in note for note in report["notes"])
    assert any("no data_summary.json" in note for note in report["notes"])


def test_several_runs_give_a_comparison_of_what_differs(tmp_path):
    for name, lr in (("x", 1e-3), ("y", 5e-5)):  # few plots: this test is about the tables
        fake_run(str(tmp_path / name / "run"), ["neg", "pos"], lr=lr, summary=False,
                 predicted=False)
    report = run_report.build_run_report([str(tmp_path / "x" / "run"),
                                          str(tmp_path / "y" / "run")])
    assert [run["variant"] for run in report["runs"]] == ["x_run", "y_run"]
    assert report["setting_rows"] == [["learning_rate", "0.001", "5e-05"]]
    assert list(report["plots"]) == ["loss"]  # no predictions: no ROC
    assert report["metric_rows"][0] == ["eval_accuracy", "0.5000", "0.5000"]
    assert report["report_dir"] == str(tmp_path / "x" / "report_x_run_vs_y_run")


def test_cli_error_for_a_folder_that_is_no_run(tmp_path, capsys):
    with pytest.raises(BertTF1Error, match="no run_manifest.json"):
        run_report.build_run_report([str(tmp_path)])
    assert report_cli.main(["--output_dir", str(tmp_path)]) == 2
    assert "bert-tf1-report: error: %s: no run_manifest.json" % tmp_path in capsys.readouterr().err
