"""runtime.run_contract: what a rerun may change, what --overwrite_output_dir removes, status."""
import json
import os

import pytest

from bert_tf1.data.examples import InputExample
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import outputs, run_contract

FLAGS = dict(task_name="imdb", head="pooled", max_seq_length=128, truncation="head",
             bert_hub_module_handle="/models/hub", bert_config_file=None, vocab_file=None,
             do_lower_case=True, fine_tune_top_layers=0, init_checkpoint=None,
             learning_rate=2e-5, train_batch_size=32, num_train_epochs=3.0,
             warmup_proportion=0.1, head_dropout=0.1, seed=0, deterministic=False, do_train=True)
SPEC = {"name": "imdb", "labels": ["neg", "pos"], "is_regression": False}


def manifest(**changes):
    return {"flags": dict(FLAGS, **changes), "task_spec": SPEC,
            run_contract.TRAIN_DATA_KEY: "a" * 64}


def test_changes_are_named_old_to_new():
    new = dict(FLAGS, head="mean", learning_rate=1e-3)
    assert run_contract.rerun_changes(manifest(), new, ["neg", "pos"], "b" * 64) == [
        "head: pooled -> mean", "learning_rate: 2e-05 -> 0.001",
        "training data (sha256 of the train examples): aaaaaaaaaaaa -> bbbbbbbbbbbb"]
    assert run_contract.rerun_changes(manifest(), FLAGS, ["pos", "neg"], "a" * 64) == [
        "labels: ['neg', 'pos'] -> ['pos', 'neg']"]


def test_an_eval_only_rerun_may_change_the_schedule_and_data_but_not_the_model(tmp_path):
    eval_only = dict(FLAGS, do_train=False, learning_rate=1.0, seed=7)
    assert run_contract.rerun_changes(manifest(), eval_only, ["neg", "pos"], None) == []
    moved = dict(eval_only, bert_hub_module_handle=os.path.relpath("/models/hub"))
    assert run_contract.rerun_changes(manifest(), moved, ["neg", "pos"]) == []  # same path
    other = dict(eval_only, bert_hub_module_handle="/models/other")
    assert run_contract.rerun_changes(manifest(), other, ["neg", "pos"]) == [
        "bert_hub_module_handle: /models/hub -> /models/other"]


def test_check_rerun_refuses_then_clears_only_the_kits_files(tmp_path):
    out = str(tmp_path)
    outputs.write_manifest(out, manifest())
    names = ["checkpoint", "model.ckpt-5.index", "model.ckpt-5.data-00000-of-00001",
             "events.out.tfevents.1.vm", "train.tf_record", "train.tf_record.meta.json",
             "eval_results.json", "predictions.jsonl", "train_history.json", "notes.txt",
             "run.lock"]
    for name in names:
        open(os.path.join(out, name), "w").close()
    os.makedirs(os.path.join(out, "eval"))
    changed = dict(FLAGS, max_seq_length=64)
    with pytest.raises(BertTF1Error, match="holds a run with other settings: max_seq_length: "
                                           "128 -> 64. Repeat its flags to continue it"):
        run_contract.check_rerun(out, changed, ["neg", "pos"], "a" * 64)
    assert len(os.listdir(out)) == len(names) + 2  # nothing touched
    assert run_contract.check_rerun(out, changed, ["neg", "pos"], "a" * 64, overwrite=True)
    assert sorted(os.listdir(out)) == ["notes.txt", "run.lock"]
    assert not run_contract.check_rerun(out, changed, ["neg", "pos"])  # nothing to protect


def test_status_is_written_on_every_exit_path(tmp_path):
    status = run_contract.RunStatus(str(tmp_path))
    status.fail(ValueError("before start"))  # a refused run leaves the old manifest alone
    assert not os.path.exists(str(tmp_path / "run_manifest.json"))
    status.start({"flags": {}})
    status.fail(KeyboardInterrupt())
    with open(str(tmp_path / "run_manifest.json")) as handle:
        written = json.load(handle)
    assert (written["status"], written["error"]) == ("failed", "KeyboardInterrupt: interrupted")
    status.start({"flags": {}})
    status.finish(results={"eval_accuracy": 1.0})
    with open(str(tmp_path / "run_manifest.json")) as handle:
        written = json.load(handle)
    assert written["status"] == "finished" and "error" not in written


def test_examples_fingerprint_sees_labels_and_order():
    a = [InputExample("1", "good", label="pos"), InputExample("2", "bad", label="neg")]
    b = [InputExample("1", "good", label="neg"), InputExample("2", "bad", label="pos")]
    assert run_contract.examples_fingerprint(a) != run_contract.examples_fingerprint(b)
    assert run_contract.examples_fingerprint(a) != run_contract.examples_fingerprint(a[::-1])
    assert run_contract.examples_fingerprint(a) == run_contract.examples_fingerprint(list(a))


def test_an_eval_only_run_keeps_the_record_of_the_training(tmp_path):
    out = str(tmp_path)
    outputs.write_manifest(out, manifest())
    open(os.path.join(out, "model.ckpt-5.index"), "w").close()
    eval_only = {"flags": dict(FLAGS, do_train=False, learning_rate=1.0)}
    run_contract.carry_training_record(out, eval_only, trains=False)
    outputs.write_manifest(out, eval_only)
    later = dict(FLAGS, learning_rate=1e-3)  # a training rerun: compared with the training
    assert run_contract.rerun_changes(outputs.read_manifest(out), later, ["neg", "pos"],
                                      "c" * 64) == [
        "learning_rate: 2e-05 -> 0.001",
        "training data (sha256 of the train examples): aaaaaaaaaaaa -> cccccccccccc"]


def test_an_eval_only_rerun_on_a_carved_dev_split_keeps_its_seed_and_dev_fraction(tmp_path):
    trained = manifest(dev_fraction=0.1)
    eval_only = dict(FLAGS, do_train=False, dev_fraction=0.2, seed=1)
    # A task with its own dev split: seed and dev_fraction do not choose the examples.
    assert run_contract.rerun_changes(trained, eval_only, ["neg", "pos"]) == []
    hint = (" (the dev split is carved from train with it: another value evaluates on training "
            "examples)")
    assert run_contract.rerun_changes(trained, eval_only, ["neg", "pos"], carved_dev=True) == [
        "seed: 0 -> 1" + hint, "dev_fraction: 0.1 -> 0.2" + hint]
    # Compared with the run that trained the model, not with a later eval-only run's manifest.
    later = dict(manifest(dev_fraction=0.5, do_train=False), trained_by=trained)
    same = dict(FLAGS, do_train=False, dev_fraction=0.1)
    assert run_contract.rerun_changes(later, same, ["neg", "pos"], carved_dev=True) == []
    run_dir = str(tmp_path)
    with open(os.path.join(run_dir, "model.ckpt-3.index"), "w"):
        pass
    outputs.write_manifest(run_dir, trained)
    with pytest.raises(BertTF1Error, match=r"holds a run with other settings: seed: 0 -> 1 "):
        run_contract.check_rerun(run_dir, eval_only, ["neg", "pos"], carved_dev=True)
