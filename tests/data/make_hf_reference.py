"""Writes tests/data/hf_reference/: outputs of HuggingFace transformers itself (run once).

The converter's other tests compare TF1 outputs with the project's own numpy forward pass of HF's
semantics; these files let the suite compare with `transformers` itself. This script is NOT run
by the test suite and does not run in the project's Python 3.7 venv (torch and transformers are
not in its lock). It was run once with Python 3.11 beside torch 2.13.0 (CPU) and transformers:

    python3.11 -m venv /tmp/hfvenv
    /tmp/hfvenv/bin/pip install torch==2.13.0 transformers safetensors
    /tmp/hfvenv/bin/python tests/data/make_hf_reference.py

Outputs (80 kB on disk), from random seeded models (vocab 30 = tests/data/torch_bert_tiny/vocab.txt,
hidden 8, 2 layers, 2 heads, FFN 16, 16 positions, hidden_act gelu_new = Google's tanh GELU, so
the comparison can be tight; HF's erf "gelu" differs from Google's by design, measured elsewhere):
  bert_model/          BertModel.save_pretrained (model.safetensors, config.json) + vocab.txt
  bert_model/outputs.npz   last_hidden_state [2, 7, 8], pooler_output [2, 8]
  classifier/          BertForSequenceClassification (3 labels), saved as pytorch_model.bin
                       (torch's zip format) + config.json + vocab.txt
  classifier/outputs.npz   logits [2, 3], pooler_output [2, 8], last_hidden_state [2, 7, 8]
  inputs.npz           input_ids, attention_mask, token_type_ids [2, 7] (second row padded)
  versions.json        torch and transformers versions that wrote them
"""
import json
import os
import shutil

import numpy as np
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "hf_reference")
VOCAB = os.path.join(HERE, "torch_bert_tiny", "vocab.txt")
CONFIG = dict(vocab_size=30, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
              intermediate_size=16, max_position_embeddings=16, type_vocab_size=2,
              hidden_act="gelu_new", layer_norm_eps=1e-12)

INPUT_IDS = [[2, 7, 12, 19, 3, 8, 3], [2, 25, 6, 3, 0, 0, 0]]
ATTENTION_MASK = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]]
TOKEN_TYPE_IDS = [[0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0]]


def randomize(model, seed):
    """Every parameter drawn at a scale where the layers do visible work (HF's init is 0.02)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in sorted(model.named_parameters()):
            if "LayerNorm.weight" in name:
                parameter.copy_(1 + 0.1 * torch.randn(parameter.shape, generator=gen))
            else:
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=gen))
    return model.eval()


def run(model):
    inputs = dict(input_ids=torch.tensor(INPUT_IDS),
                  attention_mask=torch.tensor(ATTENTION_MASK),
                  token_type_ids=torch.tensor(TOKEN_TYPE_IDS))
    with torch.no_grad():
        return model(**inputs, output_hidden_states=True)


def save(model, name, outputs, safe):
    folder = os.path.join(OUT, name)
    if safe:
        model.save_pretrained(folder)
    else:
        # transformers 5 writes safetensors only; torch.save of the state dict is what its
        # save_pretrained(safe_serialization=False) wrote before (pytorch_model.bin).
        os.makedirs(folder)
        model.config.save_pretrained(folder)
        torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
    shutil.copyfile(VOCAB, os.path.join(folder, "vocab.txt"))
    np.savez(os.path.join(folder, "outputs.npz"),
             **{key: value.detach().numpy().astype(np.float32) for key, value in outputs.items()})


def main():
    torch.manual_seed(0)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    config = transformers.BertConfig(attn_implementation="eager", **CONFIG)
    bert = randomize(transformers.BertModel(config), seed=1)
    result = run(bert)
    save(bert, "bert_model", {"last_hidden_state": result.last_hidden_state,
                              "pooler_output": result.pooler_output}, safe=True)

    config = transformers.BertConfig(attn_implementation="eager", num_labels=3, **CONFIG)
    classifier = randomize(transformers.BertForSequenceClassification(config), seed=2)
    result = run(classifier)
    pooled = classifier.bert.pooler(result.hidden_states[-1])
    save(classifier, "classifier", {"logits": result.logits, "pooler_output": pooled,
                                    "last_hidden_state": result.hidden_states[-1]}, safe=False)
    np.savez(os.path.join(OUT, "inputs.npz"), input_ids=np.array(INPUT_IDS, np.int32),
             attention_mask=np.array(ATTENTION_MASK, np.int32),
             token_type_ids=np.array(TOKEN_TYPE_IDS, np.int32))
    with open(os.path.join(OUT, "versions.json"), "w") as handle:
        json.dump({"torch": torch.__version__, "transformers": transformers.__version__}, handle,
                  indent=2, sort_keys=True)
        handle.write("\n")
    for root, _, files in sorted(os.walk(OUT)):
        for name in sorted(files):
            path = os.path.join(root, name)
            print("%8d %s" % (os.path.getsize(path), os.path.relpath(path, HERE)))


if __name__ == "__main__":
    main()
