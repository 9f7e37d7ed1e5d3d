"""The HF converter against HuggingFace transformers itself, not only our numpy forward pass.

tests/data/hf_reference/ holds two random models and their outputs as computed by transformers
(written once by tests/data/make_hf_reference.py in a side venv; torch and transformers are not in
the lock): a BertModel saved as model.safetensors and a BertForSequenceClassification saved as
pytorch_model.bin (torch's zip format). Both use gelu_new, Google's tanh GELU, so the converted
checkpoint run through bert.modeling.BertModel must give the same numbers to float32 precision.
"""
import json
import os
import shutil

import numpy as np
import pytest
from support import REPO_ROOT

from bert_tf1.convert import hf_convert, safetensors_io, torch_checkpoint

DATA = os.path.join(REPO_ROOT, "tests", "data", "hf_reference")
ATOL = 1e-5


def reference_inputs():
    with np.load(os.path.join(DATA, "inputs.npz")) as arrays:
        return arrays["input_ids"], arrays["attention_mask"], arrays["token_type_ids"]


def reference_outputs(name):
    with np.load(os.path.join(DATA, name, "outputs.npz")) as arrays:
        return {key: arrays[key] for key in arrays.files}


def tf_forward(bert_dir, ids, mask, segments):
    """pooled [batch, hidden] and sequence [batch, seq, hidden] of the converted checkpoint."""
    import tensorflow as tf
    from bert import modeling

    from bert_tf1.modeling import bert_dir as bert_dir_lib

    source = bert_dir_lib.load_bert_directory(bert_dir)
    with tf.Graph().as_default() as graph:
        model = modeling.BertModel(config=source.config, is_training=False,
                                   input_ids=tf.constant(ids), input_mask=tf.constant(mask),
                                   token_type_ids=tf.constant(segments))
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            saver.restore(sess, source.checkpoint)
            return sess.run({"pooled": model.get_pooled_output(),
                             "sequence": model.get_sequence_output()})


def test_fixture_was_written_by_transformers_with_the_tanh_gelu():
    with open(os.path.join(DATA, "versions.json")) as handle:
        versions = json.load(handle)
    assert versions["torch"].startswith("2.") and versions["transformers"]
    for name in ("bert_model", "classifier"):
        with open(os.path.join(DATA, name, "config.json")) as handle:
            assert json.load(handle)["hidden_act"] == "gelu_new"


@pytest.mark.e2e
def test_bert_model_safetensors_matches_transformers(tmp_path):
    hf_convert.convert_hf_to_tf1(os.path.join(DATA, "bert_model"), str(tmp_path / "tf1"))
    ids, mask, segments = reference_inputs()
    got = tf_forward(str(tmp_path / "tf1"), ids, mask, segments)
    expected = reference_outputs("bert_model")
    np.testing.assert_allclose(got["pooled"], expected["pooler_output"], atol=ATOL, rtol=0)
    real = mask.astype(bool)  # padded positions are not compared: neither side defines them
    np.testing.assert_allclose(got["sequence"][real], expected["last_hidden_state"][real],
                               atol=ATOL, rtol=0)


@pytest.mark.e2e
def test_sequence_classifier_pytorch_bin_matches_transformers(tmp_path):
    """BERT of a BertForSequenceClassification (torch's .bin) converts; its classifier layer
    applied to our pooled output gives transformers' logits.

    The converter carries the encoder and pre-training heads only (a classifier head belongs to
    a fine-tuning run, named output_weights/output_bias there), so the test moves
    classifier.weight/bias aside before converting and applies them itself.
    """
    source = os.path.join(DATA, "classifier")
    tensors = torch_checkpoint.load_state_dict(os.path.join(source, "pytorch_model.bin"))
    head = {name: tensors.pop(name) for name in ("classifier.weight", "classifier.bias")}
    hf_dir = tmp_path / "hf"
    hf_dir.mkdir()
    for name in ("config.json", "vocab.txt"):
        shutil.copyfile(os.path.join(source, name), str(hf_dir / name))
    safetensors_io.save_file(tensors, str(hf_dir / "model.safetensors"))
    hf_convert.convert_hf_to_tf1(str(hf_dir), str(tmp_path / "tf1"))

    ids, mask, segments = reference_inputs()
    got = tf_forward(str(tmp_path / "tf1"), ids, mask, segments)
    expected = reference_outputs("classifier")
    np.testing.assert_allclose(got["pooled"], expected["pooler_output"], atol=ATOL, rtol=0)
    logits = got["pooled"] @ head["classifier.weight"].T + head["classifier.bias"]
    assert logits.shape == (2, 3)
    np.testing.assert_allclose(logits, expected["logits"], atol=ATOL, rtol=0)
    # The reference is not degenerate: the two inputs get logits 20x further apart than ATOL.
    assert np.abs(expected["logits"][0] - expected["logits"][1]).max() > 20 * ATOL
