import json
import os

import numpy as np
import pytest
import tensorflow as tf
from bert import tokenization
from support import run_python

from bert_tf1.convert import tiny_bert
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import pretraining_heads

ENGLISH = [
    "The movie was surprisingly good, and the actors played their characters very well.",
    "I would not watch this film again: the plot made no sense and the ending was awful.",
    "Please send me the report before the meeting tomorrow morning.",
    "She walked along the river with her father and talked about the children.",
]


def test_vocab_starts_with_special_tokens_and_is_unique():
    tokens = tiny_bert.tiny_vocab_tokens()
    assert tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(tokens) == len(set(tokens))
    assert any(t.startswith("##") for t in tokens)


def test_ordinary_english_tokenizes_without_unk(tiny_bert_dir):
    tokenizer = tokenization.FullTokenizer(os.path.join(tiny_bert_dir, "vocab.txt"),
                                           do_lower_case=True)
    pieces = [p for sentence in ENGLISH for p in tokenizer.tokenize(sentence)]
    assert "[UNK]" not in pieces
    whole_words = [p for p in pieces if not p.startswith("##")]
    # Most words are in the vocabulary as whole words, not spelled out letter by letter.
    assert len(whole_words) / float(len(pieces)) > 0.8


def test_vocab_size_pads_with_unused_tokens_and_rejects_too_small():
    base = len(tiny_bert.tiny_vocab_tokens())
    padded = tiny_bert.tiny_vocab_tokens(min_size=base + 10)
    assert len(padded) == base + 10 and padded[-1] == "[unused9]"
    with pytest.raises(BertTF1Error, match="too small"):
        tiny_bert.tiny_vocab_tokens(min_size=10)


def test_writes_google_layout_with_pretraining_heads(tiny_bert_dir):
    with open(os.path.join(tiny_bert_dir, "bert_config.json")) as handle:
        config = json.load(handle)
    assert (config["num_hidden_layers"], config["hidden_size"], config["num_attention_heads"],
            config["intermediate_size"]) == (2, 128, 2, 512)
    with open(os.path.join(tiny_bert_dir, "vocab.txt")) as handle:
        assert len(handle.read().splitlines()) == config["vocab_size"]
    names = dict(tf.train.list_variables(os.path.join(tiny_bert_dir, "bert_model.ckpt")))
    for name in (pretraining_heads.MASKED_LM_VARIABLES + pretraining_heads.NEXT_SENTENCE_VARIABLES
                 + ("bert/embeddings/word_embeddings",
                    "bert/encoder/layer_1/attention/self/query/kernel",
                    "bert/pooler/dense/kernel")):
        assert name in names, name
    assert names["bert/embeddings/word_embeddings"] == [config["vocab_size"], 128]


def _values(bert_dir):
    reader = tf.train.load_checkpoint(os.path.join(bert_dir, "bert_model.ckpt"))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    first, second, third = (str(tmp_path / name) for name in ("a", "b", "c"))
    kwargs = dict(layers=1, hidden=32, heads=2, intermediate=64)
    tiny_bert.make_tiny_bert(first, seed=7, **kwargs)
    tiny_bert.make_tiny_bert(second, seed=7, **kwargs)
    tiny_bert.make_tiny_bert(third, seed=8, **kwargs)
    a, b, c = _values(first), _values(second), _values(third)
    assert sorted(a) == sorted(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    kernel = "bert/encoder/layer_0/attention/self/query/kernel"
    assert not np.allclose(a[kernel], c[kernel])


def test_refuses_to_overwrite_and_cli_reports_error(tmp_path, tiny_bert_dir):
    with pytest.raises(BertTF1Error, match="--overwrite"):
        tiny_bert.make_tiny_bert(tiny_bert_dir)
    result = run_python(["-m", "bert_tf1.cli.make_tiny", "--output", tiny_bert_dir], check=False)
    assert result.returncode == 2
    assert "already holds a BERT" in result.stderr and "Traceback" not in result.stderr


def test_rejects_hidden_not_multiple_of_heads():
    with pytest.raises(BertTF1Error, match="multiple of --heads"):
        tiny_bert.tiny_bert_config(100, hidden=130, heads=4)
