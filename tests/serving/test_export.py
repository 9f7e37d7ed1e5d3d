"""bert-tf1-export / export_saved_model: what the SavedModel holds, and what it refuses."""
import json
import os
import shutil

import pytest
import tensorflow as tf
from serving_helpers import read_jsonl

from bert_tf1.cli import export as export_cli
from bert_tf1.errors import BertTF1Error
from bert_tf1.serving import export

pytestmark = pytest.mark.e2e


def test_saved_model_is_self_describing(trained):
    export_dir = trained.export("pooled")
    assert sorted(os.listdir(export_dir)) == ["assets", "saved_model.pb", "variables"]
    assert sorted(os.listdir(os.path.join(export_dir, "assets"))) == [export.METADATA_ASSET,
                                                                      export.VOCAB_ASSET]
    assert not [n for n in os.listdir(os.path.dirname(export_dir)) if "staging" in n]
    metadata = export.read_metadata(export_dir)
    manifest = json.load(open(os.path.join(trained.run("pooled"), "run_manifest.json")))
    assert metadata["labels"] == ["0", "1"] and metadata["task"] == "imdb"
    assert (metadata["head"], metadata["max_seq_length"], metadata["truncation"]) == (
        "pooled", 16, "head")
    assert metadata["do_lower_case"] is True
    assert metadata["text_fields"] == {"text_a": "text", "text_b": None}
    assert metadata["bert_source"] == {"kind": "hub", "hub_module_handle": trained.hub_module}
    assert metadata["source_run"]["manifest"] == manifest
    assert metadata["packages"]["tensorflow"] == "1.15.5"
    assert metadata["global_step"] == 1
    with open(os.path.join(export_dir, "assets", export.VOCAB_ASSET)) as handle, \
            open(os.path.join(trained.hub_module, "assets", "vocab.txt")) as original:
        assert handle.read() == original.read()


def test_signature_takes_token_ids_of_any_length(trained):
    export_dir = trained.export("pooled")
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], export_dir)
        signature = meta_graph.signature_def["serving_default"]
        assert signature.method_name == "tensorflow/serving/predict"
        assert sorted(signature.inputs) == ["input_ids", "input_mask", "segment_ids"]
        for tensor in signature.inputs.values():
            assert tensor.dtype == tf.int32.as_datatype_enum
            assert [d.size for d in tensor.tensor_shape.dim] == [-1, -1]
        assert sorted(signature.outputs) == ["logits", "predicted_ids", "probabilities"]
        fetch = session.graph.get_tensor_by_name(signature.outputs["probabilities"].name)
        feeds = {session.graph.get_tensor_by_name(signature.inputs[name].name): value
                 for name, value in (("input_ids", [[101, 7, 102]]), ("input_mask", [[1, 1, 1]]),
                                     ("segment_ids", [[0, 0, 0]]))}
        probabilities = session.run(fetch, feeds)
    assert probabilities.shape == (1, 2) and abs(probabilities.sum() - 1) < 1e-6


def test_run_classifier_export_dir_exports_at_the_end(trained):
    """The pair run was made with ClassifierRunSettings(export_dir=...) (--export_dir)."""
    export_dir = trained.export("pair")
    metadata = export.read_metadata(export_dir)
    assert metadata["pair_task"] and metadata["source_run"]["output_dir"] == trained.run("pair")
    assert metadata["global_step"] == 1


def copy_run(trained, tmp_path, name="pooled"):
    copy = str(tmp_path / "run")
    shutil.copytree(trained.run(name), copy)
    return copy


def edit_manifest(run_dir, **changes):
    path = os.path.join(run_dir, "run_manifest.json")
    manifest = json.load(open(path))
    manifest.update(changes)
    with open(path, "w") as handle:
        json.dump(manifest, handle)


def test_refuses_an_unfinished_run(trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    edit_manifest(run_dir, status="running")
    with pytest.raises(BertTF1Error, match=r"run.*not finished \(run_manifest.json status "
                                           r"'running'\)"):
        export.export_saved_model(run_dir, str(tmp_path / "export"))
    assert not os.path.exists(str(tmp_path / "export"))


def test_refuses_a_run_without_checkpoint_or_manifest(trained, tmp_path):
    run_dir = copy_run(trained, tmp_path)
    for name in os.listdir(run_dir):
        if name.startswith("model.ckpt") or name == "checkpoint":
            os.remove(os.path.join(run_dir, name))
    with pytest.raises(BertTF1Error, match="%s: no checkpoint" % run_dir):
        export.export_saved_model(run_dir, str(tmp_path / "export"))
    # ... unless --checkpoint names one.
    original = tf.train.latest_checkpoint(trained.run("pooled"))
    export.export_saved_model(run_dir, str(tmp_path / "export"), checkpoint=original)
    assert export.read_metadata(str(tmp_path / "export"))["checkpoint"] == original
    os.remove(os.path.join(run_dir, "run_manifest.json"))
    with pytest.raises(BertTF1Error, match="%s: no run_manifest.json" % run_dir):
        export.export_saved_model(run_dir, str(tmp_path / "other"))


def test_refuses_a_checkpoint_of_another_head(trained, tmp_path):
    """The manifest says frozen_mlp but the checkpoint is a pooled run's: no random weights."""
    run_dir = copy_run(trained, tmp_path)
    manifest = json.load(open(os.path.join(run_dir, "run_manifest.json")))
    manifest["flags"]["head"] = "frozen_mlp"
    edit_manifest(run_dir, flags=manifest["flags"])
    with pytest.raises(BertTF1Error, match="head_hidden/kernel missing"):
        export.export_saved_model(run_dir, str(tmp_path / "export"))


def test_cli_writes_atomically_and_refuses_to_overwrite(trained, tmp_path, capsys):
    output = str(tmp_path / "export")
    assert export_cli.main(["--model_dir", trained.run("frozen_mlp"), "--output", output]) == 0
    assert "head frozen_mlp, max_seq_length 16" in capsys.readouterr().out
    assert export_cli.main(["--model_dir", trained.run("frozen_mlp"), "--output", output]) == 2
    assert "already exists and is not empty (pass --overwrite" in capsys.readouterr().err
    assert export_cli.main(["--model_dir", trained.run("frozen_mlp"), "--output", output,
                            "--overwrite"]) == 0
    assert export.read_metadata(output)["truncation"] == "head+tail:4"
    assert export_cli.main(["--model_dir", str(tmp_path / "nothing"), "--output", output]) == 2
    assert "nothing: no run_manifest.json there" in capsys.readouterr().err
    assert sorted(os.listdir(str(tmp_path))) == ["export"]


def test_regression_export_outputs_predictions(trained):
    metadata = export.read_metadata(trained.export("regression"))
    assert metadata["is_regression"] and metadata["labels"] is None
    assert metadata["signature"]["outputs"] == ["predictions"]
    assert "prediction" in read_jsonl(os.path.join(trained.run("regression"),
                                                   "predictions.jsonl"))[0]
