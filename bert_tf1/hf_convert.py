"""Converts a HuggingFace BERT (safetensors) to Google's TF1 checkpoint layout, and back.

`bert-tf1-from-hf --hf_dir DIR --output BERT_DIR` reads a HuggingFace BertModel, BertForMaskedLM
or BertForPreTraining directory (config.json, model.safetensors, vocab.txt or tokenizer.json) and
writes bert_config.json, vocab.txt and bert_model.ckpt.* with the variable names of Google's
released checkpoints, so everything that reads a Google BERT (bert_tf1.bert_dir, the hub export,
run_classifier) reads the result. Only numpy and TF are used: there is no torch here.

Name mapping (HF names may carry a "bert." prefix; sentence-transformers models have none):
  embeddings.{word,position,token_type}_embeddings.weight -> bert/embeddings/..._embeddings
  *.LayerNorm.weight / .bias                 -> */LayerNorm/gamma / beta
  *.dense|query|key|value.weight [out, in]   -> */kernel [in, out] (transposed), .bias -> /bias
  encoder.layer.N.*                          -> bert/encoder/layer_N/*
  pooler.dense.*                             -> bert/pooler/dense/*
  cls.predictions.transform.*                -> cls/predictions/transform/*
  cls.predictions.bias                       -> cls/predictions/output_bias
  cls.seq_relationship.weight [2, hidden]    -> cls/seq_relationship/output_weights (no transpose:
                                                Google stores it [2, hidden] too), .bias -> output_bias
cls.predictions.decoder.weight/.bias are ignored when present: BERT ties them to the word
embeddings and cls.predictions.bias.

Numerics: Google's modeling.gelu is the tanh approximation, HF's "gelu" is the exact erf form.
They differ by at most ~1e-3 per activation; tests/test_hf_convert.py measures the effect on the
outputs. BertForMaskedLM has no pooler: it is initialised as Google initialises a new one
(truncated normal, stddev initializer_range, seeded) and reported, so fine-tune before using
pooled_output.
"""
import argparse
import json
import os
import re
import sys

import numpy as np

from bert_tf1.errors import BertTF1Error

SAFETENSORS_NAME = "model.safetensors"
HF_CONFIG_NAME = "config.json"
_IGNORED = re.compile(r"^(embeddings\.position_ids|cls\.predictions\.decoder\.(weight|bias))$")
# HF activation name -> Google bert_config.json hidden_act.
_ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu", "gelu_pytorch_tanh": "gelu",
                "gelu_fast": "gelu", "relu": "relu", "tanh": "tanh"}
_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "max_position_embeddings", "type_vocab_size")
_HEAD_PREFIXES = {"mlm": "cls/predictions/", "nsp": "cls/seq_relationship/"}


def name_map(config):
    """The tensor correspondence for a BERT of shape `config`.

    Args:
      config: dict with HF/Google BERT hyper-parameters (num_hidden_layers is used).

    Returns:
      list of (hf_name without "bert." prefix, google_name, transpose) tuples, encoder first,
      then the pooler, the masked-LM head and the next-sentence head.
    """
    def linear(hf, google):
        return [(hf + ".weight", google + "/kernel", True), (hf + ".bias", google + "/bias", False)]

    def norm(hf, google):
        return [(hf + ".weight", google + "/gamma", False), (hf + ".bias", google + "/beta", False)]

    pairs = [("embeddings.%s_embeddings.weight" % kind, "bert/embeddings/%s_embeddings" % kind,
              False) for kind in ("word", "position", "token_type")]
    pairs += norm("embeddings.LayerNorm", "bert/embeddings/LayerNorm")
    for layer in range(config["num_hidden_layers"]):
        hf, google = "encoder.layer.%d." % layer, "bert/encoder/layer_%d/" % layer
        for part in ("query", "key", "value"):
            pairs += linear(hf + "attention.self." + part, google + "attention/self/" + part)
        pairs += linear(hf + "attention.output.dense", google + "attention/output/dense")
        pairs += norm(hf + "attention.output.LayerNorm", google + "attention/output/LayerNorm")
        pairs += linear(hf + "intermediate.dense", google + "intermediate/dense")
        pairs += linear(hf + "output.dense", google + "output/dense")
        pairs += norm(hf + "output.LayerNorm", google + "output/LayerNorm")
    pairs += linear("pooler.dense", "bert/pooler/dense")
    pairs += linear("cls.predictions.transform.dense", "cls/predictions/transform/dense")
    pairs += norm("cls.predictions.transform.LayerNorm", "cls/predictions/transform/LayerNorm")
    pairs += [("cls.predictions.bias", "cls/predictions/output_bias", False),
              ("cls.seq_relationship.weight", "cls/seq_relationship/output_weights", False),
              ("cls.seq_relationship.bias", "cls/seq_relationship/output_bias", False)]
    return pairs


def google_shapes(config):
    """{google variable name: shape} for every variable in `name_map(config)`."""
    from bert import modeling

    from bert_tf1.bert_dir import expected_encoder_shapes

    hidden = config["hidden_size"]
    shapes = expected_encoder_shapes(modeling.BertConfig.from_dict(config))
    for name in ("dense/bias", "LayerNorm/beta", "LayerNorm/gamma"):
        shapes["cls/predictions/transform/" + name] = [hidden]
    shapes["cls/predictions/transform/dense/kernel"] = [hidden, hidden]
    shapes["cls/predictions/output_bias"] = [config["vocab_size"]]
    shapes["cls/seq_relationship/output_weights"] = [2, hidden]
    shapes["cls/seq_relationship/output_bias"] = [2]
    return shapes


def read_hf_config(config_file):
    """Reads a HuggingFace BERT config.json and returns Google's bert_config.json dictionary.

    Raises:
      BertTF1Error when the file is missing, not a BERT config, or uses features Google's
      BertModel lacks (relative positions, decoder, an unknown activation).
    """
    if not os.path.isfile(config_file):
        raise BertTF1Error("%s: file not found (expected HuggingFace's config.json)" % config_file)
    try:
        with open(config_file, encoding="utf-8") as handle:
            hf = json.load(handle)
    except ValueError as error:
        raise BertTF1Error("%s: not valid JSON (%s)" % (config_file, error))
    if not isinstance(hf, dict):
        raise BertTF1Error("%s: expected a JSON object" % config_file)
    if hf.get("model_type", "bert") != "bert":
        raise BertTF1Error("%s: model_type is %r; only 'bert' models convert to Google's BERT"
                           % (config_file, hf["model_type"]))
    missing = [key for key in _CONFIG_KEYS if key not in hf]
    if missing:
        raise BertTF1Error("%s: field(s) %s missing" % (config_file, ", ".join(missing)))
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise BertTF1Error("%s: position_embedding_type %r is not supported (Google's BERT uses "
                           "absolute positions)" % (config_file, hf["position_embedding_type"]))
    if hf.get("is_decoder") or hf.get("add_cross_attention"):
        raise BertTF1Error("%s: decoder / cross-attention BERTs are not supported" % config_file)
    activation = hf.get("hidden_act", "gelu")
    if activation not in _ACTIVATIONS:
        raise BertTF1Error("%s: hidden_act %r has no Google equivalent (supported: %s)"
                           % (config_file, activation, ", ".join(sorted(_ACTIVATIONS))))
    google = {key: hf[key] for key in _CONFIG_KEYS}
    google.update(hidden_act=_ACTIVATIONS[activation],
                  hidden_dropout_prob=hf.get("hidden_dropout_prob", 0.1),
                  attention_probs_dropout_prob=hf.get("attention_probs_dropout_prob", 0.1),
                  initializer_range=hf.get("initializer_range", 0.02))
    return google


def read_hf_vocab(hf_dir):
    """The vocabulary of a HF model directory as a list of tokens ordered by id.

    vocab.txt is used when present, else tokenizer.json's WordPiece model.vocab.
    """
    vocab_txt = os.path.join(hf_dir, "vocab.txt")
    if os.path.isfile(vocab_txt):
        with open(vocab_txt, encoding="utf-8") as handle:
            return handle.read().splitlines()
    tokenizer_json = os.path.join(hf_dir, "tokenizer.json")
    if not os.path.isfile(tokenizer_json):
        raise BertTF1Error("%s: no vocab.txt or tokenizer.json (the WordPiece vocabulary)" % hf_dir)
    try:
        with open(tokenizer_json, encoding="utf-8") as handle:
            vocab = json.load(handle)["model"]["vocab"]
    except (ValueError, KeyError, TypeError) as error:
        raise BertTF1Error("%s: cannot read model.vocab (%s)" % (tokenizer_json, error))
    if not isinstance(vocab, dict):
        raise BertTF1Error("%s: model.vocab is not a WordPiece {token: id} map (is this a "
                           "BERT tokenizer?)" % tokenizer_json)
    tokens = sorted(vocab, key=lambda token: vocab[token])
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise BertTF1Error("%s: model.vocab ids are not 0..%d without gaps"
                           % (tokenizer_json, len(vocab) - 1))
    return tokens


def read_hf_do_lower_case(hf_dir):
    """The tokenizer casing a HF directory declares: tokenizer_config.json's do_lower_case, else
    tokenizer.json's normalizer.lowercase; None when neither says.

    Google's layout has no place for it, and guessing from the vocabulary fails on
    bert-base-uncased's (it holds capital symbols such as 'ℝ'), so the CLI prints it for
    `bert-tf1-export-hub --do_lower_case`.
    """
    for name, path in (("tokenizer_config.json", ("do_lower_case",)),
                       ("tokenizer.json", ("normalizer", "lowercase"))):
        try:
            with open(os.path.join(hf_dir, name), encoding="utf-8") as handle:
                value = json.load(handle)
            for key in path:
                value = value[key]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, bool):
            return value
    return None


def hf_to_google_arrays(tensors, config, source="model.safetensors", seed=0):
    """Maps HF tensors to Google variables, checking names and shapes.

    Args:
      tensors: {hf name: numpy array}; names with or without the "bert." prefix.
      config: Google bert_config dictionary (from read_hf_config).
      source: file name used in error messages.
      seed: seed of the pooler initialisation when the model has no pooler.

    Returns:
      (variables, notes): {google name: float32 array}, list of strings describing what was
      initialised or dropped.

    Raises:
      BertTF1Error listing every unknown or missing tensor, or the tensors whose shapes disagree
      with config.json.
    """
    stripped = {}
    for name, value in tensors.items():
        key = name[len("bert."):] if name.startswith("bert.") else name
        if key in stripped:
            raise BertTF1Error("%s: tensor %s appears with and without the 'bert.' prefix"
                               % (source, key))
        stripped[key] = (name, value)
    pairs = name_map(config)
    by_hf = {hf: (google, transpose) for hf, google, transpose in pairs}
    unknown = sorted(stripped[key][0] for key in stripped
                     if key not in by_hf and not _IGNORED.match(key))
    present = {google for hf, google, _ in pairs if hf in stripped}
    missing = [hf for hf, google, _ in pairs
               if hf not in stripped and google.startswith("bert/") and "pooler" not in google]
    for head, prefix in sorted(_HEAD_PREFIXES.items()):
        names = [(hf, google) for hf, google, _ in pairs if google.startswith(prefix)]
        if any(google in present for _, google in names):
            missing += [hf for hf, google in names if google not in present]
    pooler = [hf for hf, google, _ in pairs if "pooler" in google]
    if any(hf in stripped for hf in pooler):
        missing += [hf for hf in pooler if hf not in stripped]
    if unknown or missing:
        raise BertTF1Error("%s does not hold a BERT matching config.json:%s%s" % (
            source,
            " unknown tensor(s): %s;" % ", ".join(unknown) if unknown else "",
            " missing tensor(s): %s" % ", ".join(missing) if missing else ""))
    shapes = google_shapes(config)
    wrong = []
    variables = {}
    for hf, google, transpose in pairs:
        if hf not in stripped:
            continue
        name, value = stripped[hf]
        expected = shapes[google][::-1] if transpose else shapes[google]
        if list(value.shape) != list(expected):
            wrong.append("%s has shape %s, expected %s" % (name, list(value.shape), expected))
            continue
        value = np.asarray(value, dtype=np.float32)
        variables[google] = np.ascontiguousarray(value.T if transpose else value)
    if wrong:
        raise BertTF1Error("%s disagrees with config.json: %s" % (source, "; ".join(wrong)))
    notes = []
    if "bert/pooler/dense/kernel" not in variables:
        rng = np.random.RandomState(seed)
        hidden, stddev = config["hidden_size"], config["initializer_range"]
        kernel = rng.normal(0.0, stddev, size=(hidden, hidden))
        # Google's create_initializer is a truncated normal: redraw beyond two standard deviations.
        while np.any(np.abs(kernel) > 2 * stddev):
            redraw = np.abs(kernel) > 2 * stddev
            kernel[redraw] = rng.normal(0.0, stddev, size=int(redraw.sum()))
        variables["bert/pooler/dense/kernel"] = kernel.astype(np.float32)
        variables["bert/pooler/dense/bias"] = np.zeros([hidden], np.float32)
        notes.append("no pooler in %s: bert/pooler/dense initialised at random (seed %d); "
                     "pooled_output is meaningless until fine-tuned" % (source, seed))
    return variables, notes


def write_checkpoint(variables, checkpoint_prefix):
    """Saves {google name: numpy array} as a TF1 checkpoint with exactly those variable names.

    Values are fed through placeholders rather than baked into the graph as constants, so
    BERT-Large-sized models stay under the 2 GB GraphDef limit.
    """
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        feeds, var_list = {}, {}
        for name, value in sorted(variables.items()):
            placeholder = tf.compat.v1.placeholder(tf.float32, value.shape)
            var_list[name] = tf.compat.v1.Variable(placeholder, name=name)
            feeds[placeholder] = value
        saver = tf.compat.v1.train.Saver(var_list=var_list, save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer(), feed_dict=feeds)
            saver.save(sess, checkpoint_prefix, write_meta_graph=False)


def convert_hf_to_tf1(hf_dir, output_dir, overwrite=False, seed=0):
    """Converts a HuggingFace BERT directory to a Google-layout BERT directory.

    >>> convert_hf_to_tf1("all-MiniLM-L6-v2", "minilm_tf1")   # doctest: +SKIP
    {'output_dir': 'minilm_tf1', 'heads': [], 'variables': 103, 'notes': [], 'do_lower_case': True}

    Args:
      hf_dir: directory with config.json, model.safetensors and vocab.txt or tokenizer.json.
      output_dir: directory to create (written in a staging sibling and renamed into place).
      overwrite: replace a non-empty `output_dir`.
      seed: seed of the pooler initialisation for models without a pooler.

    Returns:
      dict with output_dir, heads (subset of ["mlm", "nsp"]), variables (count), notes and
      do_lower_case (the tokenizer's declared casing, or None; see read_hf_do_lower_case).

    Raises:
      BertTF1Error: missing files, only pytorch_model.bin, unknown/missing tensors, shapes that
      disagree with config.json, a vocabulary of the wrong size, or a non-empty output_dir.
    """
    from bert_tf1 import atomic_io, compat, safetensors_io

    if not os.path.isdir(hf_dir):
        raise BertTF1Error("%s: HuggingFace model directory not found" % hf_dir)
    weights = os.path.join(hf_dir, SAFETENSORS_NAME)
    if not os.path.isfile(weights):
        if os.path.isfile(os.path.join(hf_dir, "pytorch_model.bin")):
            raise BertTF1Error(
                "%s holds pytorch_model.bin but no model.safetensors: reading it needs torch, "
                "which is not available here. Convert it where torch is installed: "
                "`from transformers import AutoModel; AutoModel.from_pretrained(DIR)"
                ".save_pretrained(DIR, safe_serialization=True)` (or safetensors.torch.save_file"
                "(torch.load('pytorch_model.bin'), 'model.safetensors'))" % hf_dir)
        if any(name.startswith("model-") and name.endswith(".safetensors")
               for name in os.listdir(hf_dir)):
            raise BertTF1Error("%s: sharded safetensors (model-0000x-of-...) are not supported; "
                               "save the model with max_shard_size larger than it" % hf_dir)
        raise BertTF1Error("%s: no %s found" % (hf_dir, SAFETENSORS_NAME))
    config = read_hf_config(os.path.join(hf_dir, HF_CONFIG_NAME))
    tokens = read_hf_vocab(hf_dir)
    if len(tokens) != config["vocab_size"]:
        raise BertTF1Error("%s: the vocabulary has %d tokens but config.json says vocab_size = %d"
                           % (hf_dir, len(tokens), config["vocab_size"]))
    tensors, _ = safetensors_io.load_file(weights)
    variables, notes = hf_to_google_arrays(tensors, config, weights, seed=seed)
    compat.setup_tf1()
    try:
        with atomic_io.staged_directory(output_dir, overwrite=overwrite) as staging:
            write_checkpoint(variables, os.path.join(staging, "bert_model.ckpt"))
            with open(os.path.join(staging, "vocab.txt"), "w", encoding="utf-8") as handle:
                handle.write("".join(token + "\n" for token in tokens))
            with open(os.path.join(staging, "bert_config.json"), "w", encoding="utf-8") as handle:
                handle.write(json.dumps(config, indent=2, sort_keys=True) + "\n")
    except FileExistsError:
        raise BertTF1Error("%s is not empty; pass --overwrite to replace it" % output_dir)
    heads = [head for head, prefix in sorted(_HEAD_PREFIXES.items())
             if any(name.startswith(prefix) for name in variables)]
    return {"output_dir": output_dir, "heads": heads, "variables": len(variables),
            "notes": notes, "do_lower_case": read_hf_do_lower_case(hf_dir)}


def tf1_to_safetensors(bert_dir, output_dir, overwrite=False, prefix=None):
    """Writes a Google-layout BERT as a HuggingFace directory (model.safetensors, config.json,
    vocab.txt): the inverse of convert_hf_to_tf1.

    Args:
      bert_dir: Google-layout BERT directory (validated with bert_tf1.bert_dir).
      output_dir: directory to create (staged, then renamed into place).
      overwrite: replace a non-empty `output_dir`.
      prefix: prefix of the encoder tensors; None gives "bert." when the checkpoint has a
        pre-training head (BertForPreTraining / BertForMaskedLM layout) and "" otherwise
        (BertModel layout).

    Returns:
      dict with output_dir, tensors (count), architecture.
    """
    import shutil

    import tensorflow as tf

    from bert_tf1 import atomic_io, bert_dir as bert_dir_lib, compat, safetensors_io

    compat.setup_tf1()
    source = bert_dir_lib.load_bert_directory(bert_dir)
    config = source.config.to_dict()
    reader = tf.train.load_checkpoint(source.checkpoint)
    heads = {head for head, head_prefix in _HEAD_PREFIXES.items()
             if any(name.startswith(head_prefix) for name in source.checkpoint_shapes)}
    if prefix is None:
        prefix = "bert." if heads else ""
    tensors = {}
    for hf, google, transpose in name_map(config):
        if google not in source.checkpoint_shapes:
            continue
        value = reader.get_tensor(google).astype(np.float32)
        name = hf if hf.startswith("cls.") else prefix + hf
        tensors[name] = value.T if transpose else value
    architecture = {frozenset(): "BertModel", frozenset(["mlm"]): "BertForMaskedLM"}.get(
        frozenset(heads), "BertForPreTraining")
    hf_config = dict(config, model_type="bert", architectures=[architecture],
                     layer_norm_eps=1e-12, position_embedding_type="absolute", pad_token_id=0)
    # Google's "gelu" is the tanh approximation; HF calls that "gelu_new".
    if hf_config.get("hidden_act") == "gelu":
        hf_config["hidden_act"] = "gelu_new"
    try:
        with atomic_io.staged_directory(output_dir, overwrite=overwrite) as staging:
            safetensors_io.save_file(tensors, os.path.join(staging, SAFETENSORS_NAME),
                                     metadata={"format": "pt"})
            shutil.copyfile(source.vocab_file, os.path.join(staging, "vocab.txt"))
            with open(os.path.join(staging, HF_CONFIG_NAME), "w", encoding="utf-8") as handle:
                handle.write(json.dumps(hf_config, indent=2, sort_keys=True) + "\n")
    except FileExistsError:
        raise BertTF1Error("%s is not empty; pass --overwrite to replace it" % output_dir)
    return {"output_dir": output_dir, "tensors": len(tensors), "architecture": architecture}


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog="bert-tf1-from-hf",
        description="Convert a HuggingFace BERT (config.json, model.safetensors, vocab.txt or "
                    "tokenizer.json) to Google's TF1 layout (bert_config.json, vocab.txt, "
                    "bert_model.ckpt).")
    parser.add_argument("--hf_dir", required=True, help="HuggingFace model directory")
    parser.add_argument("--output", required=True, help="Google-layout BERT directory to write")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the pooler initialisation when the model has no pooler")
    return parser


def main(argv=None):
    args = build_arg_parser().parse_args(argv)
    try:
        result = convert_hf_to_tf1(args.hf_dir, args.output, overwrite=args.overwrite,
                                   seed=args.seed)
    except BertTF1Error as error:
        print("bert-tf1-from-hf: error: %s" % error, file=sys.stderr)
        return 2
    for note in result["notes"]:
        print("bert-tf1-from-hf: warning: %s" % note, file=sys.stderr)
    print("wrote %s: %d variables, heads: %s" % (result["output_dir"], result["variables"],
                                                 ", ".join(result["heads"]) or "none"))
    if result["do_lower_case"] is not None:
        print("the tokenizer declares do_lower_case=%s: pass --%sdo_lower_case to "
              "bert-tf1-export-hub (and run_classifier)" % (
                  result["do_lower_case"], "" if result["do_lower_case"] else "no"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
