"""HuggingFace safetensors BERT -> Google TF1 checkpoint: names, numerics, errors, round trip.

The HF models here are built in numpy (2 layers, hidden 32, 4 heads, vocab 100) and written with
bert_tf1.safetensors_io; the converted checkpoint is run through bert.modeling.BertModel and
compared with a numpy forward pass of the ORIGINAL HF weights written with HF's semantics.
"""
import json
import math
import os

import numpy as np
import pytest

from bert_tf1 import hf_convert, safetensors_io
from bert_tf1.errors import BertTF1Error
from conftest import run_python

CONFIG = {"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
          "intermediate_size": 64, "max_position_embeddings": 40, "type_vocab_size": 2}
LN_EPS = 1e-12


# ---- a random HF BERT in numpy -----------------------------------------------------------------

def hf_weights(seed=0, heads=("mlm", "nsp"), pooler=True):
    """HF-named (no prefix) float32 weights. Scales are large enough (pre-GELU std ~1) that the
    tanh-vs-erf GELU difference is visible in the outputs, so the tolerance below is earned."""
    rng = np.random.RandomState(seed)
    h, inner, v = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["vocab_size"]

    def w(*shape, scale=None):
        return (rng.randn(*shape) * (scale or 1.0 / math.sqrt(shape[-1]))).astype(np.float32)

    def norm(name):
        return {name + ".weight": (1 + 0.1 * rng.randn(h)).astype(np.float32),
                name + ".bias": w(h, scale=0.1)}

    def linear(name, out, inp):
        return {name + ".weight": w(out, inp), name + ".bias": w(out, scale=0.1)}

    t = {"embeddings.word_embeddings.weight": w(v, h, scale=0.5),
         "embeddings.position_embeddings.weight": w(CONFIG["max_position_embeddings"], h,
                                                    scale=0.5),
         "embeddings.token_type_embeddings.weight": w(2, h, scale=0.5)}
    t.update(norm("embeddings.LayerNorm"))
    for layer in range(CONFIG["num_hidden_layers"]):
        p = "encoder.layer.%d." % layer
        for part in ("query", "key", "value"):
            t.update(linear(p + "attention.self." + part, h, h))
        t.update(linear(p + "attention.output.dense", h, h))
        t.update(norm(p + "attention.output.LayerNorm"))
        t.update(linear(p + "intermediate.dense", inner, h))
        t.update(linear(p + "output.dense", h, inner))
        t.update(norm(p + "output.LayerNorm"))
    if pooler:
        t.update(linear("pooler.dense", h, h))
    if "mlm" in heads:
        t.update(linear("cls.predictions.transform.dense", h, h))
        t.update(norm("cls.predictions.transform.LayerNorm"))
        t["cls.predictions.bias"] = w(v, scale=0.1)
    if "nsp" in heads:
        t.update(linear("cls.seq_relationship", 2, h))
    return t


def write_hf_dir(path, tensors, prefix="bert.", vocab="txt", config=None, extra=None):
    """Writes an HF model directory; cls.* heads never take the prefix, as in HF."""
    os.makedirs(str(path), exist_ok=True)
    named = {(k if k.startswith("cls.") else prefix + k): v for k, v in tensors.items()}
    named.update(extra or {})
    safetensors_io.save_file(named, os.path.join(str(path), "model.safetensors"),
                             metadata={"format": "pt"})
    hf_config = dict(CONFIG, model_type="bert", hidden_act="gelu", layer_norm_eps=LN_EPS,
                     architectures=["BertForPreTraining"], hidden_dropout_prob=0.1,
                     attention_probs_dropout_prob=0.1, initializer_range=0.02)
    hf_config.update(config or {})
    with open(os.path.join(str(path), "config.json"), "w") as handle:
        json.dump(hf_config, handle)
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
        "w%d" % i for i in range(CONFIG["vocab_size"] - 5)]
    if vocab == "txt":
        with open(os.path.join(str(path), "vocab.txt"), "w") as handle:
            handle.write("\n".join(tokens) + "\n")
    else:  # tokenizer.json, ids deliberately not in file order
        vocab_map = {token: i for i, token in reversed(list(enumerate(tokens)))}
        with open(os.path.join(str(path), "tokenizer.json"), "w") as handle:
            json.dump({"normalizer": {"type": "BertNormalizer", "lowercase": True},
                       "model": {"type": "WordPiece", "vocab": vocab_map}}, handle)
    return str(path)


_ERF = np.vectorize(math.erf)


def gelu_erf(x):
    """HF's "gelu": the exact form x * Phi(x)."""
    return 0.5 * x * (1.0 + _ERF(x / math.sqrt(2.0)))


def gelu_tanh(x):
    """Google's modeling.gelu (and HF's "gelu_new"): the tanh approximation."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def layer_norm(x, gamma, beta):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + LN_EPS) * gamma + beta


def reference_forward(t, ids, mask, segments, gelu):
    """HF BertForPreTraining forward in float64 numpy (eval mode): sequence, pooled, mlm, nsp."""
    t = {k: v.astype(np.float64) for k, v in t.items()}

    def lin(x, name):
        return x @ t[name + ".weight"].T + t[name + ".bias"]

    def ln(x, name):
        return layer_norm(x, t[name + ".weight"], t[name + ".bias"])

    batch, length = ids.shape
    heads = CONFIG["num_attention_heads"]
    size = CONFIG["hidden_size"] // heads
    x = (t["embeddings.word_embeddings.weight"][ids]
         + t["embeddings.position_embeddings.weight"][np.arange(length)][None]
         + t["embeddings.token_type_embeddings.weight"][segments])
    x = ln(x, "embeddings.LayerNorm")
    bias = (1.0 - mask[:, None, None, :]) * -10000.0
    for layer in range(CONFIG["num_hidden_layers"]):
        p = "encoder.layer.%d." % layer

        def split(y):
            return y.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

        q, k, v = (split(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        attention = ln(x + lin(context, p + "attention.output.dense"),
                       p + "attention.output.LayerNorm")
        inner = gelu(lin(attention, p + "intermediate.dense"))
        x = ln(attention + lin(inner, p + "output.dense"), p + "output.LayerNorm")
    pooled = np.tanh(lin(x[:, 0], "pooler.dense"))
    out = {"sequence": x, "pooled": pooled}
    if "cls.predictions.bias" in t:
        hidden = ln(gelu(lin(x, "cls.predictions.transform.dense")),
                    "cls.predictions.transform.LayerNorm")
        out["mlm"] = hidden @ t["embeddings.word_embeddings.weight"].T + t["cls.predictions.bias"]
    if "cls.seq_relationship.weight" in t:
        out["nsp"] = lin(pooled, "cls.seq_relationship")
    return out


def tf_forward(bert_dir, ids, mask, segments):
    """Runs the converted checkpoint through bert.modeling.BertModel (is_training=False)."""
    import tensorflow as tf
    from bert import modeling

    from bert_tf1 import bert_dir as bert_dir_lib, pretraining_heads

    source = bert_dir_lib.load_bert_directory(bert_dir)
    graph = tf.Graph()
    with graph.as_default():
        model = modeling.BertModel(config=source.config, is_training=False,
                                   input_ids=tf.constant(ids, tf.int32),
                                   input_mask=tf.constant(mask.astype(np.int32)),
                                   token_type_ids=tf.constant(segments, tf.int32))
        fetches = {"sequence": model.get_sequence_output(), "pooled": model.get_pooled_output()}
        if source.has_variables(pretraining_heads.MASKED_LM_VARIABLES):
            positions = np.tile(np.arange(ids.shape[1], dtype=np.int32), [ids.shape[0], 1])
            fetches["mlm"] = pretraining_heads.masked_lm_logits(
                source.config, model.get_sequence_output(), model.get_embedding_table(),
                tf.constant(positions))
        if source.has_variables(pretraining_heads.NEXT_SENTENCE_VARIABLES):
            fetches["nsp"] = pretraining_heads.next_sentence_logits(
                source.config, model.get_pooled_output())
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            saver.restore(sess, source.checkpoint)
            return sess.run(fetches)


def inputs():
    rng = np.random.RandomState(7)
    ids = rng.randint(0, CONFIG["vocab_size"], size=(3, 12))
    segments = np.zeros_like(ids)
    segments[:, 6:] = 1
    mask = np.ones(ids.shape, np.float64)
    mask[1, 8:] = 0
    mask[2, 4:] = 0
    return ids, mask, segments


# ---- safetensors -------------------------------------------------------------------------------

def test_safetensors_round_trip_all_dtypes(tmp_path):
    rng = np.random.RandomState(0)
    tensors = {"f32": rng.randn(3, 4).astype(np.float32), "f16": rng.randn(5).astype(np.float16),
               "i64": np.arange(6, dtype=np.int64).reshape(2, 3), "i32": np.array([-1, 7], np.int32),
               "empty": np.zeros([0, 3], np.float32)}
    path = str(tmp_path / "m.safetensors")
    safetensors_io.save_file(tensors, path, metadata={"format": "pt"})
    with open(path, "rb") as handle:
        assert int.from_bytes(handle.read(8), "little") % 8 == 0
    loaded, metadata = safetensors_io.load_file(path)
    assert metadata == {"format": "pt"}
    assert sorted(loaded) == sorted(tensors)
    for name, value in tensors.items():
        assert loaded[name].dtype == value.dtype and np.array_equal(loaded[name], value), name


def test_safetensors_bf16_reads_as_float32(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 1e-3, 65504.0], np.float32)
    path = str(tmp_path / "b.safetensors")
    safetensors_io.save_file({"x": values}, path, float_dtype="BF16")
    entries, _, _ = safetensors_io.read_header(path)
    assert entries["x"]["dtype"] == "BF16" and entries["x"]["data_offsets"] == [0, 10]
    loaded, _ = safetensors_io.load_file(path)
    assert loaded["x"].dtype == np.float32
    # bfloat16 keeps 8 significant bits: relative error <= 2^-9.
    np.testing.assert_allclose(loaded["x"], values, rtol=2 ** -9)
    assert loaded["x"][0] == 1.0 and loaded["x"][1] == -2.5 and loaded["x"][2] == 3.140625


def _raw_file(path, header, data=b""):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(len(text).to_bytes(8, "little") + text + data)
    return path


@pytest.mark.parametrize("header,data,message", [
    (None, None, "shorter than the 8-byte header length"),
    (b"{not json", b"", "not UTF-8 JSON"),
    ([1, 2], b"", "must be a JSON object"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"1234", "outside the"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"12345678", "needs 12 bytes"),
    ({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}, b"1", "not supported"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"12345678", "without gaps"),
    ({"a": {"dtype": "F32", "shape": [1]}}, b"1234", "expected keys"),
    ({"__metadata__": {"k": 1}}, b"", "__metadata__ must map"),
])
def test_safetensors_corrupt_header_names_the_file(tmp_path, header, data, message):
    path = str(tmp_path / "bad.safetensors")
    if header is None:
        with open(path, "wb") as handle:
            handle.write(b"\x01\x02")
    else:
        _raw_file(path, header, data)
    with pytest.raises(BertTF1Error) as error:
        safetensors_io.load_file(path)
    assert path in str(error.value) and message in str(error.value)


def test_safetensors_header_longer_than_file(tmp_path):
    path = str(tmp_path / "trunc.safetensors")
    with open(path, "wb") as handle:
        handle.write((1000).to_bytes(8, "little") + b"{}")
    with pytest.raises(BertTF1Error, match="does not fit"):
        safetensors_io.read_header(path)


# ---- conversion numerics -----------------------------------------------------------------------

@pytest.mark.parametrize("prefix,heads,vocab", [("bert.", ("mlm", "nsp"), "txt"),
                                                ("", (), "tokenizer.json")])
def test_converted_model_matches_numpy_reference(tmp_path, prefix, heads, vocab):
    weights = hf_weights(seed=3, heads=heads)
    hf_dir = write_hf_dir(tmp_path / "hf", weights, prefix=prefix, vocab=vocab,
                          extra={prefix + "embeddings.position_ids":
                                 np.arange(40, dtype=np.int64)[None]})
    result = hf_convert.convert_hf_to_tf1(hf_dir, str(tmp_path / "tf1"))
    assert result["heads"] == sorted(heads) and result["notes"] == []
    assert result["do_lower_case"] is (None if vocab == "txt" else True)
    ids, mask, segments = inputs()
    got = tf_forward(str(tmp_path / "tf1"), ids, mask, segments)
    exact = reference_forward(weights, ids, mask, segments, gelu_tanh)
    hf = reference_forward(weights, ids, mask, segments, gelu_erf)
    assert sorted(got) == sorted(exact) == sorted(["sequence", "pooled"] + [
        {"mlm": "mlm", "nsp": "nsp"}[h] for h in heads])
    for key in got:
        # With Google's own (tanh) GELU in the reference, the conversion must be exact up to
        # float32 rounding: any transposition or gamma/beta mix-up gives errors of order 1.
        # Observed: <= 4.5e-6 (MLM logits), <= 1e-6 elsewhere.
        np.testing.assert_allclose(got[key], exact[key], atol=5e-5, rtol=0, err_msg=key)
        # Against HF's own (erf) GELU: |gelu_tanh - gelu_erf| <= 4.73e-4 per activation (at
        # x = -2.70, asserted below). Through 2 layers and LayerNorm it was observed as 5.8e-4
        # (sequence), 4.8e-4 (pooled), 4.0e-4 (NSP) and 3.0e-3 on MLM logits (magnitude ~11:
        # they multiply by the embedding table); bounds: 2e-3, and 5e-3 for MLM logits.
        gap = np.abs(got[key] - hf[key]).max()
        assert gap < (5e-3 if key == "mlm" else 2e-3), (key, gap)
        assert gap > 1e-6, "the test weights must make the GELU difference visible"
    grid = np.linspace(-6, 6, 24001)
    assert np.abs(gelu_tanh(grid) - gelu_erf(grid)).max() < 5e-4
    with open(str(tmp_path / "tf1" / "bert_config.json")) as handle:
        assert json.load(handle)["hidden_act"] == "gelu"
    with open(str(tmp_path / "tf1" / "vocab.txt")) as handle:
        assert handle.read().splitlines()[:3] == ["[PAD]", "[UNK]", "[CLS]"]


def test_converted_dir_validates_and_exports_hub_module_with_mlm(tmp_path):
    import tensorflow_hub as hub

    from bert_tf1 import bert_dir as bert_dir_lib, hub_export

    hf_dir = write_hf_dir(tmp_path / "hf", hf_weights(heads=("mlm",)))
    hf_convert.convert_hf_to_tf1(hf_dir, str(tmp_path / "tf1"))
    source = bert_dir_lib.load_bert_directory(str(tmp_path / "tf1"))
    assert source.vocab_size == 100 and source.config.num_hidden_layers == 2
    assert not any(name.startswith("cls/seq_relationship") for name in source.checkpoint_shapes)
    result = hub_export.export_hub_module(str(tmp_path / "tf1"), str(tmp_path / "module"))
    assert result["signatures"] == ["tokens", "tokenization_info", "mlm"]
    spec = hub.load_module_spec(str(tmp_path / "module"))
    assert set(spec.get_signature_names()) == {"default", "tokens", "tokenization_info", "mlm"} \
        or set(spec.get_signature_names()) == {"tokens", "tokenization_info", "mlm"}


def test_masked_lm_model_without_pooler_gets_initialised_pooler(tmp_path):
    from bert_tf1 import bert_dir as bert_dir_lib

    hf_dir = write_hf_dir(tmp_path / "hf", hf_weights(heads=("mlm",), pooler=False),
                          config={"architectures": ["BertForMaskedLM"]})
    result = hf_convert.convert_hf_to_tf1(hf_dir, str(tmp_path / "tf1"), seed=5)
    assert len(result["notes"]) == 1 and "pooler" in result["notes"][0]
    source = bert_dir_lib.load_bert_directory(str(tmp_path / "tf1"))
    import tensorflow as tf

    kernel = tf.train.load_checkpoint(source.checkpoint).get_tensor("bert/pooler/dense/kernel")
    assert kernel.shape == (32, 32) and 0 < np.abs(kernel).max() <= 0.04


def test_round_trip_tf1_to_safetensors_and_back(tmp_path):
    weights = hf_weights(seed=1)
    hf_dir = write_hf_dir(tmp_path / "hf", weights, prefix="bert.")
    hf_convert.convert_hf_to_tf1(hf_dir, str(tmp_path / "tf1"))
    result = hf_convert.tf1_to_safetensors(str(tmp_path / "tf1"), str(tmp_path / "hf2"))
    assert result["architecture"] == "BertForPreTraining"
    back, metadata = safetensors_io.load_file(str(tmp_path / "hf2" / "model.safetensors"))
    assert metadata == {"format": "pt"}
    original = {(k if k.startswith("cls.") else "bert." + k): v for k, v in weights.items()}
    assert sorted(back) == sorted(original)
    for name, value in original.items():
        assert np.array_equal(back[name], value), name
    with open(str(tmp_path / "hf2" / "config.json")) as handle:
        config = json.load(handle)
    assert config["model_type"] == "bert" and config["hidden_act"] == "gelu_new"
    assert {k: config[k] for k in CONFIG} == CONFIG
    with open(str(tmp_path / "hf2" / "vocab.txt")) as a, open(hf_dir + "/vocab.txt") as b:
        assert a.read() == b.read()
    # ... and the written directory converts again (HF names, our config.json).
    hf_convert.convert_hf_to_tf1(str(tmp_path / "hf2"), str(tmp_path / "tf1b"))


# ---- errors -------------------------------------------------------------------------------------

def _convert_error(tmp_path, tensors, **kwargs):
    hf_dir = write_hf_dir(tmp_path / "hf", tensors, **kwargs)
    with pytest.raises(BertTF1Error) as error:
        hf_convert.convert_hf_to_tf1(hf_dir, str(tmp_path / "out"))
    assert not os.path.exists(str(tmp_path / "out"))
    return str(error.value)


def test_unknown_and_missing_tensors_listed_together(tmp_path):
    weights = hf_weights(heads=())
    del weights["encoder.layer.1.output.dense.bias"]
    weights["encoder.layer.0.attention.self.rotary.weight"] = np.zeros([2], np.float32)
    message = _convert_error(tmp_path, weights)
    assert "unknown tensor(s): bert.encoder.layer.0.attention.self.rotary.weight" in message
    assert "missing tensor(s): encoder.layer.1.output.dense.bias" in message


def test_partial_head_is_missing_tensors(tmp_path):
    weights = hf_weights(heads=("mlm",))
    del weights["cls.predictions.transform.LayerNorm.weight"]
    assert "missing tensor(s): cls.predictions.transform.LayerNorm.weight" in _convert_error(
        tmp_path, weights)


def test_shape_disagreeing_with_config(tmp_path):
    weights = hf_weights(heads=())
    weights["encoder.layer.0.intermediate.dense.weight"] = np.zeros([60, 32], np.float32)
    message = _convert_error(tmp_path, weights)
    assert ("bert.encoder.layer.0.intermediate.dense.weight has shape [60, 32], expected [64, 32]"
            in message)


def test_vocab_size_mismatch(tmp_path):
    message = _convert_error(tmp_path, hf_weights(heads=()), config={"vocab_size": 101})
    assert "vocab_size = 101" in message


def test_corrupt_safetensors_named(tmp_path):
    hf_dir = write_hf_dir(tmp_path / "hf", hf_weights(heads=()))
    path = os.path.join(hf_dir, "model.safetensors")
    with open(path, "r+b") as handle:
        handle.seek(12)
        handle.write(b"\xff\xfe")
    with pytest.raises(BertTF1Error, match="model.safetensors: not a valid safetensors file"):
        hf_convert.convert_hf_to_tf1(hf_dir, str(tmp_path / "out"))


def test_pytorch_bin_only_explains_how_to_convert(tmp_path):
    hf_dir = write_hf_dir(tmp_path / "hf", hf_weights(heads=()))
    os.rename(os.path.join(hf_dir, "model.safetensors"), os.path.join(hf_dir, "pytorch_model.bin"))
    with pytest.raises(BertTF1Error) as error:
        hf_convert.convert_hf_to_tf1(hf_dir, str(tmp_path / "out"))
    assert "torch" in str(error.value) and "safe_serialization=True" in str(error.value)


def test_non_bert_config_rejected(tmp_path):
    message = _convert_error(tmp_path, hf_weights(heads=()), config={"model_type": "roberta"})
    assert "model_type is 'roberta'" in message


def test_cli_converts_and_refuses_non_empty_output(tmp_path, capsys):
    hf_dir = write_hf_dir(tmp_path / "hf", hf_weights(heads=("mlm", "nsp")))
    with open(os.path.join(hf_dir, "tokenizer_config.json"), "w") as handle:
        json.dump({"do_lower_case": False}, handle)
    out = str(tmp_path / "tf1")
    result = run_python(["-m", "bert_tf1.hf_convert", "--hf_dir", hf_dir, "--output", out])
    assert "heads: mlm, nsp" in result.stdout and "--nodo_lower_case" in result.stdout
    assert sorted(os.listdir(out))[:2] == ["bert_config.json", "bert_model.ckpt.data-00000-of-00001"]
    # In-process from here: a second TF start-up in a subprocess costs ~7 s.
    assert hf_convert.main(["--hf_dir", hf_dir, "--output", out]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert hf_convert.main(["--hf_dir", hf_dir, "--output", out, "--overwrite"]) == 0
