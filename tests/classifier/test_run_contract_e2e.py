"""The output_dir contract end to end (issue 12, items 2-4) on the tiny BERT hub module.

* kill and resume: a run SIGKILLed after its first checkpoint, started again with the same
  settings (same seed, --deterministic, CPU), ends with the eval metrics, predictions and loss
  history of an uninterrupted run;
* changed training data under the same output_dir: one error naming the change, nothing
  touched; --overwrite_output_dir starts over and trains from step 1.
"""
import json
import os
import shutil

import numpy as np
import pytest
from support import run_python

from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.data import fixtures
from bert_tf1.errors import BertTF1Error

pytestmark = pytest.mark.e2e

# 16 training examples, batch 4, 1.5 epochs: 6 steps, a checkpoint every 2. The kill comes at
# step 3, so the resumed run restarts from step 2, mid-epoch, and crosses an epoch boundary.
NUM_STEPS, KILL_AT_STEP = 6, 3

# Run in a fresh process: SIGKILL itself right after step KILL_AT_STEP (no clean-up runs).
KILLED_RUN = """
import json, os, signal, sys
from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.runtime import progress
original = progress.TrainingProgressHook.after_run
def after_run(self, run_context, run_values):
    original(self, run_context, run_values)
    if self.history and self.history[-1][0] == %d:
        os.kill(os.getpid(), signal.SIGKILL)
progress.TrainingProgressHook.after_run = after_run
run_classifier(ClassifierRunSettings(**json.loads(sys.argv[1])))
""" % KILL_AT_STEP


def run_values(module, data_dir, output_dir, **overrides):
    values = dict(task_name="imdb", data_dir=data_dir, output_dir=output_dir,
                  bert_hub_module_handle=module, max_seq_length=16, do_train=True,
                  do_eval=True, do_predict=True, train_batch_size=4, eval_batch_size=8,
                  predict_batch_size=8, learning_rate=1e-3, num_train_epochs=1.5,
                  save_checkpoints_steps=2, eval_split="test", predict_split="test",
                  deterministic=True, seed=3, show_progress=False, log_every_n_steps=1000,
                  # What runs of 200+ steps do by default (BERT in two length-sorted parts
                  # per batch, two BertModel calls on one set of weights): resumed exactly too.
                  train_length_splits=2)
    values.update(overrides)
    return values


def read(output_dir, name):
    with open(os.path.join(output_dir, name)) as handle:
        if name.endswith(".jsonl"):
            return [json.loads(line) for line in handle]
        return json.load(handle)


@pytest.fixture(scope="module")
def uninterrupted(tiny_hub_module, tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    data_dir = fixtures.write_fixture("imdb", str(root / "data"), per_label=8)
    output_dir = str(root / "uninterrupted")
    run_classifier(ClassifierRunSettings(**run_values(tiny_hub_module, data_dir, output_dir)))
    return data_dir, output_dir


def test_sigkilled_run_resumes_to_the_uninterrupted_result(tiny_hub_module, uninterrupted,
                                                           tmp_path):
    data_dir, reference = uninterrupted
    output_dir = str(tmp_path / "killed")
    values = run_values(tiny_hub_module, data_dir, output_dir)
    killed = run_python(["-c", KILLED_RUN, json.dumps(values)], check=False)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert read(output_dir, "run_manifest.json")["status"] == "running"
    assert os.path.exists(os.path.join(output_dir, "run.lock"))  # left by the killed process
    assert [step for step, _ in read(output_dir, "train_history.json")["loss"]] == [1, 2]

    produced = run_classifier(ClassifierRunSettings(**values))  # the same command again
    assert produced["num_train_steps"] == NUM_STEPS
    resumed, expected = read(output_dir, "eval_results.json"), read(reference,
                                                                     "eval_results.json")
    assert resumed["global_step"] == expected["global_step"] == NUM_STEPS
    assert resumed == pytest.approx(expected, rel=1e-6, abs=1e-7)
    np.testing.assert_allclose(
        [list(row["probabilities"].values()) for row in read(output_dir, "predictions.jsonl")],
        [list(row["probabilities"].values()) for row in read(reference, "predictions.jsonl")],
        rtol=1e-6, atol=1e-7)
    history = read(output_dir, "train_history.json")["loss"]
    assert [step for step, _ in history] == list(range(1, NUM_STEPS + 1))
    np.testing.assert_allclose(history, read(reference, "train_history.json")["loss"],
                               rtol=1e-6)
    manifest = read(output_dir, "run_manifest.json")
    assert manifest["status"] == "finished" and "error" not in manifest
    assert not os.path.exists(os.path.join(output_dir, "run.lock"))


def test_changed_training_data_stops_until_the_user_starts_over(tiny_hub_module, uninterrupted,
                                                                tmp_path):
    data_dir, reference = uninterrupted
    output_dir = str(tmp_path / "run")
    shutil.copytree(reference, output_dir)
    # The same file names, other labels: pos and neg swapped in the training split.
    changed = str(tmp_path / "data")
    shutil.copytree(data_dir, changed)
    train = os.path.join(changed, "aclImdb", "train")
    os.rename(os.path.join(train, "pos"), os.path.join(train, "was_pos"))
    os.rename(os.path.join(train, "neg"), os.path.join(train, "pos"))
    os.rename(os.path.join(train, "was_pos"), os.path.join(train, "neg"))
    before = {name: os.path.getmtime(os.path.join(output_dir, name))
              for name in os.listdir(output_dir)}
    values = run_values(tiny_hub_module, changed, output_dir)

    with pytest.raises(BertTF1Error) as error:
        run_classifier(ClassifierRunSettings(**values))
    message = str(error.value)
    assert message.startswith("%s holds a run with other settings: training data (sha256 of "
                              "the train examples): " % output_dir), message
    assert message.endswith("Repeat its flags to continue it, give another --output_dir, or "
                            "pass --overwrite_output_dir to start over (see %s)"
                            % os.path.join(output_dir, "run_manifest.json")), message
    assert {name: os.path.getmtime(os.path.join(output_dir, name))
            for name in os.listdir(output_dir)} == before  # nothing written

    # Start over (training only, to keep the test short): trained afresh, on the new labels.
    values.update(overwrite_output_dir=True, do_eval=False, do_predict=False)
    run_classifier(ClassifierRunSettings(**values))
    # train_history.json was cleared: steps 1..N prove it trained afresh (not "max_steps
    # already reached"); the losses differ from the old run's (deterministic runs repeat to
    # ~1e-7; swapped labels on a near-random model move them by ~1e-3).
    history = np.array(read(output_dir, "train_history.json")["loss"])
    assert history[:, 0].tolist() == list(range(1, NUM_STEPS + 1))
    old_history = np.array(read(reference, "train_history.json")["loss"])
    assert np.abs(history[:, 1] - old_history[:, 1]).max() > 1e-4, (history, old_history)
    assert not os.path.exists(os.path.join(output_dir, "eval_results.json"))  # cleared
    manifest = read(output_dir, "run_manifest.json")
    assert manifest["status"] == "finished"
    assert manifest["train_data_sha256"] != read(reference, "run_manifest.json")[
        "train_data_sha256"]
