"""The silent wrong-head bug (issue 10, item 5): a trained model is never used with other flags.

Predicting from a --head=mean run without repeating --head=mean used to restore every variable
(same names and shapes) and return ~1/N for every class. Now the run manifest beside the
checkpoint is compared with the flags, and a run that does not train must restore its head.
"""
import os
import shutil

import pytest

from bert_tf1.classifier import pipeline as classifier_pipeline
from bert_tf1.classifier.pipeline import run_classifier
from bert_tf1.errors import BertTF1Error

pytestmark = pytest.mark.e2e


def predict_only(trained, output_dir, **changes):
    values = dict(trained.settings("mean").to_dict(), output_dir=output_dir, do_train=False,
                  do_predict=True)
    values.update(changes)
    return classifier_pipeline.ClassifierRunSettings(**values)


def test_predicting_from_the_trained_output_dir_with_another_head(trained, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(trained.run("mean"), copy)
    before = sorted(os.listdir(copy))
    with pytest.raises(BertTF1Error) as error:
        run_classifier(predict_only(trained, copy, head="pooled"))
    # The output_dir contract (runtime.run_contract) names each change, trained -> given.
    assert str(error.value) == (
        "%s holds a run with other settings: head: mean -> pooled. Repeat its flags to use it, "
        "give another --output_dir, or pass --overwrite_output_dir to start over (see %s)"
        % (copy, os.path.join(copy, "run_manifest.json")))
    assert sorted(os.listdir(copy)) == before  # stopped before writing anything


def test_init_checkpoint_names_every_mismatch(trained, tmp_path):
    import tensorflow as tf

    checkpoint = tf.train.latest_checkpoint(trained.run("mean"))
    output_dir = str(tmp_path / "new")
    with pytest.raises(BertTF1Error) as error:
        run_classifier(predict_only(trained, output_dir, init_checkpoint=checkpoint,
                                    head="pooled", max_seq_length=24,
                                    task_options={"labels": ["1", "0"]}))
    message = str(error.value)
    for part in ("the trained model in %s does not match this run: " % os.path.dirname(checkpoint),
                 "head: mean -> pooled", "max_seq_length: 16 -> 24",
                 "labels: ['0', '1'] -> ['1', '0']"):
        assert part in message, message
    assert not os.path.exists(output_dir)


def test_a_run_that_does_not_train_must_restore_its_head(trained, tmp_path):
    output_dir = str(tmp_path / "new")
    with pytest.raises(BertTF1Error, match="holds no checkpoint and no --init_checkpoint is "
                                           "given, so the classifier head"):
        run_classifier(predict_only(trained, output_dir))
    with pytest.raises(BertTF1Error, match="lacks output_weights, output_bias, "
                                           "head_hidden/kernel, head_hidden/bias"):
        run_classifier(predict_only(trained, output_dir, head="frozen_mlp",
                                    init_checkpoint=trained.hub_module))
    assert not os.path.exists(output_dir)


def test_matching_flags_pass_and_further_fine_tuning_only_warns(trained, tmp_path):
    import tensorflow as tf

    checkpoint = tf.train.latest_checkpoint(trained.run("mean"))
    classifier_pipeline.check_trained_model(
        predict_only(trained, str(tmp_path / "a"), init_checkpoint=checkpoint), ["0", "1"])
    # Fine-tuning a trained classifier further on other labels (e.g. MNLI -> RTE) is allowed.
    classifier_pipeline.check_trained_model(
        predict_only(trained, str(tmp_path / "b"), init_checkpoint=checkpoint, head="pooled",
                     do_train=True), ["neg", "pos"])


def test_predict_only_run_with_the_right_flags_predicts_and_exports_what_it_used(trained,
                                                                               tmp_path):
    import tensorflow as tf
    from serving_helpers import assert_same_predictions, read_jsonl

    from bert_tf1.serving import Predictor, export

    checkpoint = tf.train.latest_checkpoint(trained.run("mean"))
    output_dir, export_dir = str(tmp_path / "new"), str(tmp_path / "export")
    run_classifier(predict_only(trained, output_dir, init_checkpoint=checkpoint,
                                export_dir=export_dir))
    rows = read_jsonl(os.path.join(output_dir, "predictions.jsonl"))
    assert_same_predictions(rows, trained.predictions("mean"))
    assert export.read_metadata(export_dir)["checkpoint"] == checkpoint
    with Predictor(export_dir) as predictor:
        assert_same_predictions(predictor.predict([r["text_a"] for r in rows]), rows)
