"""A tiny run logs its data summary, progress and results table; bert-tf1-report plots it."""
import os

import pytest
from support import REPO_ROOT, run_python

from bert_tf1.reproduce import run_report

pytestmark = pytest.mark.e2e

LABELS = ("cooking", "music", "sport")


def write_csv(path, per_label):
    with open(path, "w") as handle:
        handle.write("text,label\n")
        for k in range(per_label):
            for label in LABELS:
                # 2, 9, 16, ... words: some longer than max_seq_length, so truncated
                handle.write("%s,%s\n" % (" ".join([label] * (2 + 7 * k)), label))


def test_tiny_run_logs_summary_progress_and_table_then_report_draws_it(tiny_hub_module,
                                                                        tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for split, per_label in (("train", 6), ("dev", 3), ("test", 2)):
        write_csv(str(data_dir / ("%s.csv" % split)), per_label)
    output_dir = str(tmp_path / "run")
    result = run_python([os.path.join(REPO_ROOT, "run_classifier_hub.py"), "--task_name=csv",
                         "--data_dir=%s" % data_dir, "--output_dir=%s" % output_dir,
                         "--bert_hub_module_handle=%s" % tiny_hub_module, "--do_train",
                         "--do_eval", "--do_predict", "--max_seq_length=16",
                         "--train_batch_size=4", "--eval_batch_size=2", "--num_train_epochs=2",
                         "--learning_rate=1e-3", "--eval_examples=6"])
    log = result.stderr  # a pipe, not a terminal: no tqdm redraws
    assert "\r" not in log
    assert "train: 18 examples; 3 classes: cooking 6, music 6, sport 6; imbalance 1.0" in log
    assert "% truncated at 16" in log
    assert "step 9/9  loss" in log and "step 3/9" in log  # 9 steps: every step, not every 100
    assert "eval: batch 3/3 (100%)" in log and "predict: batch 1/1 (100%)" in log
    assert "Writing TFRecord: 18/18 (100%)" in log
    assert "--do_predict predicts the whole test split: --eval_examples=6 limits" in log
    table = result.stdout[result.stdout.index("***** Eval results *****"):]
    assert "  num_eval_examples  6" in table
    assert "confusion matrix (rows gold, columns predicted):" in table
    assert "gold\\pred  cooking  music  sport" in table

    report = run_report.build_run_report([output_dir])
    assert sorted(report["plots"]) == ["confusion_run", "labels_run", "lengths_run", "loss",
                                       "pr_run", "roc_run"]
    for path in report["plots"].values():
        assert os.path.getsize(path) > 1000
