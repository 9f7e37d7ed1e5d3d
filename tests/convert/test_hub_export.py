import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
from support import checkpoint_outputs, run_python

from bert_tf1.convert import hub_export
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import hub_bert

INPUT_IDS = [[2, 40, 41, 300, 3, 0], [2, 500, 600, 3, 700, 3]]
INPUT_MASK = [[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]]
SEGMENT_IDS = [[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 1, 1]]
MLM_POSITIONS = [[1, 3], [2, 4]]

# Runs in a fresh Python process: loads the module the way a user would and saves its outputs.
RELOAD_SCRIPT = r"""
import sys, numpy as np, tensorflow as tf, tensorflow_hub as hub
module_dir, out = sys.argv[1], sys.argv[2]
inputs = dict(input_ids=%r, input_mask=%r, segment_ids=%r)
with tf.Graph().as_default():
    default = hub.Module(module_dir)
    train = hub.Module(module_dir, tags={"train"})
    tokens = default(inputs=inputs, signature="tokens", as_dict=True)
    train_tokens = train(inputs=inputs, signature="tokens", as_dict=True)
    info = default(signature="tokenization_info", as_dict=True)
    mlm = default(inputs=dict(inputs, mlm_positions=%r), signature="mlm", as_dict=True)
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), tf.tables_initializer()])
        values = sess.run(dict(pooled=tokens["pooled_output"], sequence=tokens["sequence_output"],
                               vocab=info["vocab_file"], lower=info["do_lower_case"],
                               mlm=mlm["mlm_logits"]))
        values["train1"] = sess.run(train_tokens["sequence_output"])
        values["train2"] = sess.run(train_tokens["sequence_output"])
    values["signatures"] = np.array(sorted(default.get_signature_names()))
np.savez(out, **values)
""" % (INPUT_IDS, INPUT_MASK, SEGMENT_IDS, MLM_POSITIONS)


def checkpoint_reference(bert_dir):
    return checkpoint_outputs(bert_dir, INPUT_IDS, INPUT_MASK, SEGMENT_IDS, MLM_POSITIONS)


@pytest.fixture(scope="module")
def reloaded(tiny_hub_module, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("reload") / "outputs.npz")
    run_python(["-c", RELOAD_SCRIPT, tiny_hub_module, out])
    return dict(np.load(out))


def test_module_layout(tiny_hub_module):
    for name in ("tfhub_module.pb", "saved_model.pb", "assets/vocab.txt",
                 "variables/variables.index"):
        assert os.path.exists(os.path.join(tiny_hub_module, name)), name
    leftovers = [n for n in os.listdir(os.path.dirname(tiny_hub_module)) if "staging" in n]
    assert leftovers == []


def test_default_tags_equal_bert_model_on_checkpoint(reloaded, tiny_bert_dir):
    reference = checkpoint_reference(tiny_bert_dir)
    np.testing.assert_allclose(reloaded["sequence"], reference["sequence"], atol=1e-5)
    np.testing.assert_allclose(reloaded["pooled"], reference["pooled"], atol=1e-5)


def test_mlm_logits_equal_checkpoint_head(reloaded, tiny_bert_dir):
    reference = checkpoint_reference(tiny_bert_dir)
    assert reloaded["mlm"].shape == (2, 2, len(open(os.path.join(tiny_bert_dir, "vocab.txt"))
                                                   .read().splitlines()))
    np.testing.assert_allclose(reloaded["mlm"], reference["mlm"], atol=1e-4)


def test_train_tags_apply_dropout(reloaded):
    assert not np.allclose(reloaded["train1"], reloaded["train2"])
    assert not np.allclose(reloaded["train1"], reloaded["sequence"])


def test_tokenization_info_points_at_module_asset(reloaded, tiny_hub_module, tiny_bert_dir):
    vocab_path = reloaded["vocab"].item().decode("utf-8")
    assert os.path.realpath(vocab_path) == os.path.realpath(
        os.path.join(tiny_hub_module, "assets", "vocab.txt"))
    with open(vocab_path) as exported, open(os.path.join(tiny_bert_dir, "vocab.txt")) as source:
        assert exported.read() == source.read()
    assert bool(reloaded["lower"]) is True
    assert list(reloaded["signatures"]) == ["mlm", "tokenization_info", "tokens"]


def test_tokenizer_from_module(tiny_hub_module):
    tokenizer = hub_bert.create_tokenizer_from_hub_module(tiny_hub_module)
    assert tokenizer.tokenize("The Movie") == ["the", "movie"]


def copy_bert(src, dst):
    shutil.copytree(src, dst)
    return dst


def rewrite_checkpoint(source_dir, bert_dir, keep=lambda name: True, replace=None):
    """Copies a BERT directory, keeping only the variables `keep` accepts and substituting the
    arrays in `replace` ({name: array})."""
    os.makedirs(bert_dir)
    for name in ("bert_config.json", "vocab.txt"):
        shutil.copy(os.path.join(source_dir, name), bert_dir)
    replace = replace or {}
    with tf.Graph().as_default():
        reader = tf.train.load_checkpoint(os.path.join(source_dir, "bert_model.ckpt"))
        variables = [tf.Variable(replace.get(name, reader.get_tensor(name)), name=name)
                     for name in reader.get_variable_to_shape_map() if keep(name)]
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver(variables).save(sess, os.path.join(bert_dir,
                                                                        "bert_model.ckpt"))
    return bert_dir


def test_checkpoint_without_mlm_head_exports_without_mlm(tiny_bert_dir, tmp_path):
    bert_dir = rewrite_checkpoint(tiny_bert_dir, str(tmp_path / "encoder_only"),
                                  keep=lambda name: name.startswith("bert/"))
    result = hub_export.export_hub_module(bert_dir, str(tmp_path / "module"))
    assert result["signatures"] == ["tokens", "tokenization_info"]


def test_cased_vocabulary_infers_do_lower_case_false(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text(u"[PAD]\n[UNK]\nThe\nthe\n")
    assert hub_export.infer_do_lower_case(str(vocab)) is False
    vocab.write_text(u"[PAD]\n[UNK]\nthe\n##s\n\u211d\n")  # uncased vocabs keep 'ℝ'
    assert hub_export.infer_do_lower_case(str(vocab)) is True


# ----- bad input: one clear error each, nothing half-written -----

def test_missing_config(tiny_bert_dir, tmp_path):
    bert_dir = copy_bert(tiny_bert_dir, str(tmp_path / "bert"))
    os.remove(os.path.join(bert_dir, "bert_config.json"))
    with pytest.raises(BertTF1Error, match=r"bert_config.json: file not found"):
        hub_export.export_hub_module(bert_dir, str(tmp_path / "module"))
    assert not os.path.exists(str(tmp_path / "module"))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"hidden_size": 128}', "fields 'intermediate_size', .*'vocab_size' missing"),
])
def test_malformed_config(tiny_bert_dir, tmp_path, content, message):
    bert_dir = copy_bert(tiny_bert_dir, str(tmp_path / "bert"))
    with open(os.path.join(bert_dir, "bert_config.json"), "w") as handle:
        handle.write(content)
    with pytest.raises(BertTF1Error, match=message):
        hub_export.export_hub_module(bert_dir, str(tmp_path / "module"))


def test_bad_config_value(tiny_bert_dir, tmp_path):
    bert_dir = copy_bert(tiny_bert_dir, str(tmp_path / "bert"))
    path = os.path.join(bert_dir, "bert_config.json")
    config = json.load(open(path))
    config["num_hidden_layers"] = "two"
    json.dump(config, open(path, "w"))
    with pytest.raises(BertTF1Error, match="'num_hidden_layers' must be a positive integer"):
        hub_export.export_hub_module(bert_dir, str(tmp_path / "module"))


def test_vocab_size_disagrees_with_config(tiny_bert_dir, tmp_path):
    bert_dir = copy_bert(tiny_bert_dir, str(tmp_path / "bert"))
    with open(os.path.join(bert_dir, "vocab.txt"), "a") as handle:
        handle.write("extra\n")
    with pytest.raises(BertTF1Error, match=r"vocab.txt has \d+ tokens but .* vocab_size = \d+"):
        hub_export.export_hub_module(bert_dir, str(tmp_path / "module"))


def test_checkpoint_missing_variables(tiny_bert_dir, tmp_path):
    bert_dir = copy_bert(tiny_bert_dir, str(tmp_path / "bert"))
    path = os.path.join(bert_dir, "bert_config.json")
    config = json.load(open(path))
    config["num_hidden_layers"] = 3  # the checkpoint has layers 0 and 1 only
    json.dump(config, open(path, "w"))
    with pytest.raises(BertTF1Error, match=r"16 variable\(s\) .* missing: "
                                           r"bert/encoder/layer_2/"):
        hub_export.export_hub_module(bert_dir, str(tmp_path / "module"))


def test_checkpoint_shape_disagrees_with_config(tiny_bert_dir, tmp_path):
    bert_dir = copy_bert(tiny_bert_dir, str(tmp_path / "bert"))
    path = os.path.join(bert_dir, "bert_config.json")
    config = json.load(open(path))
    config["intermediate_size"] = 256
    json.dump(config, open(path, "w"))
    with pytest.raises(BertTF1Error, match=r"intermediate/dense/bias is \[512\], expected \[256\]"):
        hub_export.export_hub_module(bert_dir, str(tmp_path / "module"))


def test_pretraining_head_of_wrong_shape_or_incomplete(tiny_bert_dir, tmp_path):
    wrong = rewrite_checkpoint(tiny_bert_dir, str(tmp_path / "wrong"), replace={
        "cls/seq_relationship/output_weights": np.zeros([3, 128], np.float32)})
    with pytest.raises(BertTF1Error, match=r"cls/seq_relationship/output_weights is \[3, 128\], "
                                           r"expected \[2, 128\]"):
        hub_export.export_hub_module(wrong, str(tmp_path / "module"))
    partial = rewrite_checkpoint(tiny_bert_dir, str(tmp_path / "partial"),
                                 keep=lambda name: name != "cls/predictions/output_bias")
    with pytest.raises(BertTF1Error, match=r"masked-LM head \(cls/predictions\) is incomplete: "
                                           r"it lacks cls/predictions/output_bias"):
        hub_export.export_hub_module(partial, str(tmp_path / "module"))
    assert not os.path.exists(str(tmp_path / "module"))


def test_refuses_existing_module_unless_overwrite(tiny_bert_dir, tiny_hub_module, tmp_path):
    target = str(tmp_path / "module")
    shutil.copytree(tiny_hub_module, target)
    before = sorted(os.listdir(target))
    result = run_python(["-m", "bert_tf1.cli.export_hub", "--bert_dir", tiny_bert_dir,
                         "--output", target], check=False)
    assert result.returncode == 2
    assert "already holds a hub module; pass --overwrite" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(os.listdir(target)) == before
    hub_export.export_hub_module(tiny_bert_dir, target, overwrite=True)
    assert os.path.exists(os.path.join(target, "tfhub_module.pb"))
    assert sorted(os.listdir(str(tmp_path))) == ["module"]  # no staging or backup left behind


def test_failed_export_leaves_existing_module_untouched(tiny_bert_dir, tiny_hub_module, tmp_path,
                                                        monkeypatch):
    target = str(tmp_path / "module")
    shutil.copytree(tiny_hub_module, target)
    stamp = os.path.getmtime(os.path.join(target, "saved_model.pb"))

    def broken_export(self, path, checkpoint_path=None):
        os.makedirs(path)
        open(os.path.join(path, "partial"), "w").close()
        raise RuntimeError("disk full")

    from tensorflow_hub import module_spec
    monkeypatch.setattr(module_spec.ModuleSpec, "export", broken_export)
    with pytest.raises(RuntimeError, match="disk full"):
        hub_export.export_hub_module(tiny_bert_dir, target, overwrite=True)
    assert os.path.getmtime(os.path.join(target, "saved_model.pb")) == stamp
    assert sorted(os.listdir(str(tmp_path))) == ["module"]


def test_tf2_saved_model_is_rejected_with_clear_message(tmp_path):
    saved_model = tmp_path / "tf2"
    saved_model.mkdir()
    (saved_model / "saved_model.pb").write_bytes(b"")
    with pytest.raises(BertTF1Error, match="TF2 SavedModel, not a TF1 Hub module"):
        hub_bert.check_hub_module(str(saved_model))
    with pytest.raises(BertTF1Error, match="directory not found"):
        hub_bert.check_hub_module(str(tmp_path / "nowhere"))
