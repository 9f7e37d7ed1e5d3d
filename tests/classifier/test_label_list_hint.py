"""A run that does not train and cannot infer its labels is told to pass --label_list."""
import json
import os

import pytest

from bert_tf1.classifier.pipeline import ClassifierRunSettings, resolve_task_for_run
from bert_tf1.errors import BertTF1Error


def predict_only(tmp_path, **values):
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "test.csv").write_text("text\nnew sentence\n")
    return ClassifierRunSettings(task_name="csv", data_dir=str(data_dir), do_predict=True,
                                 output_dir=str(tmp_path / "run"), **values)


def test_predict_only_without_train_split_suggests_label_list(tmp_path):
    with pytest.raises(BertTF1Error, match="needs the label list: pass --label_list \\(give "
                                           "the labels in the order"):
        resolve_task_for_run(predict_only(tmp_path))


def test_the_hint_names_the_trained_runs_labels(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "run_manifest.json").write_text(json.dumps({"task_spec": {"labels": ["neg", "pos"]}}))
    with pytest.raises(BertTF1Error) as info:
        resolve_task_for_run(predict_only(tmp_path))
    assert "was trained with --label_list=neg,pos" in str(info.value)
    assert os.path.join(str(tmp_path), "data") in str(info.value)  # the original error stays
    spec = resolve_task_for_run(predict_only(tmp_path, task_options={"labels": ["neg", "pos"]}))
    assert spec.labels == ["neg", "pos"]


def test_a_training_run_keeps_the_plain_error(tmp_path):
    with pytest.raises(BertTF1Error) as info:
        resolve_task_for_run(predict_only(tmp_path, do_train=True))
    assert "--label_list" not in str(info.value)
