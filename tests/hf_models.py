"""A random HuggingFace BERT in numpy, written as an HF model directory (shared by the converter
and weights-fetching tests)."""
import json
import math
import os

import numpy as np

from bert_tf1.convert import safetensors_io

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
