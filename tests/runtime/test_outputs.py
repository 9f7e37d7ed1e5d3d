import doctest
import json
import os

import numpy as np
import pytest

from bert_tf1.data.examples import InputExample
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import outputs


def test_eval_results_in_googles_format_and_json(tmp_path):
    results = {"eval_accuracy": np.float32(0.5), "global_step": np.int64(12), "auc": 0.75}
    txt, js = outputs.write_eval_results(str(tmp_path), results)
    assert open(txt).read() == "auc = 0.75\neval_accuracy = 0.5\nglobal_step = 12\n"
    assert json.load(open(js)) == {"auc": 0.75, "eval_accuracy": 0.5, "global_step": 12}
    assert sorted(os.listdir(str(tmp_path))) == ["eval_results.json", "eval_results.txt"]
    # Floats read as Google's str(float32) does; the JSON keeps every digit.
    txt, js = outputs.write_eval_results(str(tmp_path), {"loss": 7.3154826164245605,
                                                         "true_positives": 119.0})
    assert open(txt).read() == "loss = 7.3154826\ntrue_positives = 119.0\n"
    assert json.load(open(js))["loss"] == 7.3154826164245605


def strict_json(path):
    """json.load that rejects NaN / Infinity, as JSON.parse, jq and most JSON libraries do."""
    def reject(constant):
        raise ValueError("not JSON: %s" % constant)

    with open(path) as handle:
        return json.load(handle, parse_constant=reject)


def test_undefined_metrics_are_null_in_json_and_nan_in_googles_txt(tmp_path):
    # AUC of an evaluation with one class present is NaN (as sklearn refuses it).
    results = {"auc": np.float32("nan"), "eval_accuracy": np.float32(1.0), "pearson": float("inf"),
               "global_step": np.int64(3)}
    txt, js = outputs.write_eval_results(str(tmp_path), results)
    assert strict_json(js) == {"auc": None, "eval_accuracy": 1.0, "pearson": None,
                               "global_step": 3}
    assert open(txt).read() == "auc = nan\neval_accuracy = 1.0\nglobal_step = 3\npearson = inf\n"


def test_manifest_with_nan_results_is_strict_json(tmp_path):
    manifest = outputs.build_manifest({"seed": 0}, extra={"results": {"auc": float("nan"),
                                                                      "nested": [np.nan, 1.5]}})
    path = outputs.write_manifest(str(tmp_path), manifest)
    loaded = strict_json(path)
    assert loaded["results"] == {"auc": None, "nested": [None, 1.5]}


def test_json_safe_keeps_ordinary_values():
    value = {"a": np.array([1, 2]), "b": np.float64(0.25), "c": "x", "d": None, "e": True}
    assert outputs.json_safe(value) == {"a": [1, 2], "b": 0.25, "c": "x", "d": None, "e": True}


def test_predictions_one_line_per_real_example(tmp_path):
    examples = [InputExample("test-0", "good film", label="1"),
                InputExample("test-1", "bad\tfilm\nreally", label=None)]
    raw = [{"probabilities": np.array([0.2, 0.8]), "is_real_example": 1},
           {"probabilities": np.array([0.9, 0.1]), "is_real_example": 1},
           {"probabilities": np.array([0.5, 0.5]), "is_real_example": 0}]  # TPU padding
    kept = outputs.real_predictions(raw, len(examples))
    tsv, jsonl = outputs.write_predictions(str(tmp_path), examples, kept, ["0", "1"])
    assert open(tsv).read() == "0.2\t0.8\n0.9\t0.1\n"
    rows = [json.loads(line) for line in open(jsonl)]
    assert rows[0] == {"guid": "test-0", "text_a": "good film", "label": "1",
                       "predicted_label": "1", "probabilities": {"0": 0.2, "1": 0.8}}
    assert rows[1]["text_a"] == "bad\tfilm\nreally" and "label" not in rows[1]


def test_regression_predictions(tmp_path):
    examples = [InputExample("a", "x", "y", 3.5)]
    tsv, jsonl = outputs.write_predictions(str(tmp_path), examples,
                                           [{"predictions": np.float32(2.25)}], None,
                                           is_regression=True)
    assert open(tsv).read() == "2.25\n"
    assert json.loads(open(jsonl).read())["prediction"] == 2.25


def test_prediction_count_mismatch_is_an_error(tmp_path):
    with pytest.raises(BertTF1Error, match="3 real predictions for 2 examples"):
        outputs.real_predictions([{"is_real_example": 1}] * 3, 2)
    with pytest.raises(BertTF1Error, match="1 predictions for 2 examples"):
        outputs.write_predictions(str(tmp_path), [InputExample("a", "x")] * 2,
                                  [{"probabilities": [1.0]}], ["0"])
    assert os.listdir(str(tmp_path)) == []


def test_length_sorted_predictions_are_written_in_file_order_without_the_index(tmp_path):
    """Estimator.predict's order of a length-sorted input, padding rows included (numbered
    after the real examples, as padding follows them in the file): the files read as in file
    order, and no example_index column appears."""
    examples = [InputExample("test-%d" % i, "text %d" % i, label="1") for i in range(3)]
    raw = [{"probabilities": np.array([0.9, 0.1]), "is_real_example": 1,
            "example_index": np.int32(2)},
           {"probabilities": np.array([0.5, 0.5]), "is_real_example": 0,
            "example_index": np.int32(3)},
           {"probabilities": np.array([0.2, 0.8]), "is_real_example": 1,
            "example_index": np.int32(0)},
           {"probabilities": np.array([0.6, 0.4]), "is_real_example": 1,
            "example_index": np.int32(1)}]
    kept = outputs.real_predictions(raw, len(examples))
    assert [p["probabilities"][1] for p in kept] == [0.8, 0.4, 0.1]
    assert all(outputs.EXAMPLE_INDEX not in p for p in kept)
    assert all(outputs.EXAMPLE_INDEX in p for p in raw)  # the caller's dicts are left alone
    tsv, jsonl = outputs.write_predictions(str(tmp_path), examples, kept, ["0", "1"])
    assert open(tsv).read() == "0.2\t0.8\n0.6\t0.4\n0.9\t0.1\n"
    rows = [json.loads(line) for line in open(jsonl)]
    assert [row["guid"] for row in rows] == ["test-0", "test-1", "test-2"]
    assert all(set(row) == {"guid", "text_a", "label", "predicted_label", "probabilities"}
               for row in rows)


def test_predictions_without_an_index_keep_their_order():
    raw = [{"labels": 2}, {"labels": 0}]
    assert outputs.restore_file_order(raw) == raw


@pytest.mark.parametrize("indices, message", [
    ([0, 1, 1], "repeated 1; missing 2"),
    ([0, 3, 1], "out of range 3; missing 2"),
    ([-1, 0, 1], "out of range -1; missing 2"),
    ([5, 6, 7], "out of range 5, 6, 7; missing 0, 1, 2"),
    (list(range(9)) + [0] * 7,
     r"repeated 0, 0, 0, 0, 0 \(\+2 more\); missing 9, 10, 11, 12, 13 \(\+2 more\)")])
def test_indices_other_than_each_position_once_are_an_error(indices, message):
    raw = [{"labels": 0, "example_index": np.int32(i)} for i in indices]
    with pytest.raises(BertTF1Error, match="example_index of the %d predictions should be "
                                           "0..%d once each, found %s" % (
                                               len(indices), len(indices) - 1, message)):
        outputs.restore_file_order(raw)


def test_an_index_on_some_predictions_only_is_an_error():
    with pytest.raises(BertTF1Error, match="1 of 2 predictions carry example_index"):
        outputs.restore_file_order([{"labels": 0, "example_index": 0}, {"labels": 1}])


def test_doctests():
    results = doctest.testmod(outputs)
    assert results.failed == 0 and results.attempted >= 1


def test_manifest_records_flags_versions_data_and_revision(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.tsv").write_text(u"a\tb\n")
    manifest = outputs.build_manifest({"task_name": "cola", "seed": 3}, [str(data)], seed=3)
    path = outputs.write_manifest(str(tmp_path), manifest)
    loaded = json.load(open(path))
    assert loaded["flags"]["task_name"] == "cola" and loaded["seed"] == 3
    assert loaded["packages"]["tensorflow"] == "1.15.5"
    assert loaded["data"][0]["files"] == 1 and len(loaded["data"][0]["sha256"]) == 64
    first = loaded["data"][0]["sha256"]
    (data / "train.tsv").write_text(u"a\tc\n")
    assert outputs.fingerprint_path(str(data))["sha256"] != first


def test_train_history_merges_resumed_runs(tmp_path):
    outputs.write_train_history(str(tmp_path), [(1, 0.9), (2, 0.8)])
    path = outputs.write_train_history(str(tmp_path), [(2, 0.7), (3, 0.5)])
    assert json.load(open(path)) == {"loss": [[1, 0.9], [2, 0.7], [3, 0.5]]}
    path = outputs.write_train_history(str(tmp_path), [(4, float("nan"))])
    assert strict_json(path)["loss"][-1] == [4, None]


def test_local_fingerprint_equals_the_gfile_one(tmp_path):
    """Local paths are hashed through the os module (fast); the digest must be the one
    tf.io.gfile gives (file:// goes through it), so manifests stay comparable."""
    (tmp_path / "data" / "pos").mkdir(parents=True)
    (tmp_path / "data" / "neg").mkdir()
    for index in range(3):
        (tmp_path / "data" / "pos" / ("%d.txt" % index)).write_text(u"good %d" % index)
        (tmp_path / "data" / "neg" / ("%d.txt" % index)).write_text(u"bad %d" % index)
    local = outputs.fingerprint_path(str(tmp_path / "data"))
    through_gfile = outputs.fingerprint_path("file://" + str(tmp_path / "data"))
    assert local["files"] == through_gfile["files"] == 6
    assert local["sha256"] == through_gfile["sha256"]
    single = str(tmp_path / "data" / "pos" / "0.txt")
    assert outputs.fingerprint_path(single)["sha256"] == \
        outputs.fingerprint_path("file://" + single)["sha256"]


def test_read_predictions_reads_back_what_write_predictions_wrote(tmp_path):
    # U+2028 is a line break to str.splitlines but not to JSON lines.
    examples = [InputExample("test-0", "line\u2028separator", label="1"),
                InputExample("test-1", "plain", label="0")]
    kept = [{"probabilities": np.array([0.2, 0.8])}, {"probabilities": np.array([0.7, 0.3])}]
    outputs.write_predictions(str(tmp_path), examples, kept, ["0", "1"])
    rows = outputs.read_predictions(str(tmp_path))
    assert [row["guid"] for row in rows] == ["test-0", "test-1"]
    assert rows[0]["text_a"] == "line\u2028separator"
    assert outputs.read_predictions(str(tmp_path / "absent")) == []


@pytest.mark.parametrize("lines, message", [
    ('{"guid": "a"}\n{oops\n', r"predictions.jsonl:2: not valid JSON"),
    ('{"guid": "a"}\n[1, 2]\n', r"predictions.jsonl:2: expected a JSON object per line, "
                                r"found list"),
])
def test_read_predictions_names_file_and_line(tmp_path, lines, message):
    (tmp_path / outputs.PREDICTIONS_JSONL).write_text(lines)
    with pytest.raises(BertTF1Error, match=message):
        outputs.read_predictions(str(tmp_path))


def test_unreadable_outputs_are_one_error_naming_the_path(tmp_path, monkeypatch):
    # As TF reports EACCES (the tests run as root, so chmod 0 would not stop the read).
    import tensorflow as tf

    def denied(name, mode="r"):
        raise tf.errors.PermissionDeniedError(None, None, "%s; Permission denied" % name)

    for name in (outputs.PREDICTIONS_JSONL, outputs.MANIFEST_JSON):
        (tmp_path / name).write_text("{}\n")
    monkeypatch.setattr(tf.io.gfile, "GFile", denied)
    with pytest.raises(BertTF1Error, match=r"predictions.jsonl: permission denied"):
        outputs.read_predictions(str(tmp_path))
    with pytest.raises(BertTF1Error, match=r"run_manifest.json: permission denied"):
        outputs.read_manifest(str(tmp_path))


def test_a_garbled_train_history_is_named(tmp_path):
    (tmp_path / outputs.TRAIN_HISTORY_JSON).write_text('{"losses": []}')
    with pytest.raises(BertTF1Error, match=r"train_history.json: expected \{\"loss\""):
        outputs.write_train_history(str(tmp_path), [(1, 0.5)])
