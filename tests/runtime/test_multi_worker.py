"""--distribution_strategy=multi_worker: data sharding, the evaluator's results, the checks made
before anything is written, and a real 2-worker + evaluator job of the tiny BERT on 127.0.0.1."""
import json
import os
import sys

import numpy as np
import pytest
import tensorflow as tf
from sklearn import metrics as skm
from support import REPO_ROOT, run_python

from bert_tf1.classifier import pipeline
from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.data import fixtures
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import cluster, multi_worker, outputs

TWO_WORKERS = {"worker": ["127.0.0.1:5000", "127.0.0.1:5001"]}


def batches(dataset):
    with tf.Graph().as_default():
        values = tf.compat.v1.data.make_one_shot_iterator(dataset()).get_next()
        with tf.compat.v1.Session() as session:
            found = []
            while True:
                try:
                    found.append(session.run(values).tolist())
                except tf.errors.OutOfRangeError:
                    return found


def test_each_worker_keeps_its_own_batches():
    input_fn = multi_worker.sharded_input_fn(
        lambda params: tf.data.Dataset.range(10).batch(2))
    context = tf.distribute.InputContext
    worker_0 = batches(lambda: input_fn({}, context(num_input_pipelines=2, input_pipeline_id=0)))
    worker_1 = batches(lambda: input_fn({}, context(num_input_pipelines=2, input_pipeline_id=1)))
    assert worker_0 == [[0, 1], [4, 5], [8, 9]] and worker_1 == [[2, 3], [6, 7]]
    # One pipeline, or no strategy (no input_context): the whole dataset.
    assert batches(lambda: input_fn({}, context())) == batches(lambda: input_fn({}))
    assert len(batches(lambda: input_fn({}))) == 5


def test_evaluator_writes_eval_results_like_a_single_process_run(tmp_path):
    exporter = multi_worker.EvalResultsExporter(str(tmp_path), {"num_eval_examples": 7})
    path = exporter.export(None, None, "out/model.ckpt-4",
                           {"eval_accuracy": np.float32(0.75), "global_step": np.int64(4)}, True)
    assert path == str(tmp_path / outputs.EVAL_RESULTS_JSON)
    with open(path) as handle:
        assert json.load(handle) == {"eval_accuracy": 0.75, "global_step": 4,
                                     "num_eval_examples": 7}
    assert exporter.results == {"eval_accuracy": 0.75, "global_step": 4, "num_eval_examples": 7}
    assert (tmp_path / outputs.EVAL_RESULTS_TXT).read_text().startswith("eval_accuracy = 0.75")


@pytest.mark.parametrize("tf_config, flags, message", [
    (None, {}, "needs the TF_CONFIG environment variable"),
    ({"cluster": TWO_WORKERS, "task": {"type": "worker", "index": 2}}, {},
     r"TF_CONFIG field task\.index: 2 is out of range"),
    ({"cluster": TWO_WORKERS, "task": {"type": "worker", "index": 0}}, {"do_train": False},
     r"multi_worker is for training \(--do_train\)"),
    ({"cluster": dict(TWO_WORKERS, evaluator=["127.0.0.1:5002"]),
      "task": {"type": "worker", "index": 1}}, {"do_eval": False},
     r"TF_CONFIG field cluster\.evaluator: the cluster has an evaluator task but --do_eval"),
    ({"cluster": TWO_WORKERS, "task": {"type": "worker", "index": 0}},
     {"use_tpu": True, "tpu_name": "t"}, r"--use_tpu and --distribution_strategy=multi_worker "
                                         r"do not combine"),
])
def test_bad_multi_worker_setups_fail_before_writing(tmp_path, monkeypatch, tf_config, flags,
                                                     message):
    if tf_config is None:
        monkeypatch.delenv(cluster.TF_CONFIG, raising=False)
    else:
        monkeypatch.setenv(cluster.TF_CONFIG, json.dumps(tf_config))
    values = dict(task_name="imdb", data_dir=str(tmp_path / "data"),
                  output_dir=str(tmp_path / "out"), bert_hub_module_handle=str(tmp_path / "m"),
                  do_train=True, do_eval=True, distribution_strategy="multi_worker")
    values.update(flags)
    with pytest.raises(BertTF1Error, match=message):
        run_classifier(ClassifierRunSettings(**values))
    assert not os.path.exists(str(tmp_path / "out"))


class FakeHubSource(object):
    uses_hub_module = True

    def as_checkpoint_source(self, use_one_hot_embeddings=False):
        return "BertModel from the module's variables"


def save_checkpoint(directory, name):
    with tf.Graph().as_default():
        tf.compat.v1.get_variable(name, shape=[2], initializer=tf.zeros_initializer())
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver().save(session, os.path.join(directory, "model.ckpt"),
                                            global_step=4)


def test_eval_after_a_distributed_training_builds_the_graph_of_its_checkpoint(tmp_path):
    """A hub-module run evaluated after multi_worker/mirrored training (encoder saved as
    bert/..., not module/bert/...) must build BertModel, or restoring fails in TF."""
    bert_model_run, hub_module_run = str(tmp_path / "a"), str(tmp_path / "b")
    save_checkpoint(bert_model_run, "bert/embeddings/word_embeddings")
    save_checkpoint(hub_module_run, "module/bert/embeddings/word_embeddings")
    assert pipeline.trained_as_bert_model(bert_model_run)
    assert not pipeline.trained_as_bert_model(hub_module_run)
    assert not pipeline.trained_as_bert_model(str(tmp_path / "absent"))
    source = FakeHubSource()
    for output_dir, expected in ((bert_model_run, "BertModel from the module's variables"),
                                 (hub_module_run, source), (str(tmp_path / "new"), source)):
        settings = ClassifierRunSettings(output_dir=output_dir)
        assert pipeline.graph_bert_source(settings, source) == expected


@pytest.mark.e2e
def test_two_workers_and_an_evaluator_train_the_tiny_bert(tiny_hub_module, tmp_path):
    """bert-tf1-launch-local --workers 2 --evaluator on the hub module (loaded into BertModel):
    both workers end at max_steps with the same variables, the chief alone writes the outputs,
    and the evaluator's metrics are those of an eval of the final checkpoint."""
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=4)
    output_dir = str(tmp_path / "out")
    flags = ["--task_name=imdb", "--data_dir=%s" % data_dir, "--output_dir=%s" % output_dir,
             "--bert_hub_module_handle=%s" % tiny_hub_module, "--max_seq_length=16",
             "--train_batch_size=4", "--eval_batch_size=8", "--predict_batch_size=8",
             "--learning_rate=1e-2", "--num_train_epochs=2", "--eval_split=test",
             "--predict_split=test", "--seed=0", "--log_every_n_steps=1000"]
    num_train_steps = 8 // 4 * 2  # 8 training examples, global batch 4 (2 per worker)
    job = run_python(["-m", "bert_tf1.cli.launch_local", "--workers", "2", "--evaluator", "--",
                      sys.executable, os.path.join(REPO_ROOT, "run_classifier_hub.py"),
                      "--do_train", "--do_eval", "--do_predict",
                      "--distribution_strategy=multi_worker"] + flags, timeout=600)
    assert "[evaluator 0]" in job.stdout and "[worker 1]" in job.stdout

    chief = tf.train.latest_checkpoint(output_dir)
    worker_1 = tf.train.latest_checkpoint(os.path.join(output_dir, "tmp_worker_1"))
    assert chief.endswith("model.ckpt-%d" % num_train_steps)
    assert worker_1.endswith("model.ckpt-%d" % num_train_steps)
    names = [name for name, _ in tf.train.list_variables(chief)]
    assert "output_weights" in names and "bert/pooler/dense/kernel" in names
    for name in names:
        assert np.array_equal(tf.train.load_variable(chief, name),
                              tf.train.load_variable(worker_1, name)), name
    module = os.path.join(tiny_hub_module, "variables", "variables")
    assert not np.array_equal(tf.train.load_variable(chief, "bert/pooler/dense/kernel"),
                              tf.train.load_variable(module, "bert/pooler/dense/kernel"))

    manifest = outputs.read_manifest(output_dir)
    assert manifest["status"] == "finished" and manifest["eval_results_by"] == "evaluator"
    # job_id: what the other tasks waited for (wait_for_chief) before reading any data.
    assert dict(manifest["cluster"], job_id=None) == {"num_workers": 2, "evaluator": True,
                                                      "job_id": None}
    assert manifest["cluster"]["job_id"].startswith("tf_config-")
    with open(os.path.join(output_dir, "train_history.json")) as handle:
        assert [step for step, _ in json.load(handle)["loss"]] == \
            list(range(1, num_train_steps + 1))
    # Non-chief processes keep their inputs to themselves and write no outputs.
    assert sorted(os.listdir(os.path.join(output_dir, "tmp_evaluator"))) == \
        ["eval.tf_record", "eval.tf_record.meta.json"]
    assert not any(name.startswith(("eval_results", "predictions", "run_manifest"))
                   for name in os.listdir(os.path.join(output_dir, "tmp_worker_1")))

    with open(os.path.join(output_dir, outputs.EVAL_RESULTS_JSON)) as handle:
        by_evaluator = json.load(handle)
    assert by_evaluator["global_step"] == num_train_steps
    assert by_evaluator["num_eval_examples"] == 8
    # An eval of the final checkpoint, recomputed with scikit-learn from the chief's predictions
    # of the same (test) examples after training (a second Estimator eval would add ~15 s).
    with open(os.path.join(output_dir, outputs.PREDICTIONS_JSONL)) as handle:
        rows = [json.loads(line) for line in handle]
    labels = ["0", "1"]  # imdb
    gold = np.array([labels.index(row["label"]) for row in rows])
    probabilities = np.array([[row["probabilities"][name] for name in labels] for row in rows])
    predicted = probabilities.argmax(axis=1)
    tn, fp, fn, tp = skm.confusion_matrix(gold, predicted, labels=[0, 1]).ravel()
    expected = {
        "eval_accuracy": skm.accuracy_score(gold, predicted),
        "eval_loss": -np.mean(np.log(probabilities[np.arange(len(gold)), gold])),
        "auc": skm.roc_auc_score(gold, probabilities[:, 1]),
        "f1": skm.f1_score(gold, predicted, zero_division=0),
        "true_positives": tp, "true_negatives": tn, "false_positives": fp,
        "false_negatives": fn}
    for key, value in expected.items():
        assert by_evaluator[key] == pytest.approx(value, abs=1e-5), key


class FakeClock(object):
    """time.monotonic / time.sleep stand-ins; `writes` maps a time to a manifest the chief
    writes then (None: nothing yet)."""

    def __init__(self, output_dir, writes):
        self.now, self.output_dir, self.writes = 0.0, output_dir, sorted(writes.items())

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
        while self.writes and self.writes[0][0] <= self.now:
            outputs.write_manifest(self.output_dir, self.writes.pop(0)[1])


def chief_manifest(job, status, created="2026-12-03T10:00:00Z", **extra):
    return dict({"cluster": {"job_id": job}, "status": status, "created_utc": created}, **extra)


def test_non_chief_tasks_wait_for_the_chief_of_their_own_job(tmp_path):
    out = str(tmp_path)
    # A previous job's running manifest does not count; this job's chief starts at t=5.
    outputs.write_manifest(out, chief_manifest("old-job", "running"))
    fake = FakeClock(out, {5.0: chief_manifest("job", "running")})
    manifest = multi_worker.wait_for_chief(out, "job", "worker 1", timeout=60,
                                           sleep=fake.sleep, clock=fake.clock)
    assert manifest["status"] == "running" and fake.now == 5.0


def test_a_chief_failing_during_the_wait_stops_the_others_at_once(tmp_path):
    out = str(tmp_path)
    # There from the start, a failed attempt of this job (same cluster) is not believed...
    outputs.write_manifest(out, chief_manifest("job", "failed", error="old"))
    fake = FakeClock(out, {3.0: chief_manifest("job", "failed", "2026-12-03T11:00:00Z",
                                               error="BertTF1Error: bad flag")})
    # ...one written during the wait is.
    with pytest.raises(BertTF1Error, match=r"^worker 1: the chief of this job failed \(.*"
                                           r"run_manifest.json: BertTF1Error: bad flag\)"):
        multi_worker.wait_for_chief(out, "job", "worker 1", timeout=60, sleep=fake.sleep,
                                    clock=fake.clock)
    assert fake.now == 3.0


def test_the_wait_for_the_chief_is_bounded(tmp_path, monkeypatch):
    out = str(tmp_path)
    fake = FakeClock(out, {})
    with pytest.raises(BertTF1Error, match=r"^evaluator 0: the chief did not start the run in "
                                           r"%s within 30 s \(.*run_manifest.json: absent\)"
                                           % out):
        multi_worker.wait_for_chief(out, "job", "evaluator 0", timeout=30, sleep=fake.sleep,
                                    clock=fake.clock)
    assert fake.now == 30.0
    monkeypatch.setenv(multi_worker.CHIEF_WAIT_ENV, "45")
    assert multi_worker.chief_wait_seconds() == 45.0
    monkeypatch.setenv(multi_worker.CHIEF_WAIT_ENV, "-1")
    with pytest.raises(BertTF1Error, match="BERT_TF1_CHIEF_WAIT_SECONDS=-1: expected a positive"):
        multi_worker.chief_wait_seconds()
