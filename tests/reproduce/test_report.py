"""The report writer on hand-made run outputs: table values, derived metrics, plots, errors."""
import json
import os

import pytest
from sklearn import metrics as sk

from bert_tf1.errors import BertTF1Error
from bert_tf1.reproduce import recipes, report
from bert_tf1.runtime import outputs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_run(directory, gold, positive_probabilities, history=((1, 0.7), (2, 0.6), (3, 0.4))):
    """Writes the files run_classifier leaves behind, for a binary task with labels 0/1."""
    os.makedirs(directory)
    predicted = [int(p >= 0.5) for p in positive_probabilities]
    results = {"eval_accuracy": sk.accuracy_score(gold, predicted),
               "f1": sk.f1_score(gold, predicted), "eval_loss": 0.3, "global_step": 3}
    with open(os.path.join(directory, outputs.EVAL_RESULTS_JSON), "w") as handle:
        json.dump(results, handle)
    manifest = {"status": "finished", "train_seconds": 12.5,
                "flags": {"task_name": "imdb", "max_seq_length": 32, "truncation": "head"},
                "task_spec": {"labels": ["0", "1"]}}
    with open(os.path.join(directory, outputs.MANIFEST_JSON), "w") as handle:
        json.dump(manifest, handle)
    with open(os.path.join(directory, outputs.TRAIN_HISTORY_JSON), "w") as handle:
        json.dump({"loss": [list(pair) for pair in history]}, handle)
    with open(os.path.join(directory, outputs.PREDICTIONS_JSONL), "w") as handle:
        for index, (label, p) in enumerate(zip(gold, positive_probabilities)):
            handle.write(json.dumps({"guid": "test-%d" % index, "label": str(label),
                                     "predicted_label": str(int(p >= 0.5)),
                                     "probabilities": {"0": 1 - p, "1": p}}) + "\n")
    return results


def test_report_puts_measured_beside_reference_and_draws_the_plots(tmp_path):
    gold = [0, 0, 1, 1, 0, 1, 1, 0]
    head = fake_run(str(tmp_path / "head"), gold, [0.1, 0.6, 0.8, 0.9, 0.2, 0.4, 0.7, 0.3])
    tail = fake_run(str(tmp_path / "tail"), gold, [0.2, 0.3, 0.6, 0.9, 0.1, 0.8, 0.7, 0.4])
    runs = [report.read_run(str(tmp_path / name), name) for name in ("head", "tail")]
    recipe = recipes.load_recipe("minilm-imdb-cpu")
    recipe.references.append({"metric": "error_rate", "value": 0.05, "model": "m",
                              "source": "paper"})
    out = str(tmp_path / "report")
    built = report.build_report(recipe, runs, out, overrides={"num_train_epochs": 1},
                                environment="test machine", model="tiny")

    rows = {(row["metric"], row["reference"]): row for row in built["rows"]}
    assert rows[("eval_accuracy", 0.85)]["measured"] == {"head": head["eval_accuracy"],
                                                         "tail": tail["eval_accuracy"]}
    assert rows[("error_rate", 0.05)]["measured"]["tail"] == pytest.approx(
        1 - tail["eval_accuracy"])
    assert rows[("f1", None)]["measured"]["head"] == pytest.approx(head["f1"])
    for run in built["runs"]:
        recomputed = run["recomputed"]
        assert recomputed["examples"] == len(gold)
        assert recomputed["accuracy"] == pytest.approx(run["eval_results"]["eval_accuracy"])
    assert built["runs"][1]["recomputed"]["auc"] == pytest.approx(
        sk.roc_auc_score(gold, [0.2, 0.3, 0.6, 0.9, 0.1, 0.8, 0.7, 0.4]))

    assert set(built["plots"]) == {"loss", "roc", "confusion_head", "confusion_tail"}
    for path in built["plots"].values():
        with open(path, "rb") as handle:
            assert handle.read(8) == PNG_MAGIC
    with open(os.path.join(out, "report.md")) as handle:
        text = handle.read()
    assert text.startswith("# Reproduction report: minilm-imdb-cpu@v2")
    assert "| metric | head | tail | reference |" in text
    assert "num_train_epochs=1" in text and "![roc](roc.png)" in text
    with open(os.path.join(out, "report.json")) as handle:
        assert json.load(handle)["recipe_label"] == "minilm-imdb-cpu@v2"
    assert not [name for name in os.listdir(out) if ".tmp-" in name]


def test_a_run_without_predictions_or_history_still_reports_its_metrics(tmp_path):
    fake_run(str(tmp_path / "main"), [0, 1], [0.4, 0.6], history=())
    os.remove(str(tmp_path / "main" / outputs.PREDICTIONS_JSONL))
    run = report.read_run(str(tmp_path / "main"), "main")
    built = report.build_report(recipes.load_recipe("annotated-bert-imdb"), [run],
                                str(tmp_path / "report"))
    assert built["plots"] == {} and built["runs"][0]["recomputed"] == {}
    assert built["rows"][0]["measured"]["main"] == 1.0


def test_an_unfinished_run_is_named_in_the_error(tmp_path):
    os.makedirs(str(tmp_path / "run"))
    with open(str(tmp_path / "run" / outputs.MANIFEST_JSON), "w") as handle:
        json.dump({"status": "running"}, handle)
    with pytest.raises(BertTF1Error, match="eval_results.json: missing eval results"):
        report.read_run(str(tmp_path / "run"), "main")


def test_a_corrupt_predictions_line_is_named(tmp_path):
    fake_run(str(tmp_path / "run"), [0, 1], [0.4, 0.6])
    with open(str(tmp_path / "run" / outputs.PREDICTIONS_JSONL), "a") as handle:
        handle.write("{oops\n")
    with pytest.raises(BertTF1Error, match="predictions.jsonl:3: not valid JSON"):
        report.read_run(str(tmp_path / "run"), "main")


def write_loss_events(directory, pairs, tag="loss", other=()):
    """An event file like Estimator's: one scalar loss summary per (step, loss), then the
    (step, tag, value) summaries in `other`."""
    import tensorflow as tf

    writer = tf.compat.v1.summary.FileWriter(directory)
    for step, loss in pairs:
        summary = tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(tag=tag,
                                                                         simple_value=loss)])
        writer.add_summary(summary, step)
    for step, name, value in other:
        writer.add_summary(tf.compat.v1.Summary(value=[tf.compat.v1.Summary.Value(
            tag=name, simple_value=value)]), step)
    writer.close()


def test_loss_curve_also_reads_the_event_files(tmp_path):
    fake_run(str(tmp_path / "dense"), [0, 1], [0.4, 0.6])
    write_loss_events(str(tmp_path / "dense"), [(1, 0.75), (3, 0.5)], tag="loss_1")
    fake_run(str(tmp_path / "sparse"), [0, 1], [0.4, 0.6], history=())
    write_loss_events(str(tmp_path / "sparse"), [(100, 0.25), (200, 0.125)],
                      other=[(150, "global_step/sec", 9.0)])
    dense, sparse = [report.read_run(str(tmp_path / name), name) for name in ("dense", "sparse")]
    assert dense["event_losses"] == [[1, 0.75], [3, 0.5]]
    assert sparse["event_losses"] == [[100, 0.25], [200, 0.125]] and sparse["history"] == []
    built = report.build_report(recipes.load_recipe("annotated-bert-imdb"), [sparse],
                                str(tmp_path / "report"))
    with open(built["plots"]["loss"], "rb") as handle:
        assert handle.read(8) == PNG_MAGIC


def test_a_null_loss_in_the_history_is_left_out_of_the_curve(tmp_path):
    fake_run(str(tmp_path / "run"), [0, 1], [0.4, 0.6], history=((1, 0.7), (2, None), (3, 0.5)))
    run = report.read_run(str(tmp_path / "run"), "run")
    assert run["history"] == [[1, 0.7], [3, 0.5]]
    assert report.plot_loss_curves([run], str(tmp_path / "loss.png"))
