"""classifier.pipeline's checks before anything is written, on tiny hand-made checkpoints:
the graph a checkpoint was saved from, --init_checkpoint beside a checkpoint or damaged, and
an eval-only rerun carving its dev split differently."""
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_tf1 import data
from bert_tf1.classifier import pipeline
from bert_tf1.classifier.pipeline import ClassifierRunSettings
from bert_tf1.data import fixtures
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import outputs, run_contract


class FakeHubSource(object):
    uses_hub_module = True

    def as_checkpoint_source(self, use_one_hot_embeddings=False):
        return "BertModel from the module's variables"


def save_checkpoint(directory, names, size=2):
    """model.ckpt-4 in `directory` holding float variables `names` of shape [size]."""
    with tf.Graph().as_default():
        for index, name in enumerate(names):
            tf.compat.v1.get_variable(name, initializer=np.arange(size, dtype=np.float32) +
                                      index)
        tf.compat.v1.train.get_or_create_global_step()
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return tf.compat.v1.train.Saver().save(
                session, os.path.join(directory, "model.ckpt"), global_step=4)


@pytest.mark.parametrize("flags, flag", [
    ({"distribution_strategy": "mirrored"}, "--distribution_strategy=mirrored"),
    ({"deterministic": True}, "--deterministic"),
])
def test_a_hub_module_checkpoint_under_a_bert_model_graph_is_one_error(tmp_path, flags, flag):
    run = str(tmp_path)
    save_checkpoint(run, ["module/bert/embeddings/word_embeddings"])
    settings = ClassifierRunSettings(output_dir=run, **flags)
    message = (r"%s holds a checkpoint of a run that built the hub module as hub.Module "
               r"\(variables module/bert/...\), but %s builds BERT as BertModel .*rerun "
               r"without %s" % (run, flag, flag))
    with pytest.raises(BertTF1Error, match=message):
        pipeline.check_checkpoint_graph(settings, FakeHubSource())
    with pytest.raises(BertTF1Error, match=message):  # the graph is never built from it
        pipeline.graph_bert_source(settings, FakeHubSource())
    # Fine: the graph that saved it (no strategy), or a BertModel checkpoint.
    pipeline.check_checkpoint_graph(ClassifierRunSettings(output_dir=run), FakeHubSource())
    other = str(tmp_path / "bert_model_run")
    save_checkpoint(other, ["bert/embeddings/word_embeddings"])
    pipeline.check_checkpoint_graph(ClassifierRunSettings(output_dir=other, **flags),
                                    FakeHubSource())


def test_init_checkpoint_beside_an_output_dir_checkpoint_is_logged(tmp_path, monkeypatch):
    run, init = str(tmp_path / "run"), str(tmp_path / "init")
    resumed = save_checkpoint(run, pipeline.HEAD_VARIABLES)
    init_prefix = save_checkpoint(init, pipeline.HEAD_VARIABLES)
    logged = []
    monkeypatch.setattr(tf.compat.v1.logging, "warning",
                        lambda text, *args: logged.append(text % args))
    pipeline.check_trained_model(ClassifierRunSettings(
        output_dir=run, init_checkpoint=init_prefix, do_eval=True), ["0", "1"])
    assert logged == ["--init_checkpoint %s is not used: %s already holds %s, which this run "
                      "evaluates/predicts with; give another --output_dir to start from "
                      "--init_checkpoint" % (init_prefix, run, resumed)]


def test_a_damaged_init_checkpoint_of_the_right_size_is_one_error(tmp_path):
    prefix = save_checkpoint(str(tmp_path / "init"), pipeline.HEAD_VARIABLES, size=256)
    settings = ClassifierRunSettings(output_dir=str(tmp_path / "run"), init_checkpoint=prefix,
                                     do_eval=True)
    pipeline.check_trained_model(settings, ["0", "1"])  # intact: fine
    data_file = prefix + ".data-00000-of-00001"
    with open(data_file, "r+b") as handle:  # same size, other bytes
        handle.seek(100)
        handle.write(b"\xff" * 16)
    with pytest.raises(BertTF1Error, match=r"--init_checkpoint %s does not read back \(%s: "
                                           % (prefix, prefix)):
        pipeline.check_trained_model(settings, ["0", "1"])


def test_an_eval_only_rerun_carving_dev_with_another_seed_is_refused(tmp_path):
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=4)
    run = str(tmp_path / "run")
    os.makedirs(run)
    open(os.path.join(run, "model.ckpt-4.index"), "w").close()
    trained = ClassifierRunSettings(task_name="imdb", data_dir=data_dir, output_dir=run,
                                    do_train=True, do_eval=True, seed=0)
    spec = data.resolve_task("imdb", data_dir)
    labels = list(spec.labels)
    outputs.write_manifest(run, {"flags": trained.to_dict(), "task_spec": spec.to_dict()})
    rerun = ClassifierRunSettings(task_name="imdb", data_dir=data_dir, output_dir=run,
                                  do_eval=True, seed=1, dev_fraction=0.25)
    with pytest.raises(BertTF1Error, match=r"seed: 0 -> 1 \(the dev split is carved .*; "
                                           r"dev_fraction: 0.1 -> 0.25 \("):
        pipeline.check_run_contract(rerun, labels, {}, spec)
    # The test split is read from data_dir, not carved: seed and dev_fraction do not matter.
    on_test = ClassifierRunSettings(task_name="imdb", data_dir=data_dir, output_dir=run,
                                    do_eval=True, eval_split="test", seed=1)
    pipeline.check_run_contract(on_test, labels, {}, spec)
    assert run_contract.holds_trained_run(run)
