"""Writes the real PyTorch checkpoints under tests/data/torch_bert_tiny/ (run once, with torch).

The converter reads pytorch_model.bin without torch (bert_tf1/torch_checkpoint.py), so its tests
need files written by torch itself, not by our own idea of the format. This script is NOT run by
the test suite and does not run in the project's Python 3.7 venv (torch is not in its lock). It
was run once with Python 3.11 beside a CPU torch and HF's safetensors package:

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install torch==2.13.0 safetensors numpy
    /tmp/torchvenv/bin/python tests/data/make_torch_fixture.py

Outputs, all from one seeded state dict in HuggingFace's BertForPreTraining layout (vocab 30,
hidden 8, 2 layers, 2 heads, FFN 16, 16 positions):
  config.json, vocab.txt         the HF model directory's other files
  pytorch_model.bin              torch.save default: the zip format (torch >= 1.6)
  pytorch_model_legacy.bin       _use_new_zipfile_serialization=False: the pre-1.6 pickle stream
  sharded/                       the same weights in two zip shards + pytorch_model.bin.index.json
  reference.safetensors          every tensor again, contiguous, written by HF's safetensors
  dtypes.bin, dtypes.json        one tensor per storage type the reader supports, and its values

The state dict deliberately holds what real checkpoints hold and a naive reader gets wrong:
  - query/key/value weights and biases are slices of one fused tensor (storage offsets != 0);
  - intermediate.dense.weight is a transposed view (strides (1, 16), not C order);
  - cls.predictions.decoder.weight/.bias share storage with the word embeddings and
    cls.predictions.bias, as BERT's tied weights do;
  - bert.embeddings.position_ids is HF's int64 buffer, arange(16).expand(1, -1) (stride 0);
  - the OrderedDict carries `_metadata`, as nn.Module.state_dict() does.
"""
import collections
import json
import os
import sys

import torch
from safetensors.torch import save_file

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_bert_tiny")
CONFIG = {"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
          "intermediate_size": 16, "max_position_embeddings": 16, "type_vocab_size": 2}


def state_dict():
    gen = torch.Generator().manual_seed(20240)
    h, inner, v = CONFIG["hidden_size"], CONFIG["intermediate_size"], CONFIG["vocab_size"]

    def w(*shape, scale=None):
        return torch.randn(*shape, generator=gen) * (scale or shape[-1] ** -0.5)

    sd = collections.OrderedDict()

    def norm(name):
        sd[name + ".weight"] = 1 + 0.1 * torch.randn(h, generator=gen)
        sd[name + ".bias"] = w(h, scale=0.1)

    def linear(name, out, inp):
        sd[name + ".weight"] = w(out, inp)
        sd[name + ".bias"] = w(out, scale=0.1)

    sd["bert.embeddings.position_ids"] = torch.arange(CONFIG["max_position_embeddings"]).expand(
        (1, -1))
    sd["bert.embeddings.word_embeddings.weight"] = w(v, h, scale=0.5)
    sd["bert.embeddings.position_embeddings.weight"] = w(CONFIG["max_position_embeddings"], h,
                                                         scale=0.5)
    sd["bert.embeddings.token_type_embeddings.weight"] = w(2, h, scale=0.5)
    norm("bert.embeddings.LayerNorm")
    for layer in range(CONFIG["num_hidden_layers"]):
        p = "bert.encoder.layer.%d." % layer
        fused_weight, fused_bias = w(3 * h, h), w(3 * h, scale=0.1)
        for i, part in enumerate(("query", "key", "value")):
            sd[p + "attention.self.%s.weight" % part] = fused_weight[i * h:(i + 1) * h]
            sd[p + "attention.self.%s.bias" % part] = fused_bias[i * h:(i + 1) * h]
        linear(p + "attention.output.dense", h, h)
        norm(p + "attention.output.LayerNorm")
        sd[p + "intermediate.dense.weight"] = w(h, inner, scale=h ** -0.5).t()
        sd[p + "intermediate.dense.bias"] = w(inner, scale=0.1)
        linear(p + "output.dense", h, inner)
        norm(p + "output.LayerNorm")
    linear("bert.pooler.dense", h, h)
    linear("cls.predictions.transform.dense", h, h)
    norm("cls.predictions.transform.LayerNorm")
    sd["cls.predictions.bias"] = w(v, scale=0.1)
    sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]
    sd["cls.predictions.decoder.bias"] = sd["cls.predictions.bias"]
    linear("cls.seq_relationship", 2, h)
    sd._metadata = collections.OrderedDict([("", {"version": 1}), ("bert", {"version": 1})])
    assert not sd["bert.encoder.layer.0.intermediate.dense.weight"].is_contiguous()
    assert sd["bert.encoder.layer.1.attention.self.value.weight"].storage_offset() == 2 * h * h
    return sd


def dtype_tensors():
    """One small tensor per supported storage type, values exact in every dtype (k/8)."""
    base = torch.arange(-6, 6, dtype=torch.float64) / 8
    return collections.OrderedDict([
        ("f16", base[:5].to(torch.float16)),
        ("bf16_t", base[:6].to(torch.bfloat16).reshape(2, 3).t()),
        ("f64", base[3:7].clone()),
        ("i64_scalar", torch.tensor(-3, dtype=torch.int64)),
        ("i32", torch.tensor([-2, 0, 2 ** 30], dtype=torch.int32)),
        ("i16", torch.tensor([-300, 7], dtype=torch.int16)),
        ("i8", torch.tensor([-128, 127], dtype=torch.int8)),
        ("u8", torch.tensor([0, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([True, False, True])),
        ("empty", torch.zeros(0, 3)),
    ])


def main():
    os.makedirs(os.path.join(HERE, "sharded"), exist_ok=True)
    sd = state_dict()
    hf_config = dict(CONFIG, model_type="bert", architectures=["BertForPreTraining"],
                     hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=0.1,
                     attention_probs_dropout_prob=0.1, initializer_range=0.02, pad_token_id=0,
                     position_embedding_type="absolute")
    with open(os.path.join(HERE, "config.json"), "w") as handle:
        json.dump(hf_config, handle, indent=2, sort_keys=True)
        handle.write("\n")
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [
        "w%d" % i for i in range(CONFIG["vocab_size"] - 5)]
    with open(os.path.join(HERE, "vocab.txt"), "w") as handle:
        handle.write("".join(token + "\n" for token in tokens))
    torch.save(sd, os.path.join(HERE, "pytorch_model.bin"))
    torch.save(sd, os.path.join(HERE, "pytorch_model_legacy.bin"),
               _use_new_zipfile_serialization=False)
    save_file({name: value.contiguous().clone() for name, value in sd.items()},
              os.path.join(HERE, "reference.safetensors"), metadata={"format": "pt"})
    # HF's sharding: consecutive state-dict entries per shard, an index mapping name -> shard.
    names = list(sd)
    shards = [names[:len(names) // 2], names[len(names) // 2:]]
    weight_map = {}
    for i, shard in enumerate(shards):
        file_name = "pytorch_model-%05d-of-%05d.bin" % (i + 1, len(shards))
        torch.save(collections.OrderedDict((name, sd[name]) for name in shard),
                   os.path.join(HERE, "sharded", file_name))
        weight_map.update({name: file_name for name in shard})
    total = sum(value.numel() * value.element_size() for value in sd.values())
    with open(os.path.join(HERE, "sharded", "pytorch_model.bin.index.json"), "w") as handle:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, handle,
                  indent=2, sort_keys=True)
        handle.write("\n")
    dtypes = dtype_tensors()
    torch.save(dtypes, os.path.join(HERE, "dtypes.bin"))
    with open(os.path.join(HERE, "dtypes.json"), "w") as handle:
        json.dump({name: {"dtype": str(value.dtype).replace("torch.", ""),
                          "shape": list(value.shape),
                          "values": value.to(torch.float64).flatten().tolist()}
                   for name, value in dtypes.items()}, handle, indent=1, sort_keys=True)
        handle.write("\n")
    print("torch %s, python %s: wrote %s" % (torch.__version__, sys.version.split()[0], HERE))
    for root, _, files in os.walk(HERE):
        for name in sorted(files):
            path = os.path.join(root, name)
            print("%8d %s" % (os.path.getsize(path), os.path.relpath(path, HERE)))


if __name__ == "__main__":
    main()
