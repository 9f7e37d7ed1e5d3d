"""Converts a HuggingFace BERT to Google's TF1 checkpoint layout, and back.

`bert-tf1-from-hf --hf_dir DIR --output BERT_DIR` reads a HuggingFace BertModel, BertForMaskedLM
or BertForPreTraining directory and writes bert_config.json, vocab.txt and bert_model.ckpt.* with
the variable names of Google's released checkpoints, so everything that reads a Google BERT
(bert_tf1.modeling.bert_dir, the hub export, run_classifier) reads the result. The HF directory
holds config.json, vocab.txt or tokenizer.json, and the weights as the first of (the order HF's
from_pretrained prefers):
  model.safetensors
  model.safetensors.index.json + the model-0000i-of-0000n.safetensors shards it names
  pytorch_model.bin                (torch.save, zip or pre-1.6 legacy format)
  pytorch_model.bin.index.json + the pytorch_model-0000i-of-0000n.bin shards it names
Only numpy and TF are used: there is no torch here (bert_tf1.convert.torch_checkpoint reads .bin
files with a restricted unpickler; bert_tf1.convert.safetensors_io reads safetensors).

`bert-tf1-to-hf --bert_dir BERT_DIR --output HF_DIR`
goes back: config.json, model.safetensors, vocab.txt and tokenizer_config.json that HF's
BertModel / BertForPreTraining and BertTokenizer load.

Name mapping (HF names may carry a "bert." prefix; sentence-transformers models have none):
  embeddings.{word,position,token_type}_embeddings.weight -> bert/embeddings/..._embeddings
  *.LayerNorm.weight / .bias                 -> */LayerNorm/gamma / beta
  *.dense|query|key|value.weight [out, in]   -> */kernel [in, out] (transposed), .bias -> /bias
  encoder.layer.N.*                          -> bert/encoder/layer_N/*
  pooler.dense.*                             -> bert/pooler/dense/*
  cls.predictions.transform.*                -> cls/predictions/transform/*
  cls.predictions.bias                       -> cls/predictions/output_bias
  cls.seq_relationship.weight [2, hidden]    -> cls/seq_relationship/output_weights (no transpose:
                                                Google stores it [2, hidden] too),
                                                .bias -> output_bias
cls.predictions.decoder.weight/.bias are ignored when present: BERT ties them to the word
embeddings and cls.predictions.bias. So is HF's embeddings.position_ids buffer (arange).

Numerics: Google's modeling.gelu is the tanh approximation, HF's "gelu" is the exact erf form.
They differ by at most ~5e-4 per activation; tests/test_hf_convert.py measures the effect on the
outputs. Google's LayerNorm epsilon is fixed at 1e-12 (tf.contrib.layers.layer_norm's
variance_epsilon, which bert.modeling.layer_norm cannot change), so a config.json with another
layer_norm_eps is refused unless allow_layer_norm_eps (--allow_layer_norm_eps) is given, and then
converted with a warning. BertForMaskedLM has no pooler: it is initialised as Google initialises
a new one (truncated normal, stddev initializer_range, seeded) and reported, so fine-tune before
using pooled_output.
"""
import json
import math
import os
import re
import shutil

import numpy as np
import tensorflow as tf
from bert import modeling

from bert_tf1 import compat
from bert_tf1.convert import hub_export, safetensors_io, torch_checkpoint
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import bert_dir as bert_dir_lib
from bert_tf1.modeling.bert_dir import expected_encoder_shapes, expected_head_shapes
from bert_tf1.runtime import atomic_io

SAFETENSORS_NAME = "model.safetensors"
SAFETENSORS_INDEX_NAME = "model.safetensors.index.json"
PYTORCH_NAME = "pytorch_model.bin"
PYTORCH_INDEX_NAME = "pytorch_model.bin.index.json"
# The weight files HF's from_pretrained looks for, in its order of preference.
WEIGHT_FILES = (SAFETENSORS_NAME, SAFETENSORS_INDEX_NAME, PYTORCH_NAME, PYTORCH_INDEX_NAME)
HF_CONFIG_NAME = "config.json"
# tf.contrib.layers.layer_norm's variance_epsilon for float32, used by every bert.modeling
# LayerNorm: a bert_config.json cannot change it.
GOOGLE_LAYER_NORM_EPS = 1e-12
_IGNORED = re.compile(r"^(embeddings\.position_ids|cls\.predictions\.decoder\.(weight|bias))$")
# HF activation name -> Google bert_config.json hidden_act. The gelu_* variants are the tanh
# approximation Google uses; "gelu"/"gelu_python" are the exact erf form (see Numerics above).
# Anything else (quick_gelu, silu, mish, ...) has no Google equivalent.
_ACTIVATIONS = {"gelu": "gelu", "gelu_python": "gelu", "gelu_new": "gelu",
                "gelu_pytorch_tanh": "gelu", "gelu_fast": "gelu", "relu": "relu", "tanh": "tanh",
                "linear": "linear"}
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

    bert_config = modeling.BertConfig.from_dict(config)
    shapes = expected_encoder_shapes(bert_config)
    for head in expected_head_shapes(bert_config).values():
        shapes.update(head)
    return shapes


def read_hf_config(config_file, allow_layer_norm_eps=False, notes=None):
    """Reads a HuggingFace BERT config.json and returns Google's bert_config.json dictionary.

    Args:
      config_file: path of HF's config.json.
      allow_layer_norm_eps: convert even when layer_norm_eps is not Google's fixed 1e-12 (the
        TF1 model then normalises with 1e-12: slightly different outputs).
      notes: optional list; a warning is appended to it when allow_layer_norm_eps was needed.

    Returns:
      dict with Google's keys (vocab_size, hidden_size, ..., hidden_act, initializer_range).

    Raises:
      BertTF1Error when the file is missing, not a BERT config, has non-integer sizes, or uses
      features Google's BertModel lacks (relative positions, decoder, an unknown activation,
      another layer_norm_eps without allow_layer_norm_eps).
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
    bert_dir_lib.check_config_values(hf, config_file)
    if hf.get("position_embedding_type", "absolute") != "absolute":
        raise BertTF1Error("%s: position_embedding_type %r is not supported (Google's BERT uses "
                           "absolute positions)" % (config_file, hf["position_embedding_type"]))
    if hf.get("is_decoder") or hf.get("add_cross_attention"):
        raise BertTF1Error("%s: decoder / cross-attention BERTs are not supported" % config_file)
    activation = hf.get("hidden_act", "gelu")
    if not isinstance(activation, str) or activation not in _ACTIVATIONS:
        raise BertTF1Error("%s: hidden_act %r has no Google equivalent (supported: %s)"
                           % (config_file, activation, ", ".join(sorted(_ACTIVATIONS))))
    # HF's BertConfig defaults layer_norm_eps to 1e-12, as Google's code hard-codes it.
    eps = hf.get("layer_norm_eps", GOOGLE_LAYER_NORM_EPS)
    if not isinstance(eps, (int, float)) or isinstance(eps, bool) or not eps > 0:
        raise BertTF1Error("%s: layer_norm_eps %r is not a positive number" % (config_file, eps))
    if not math.isclose(eps, GOOGLE_LAYER_NORM_EPS, rel_tol=1e-6):
        message = ("layer_norm_eps is %g but Google's BERT normalises with a fixed %g "
                   "(tf.contrib.layers.layer_norm): the TF1 model's outputs will differ from "
                   "the HF model's wherever a LayerNorm input has small variance"
                   % (eps, GOOGLE_LAYER_NORM_EPS))
        if not allow_layer_norm_eps:
            raise BertTF1Error("%s: %s; pass --allow_layer_norm_eps (allow_layer_norm_eps=True) "
                               "to convert anyway" % (config_file, message))
        if notes is not None:
            notes.append("%s: %s" % (config_file, message))
    google = {key: hf[key] for key in bert_dir_lib.REQUIRED_CONFIG_KEYS}
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


def find_weights(hf_dir):
    """The weight file HF's from_pretrained would read in `hf_dir` (see WEIGHT_FILES).

    Returns:
      path of model.safetensors, model.safetensors.index.json, pytorch_model.bin or
      pytorch_model.bin.index.json, the first that exists.

    Raises:
      BertTF1Error listing the accepted names when there is none.
    """
    for name in WEIGHT_FILES:
        path = os.path.join(hf_dir, name)
        if os.path.isfile(path):
            return path
    raise BertTF1Error("%s: no weights found (expected one of %s)" % (hf_dir,
                                                                      ", ".join(WEIGHT_FILES)))


def _load_weight_file(path):
    if path.endswith(".safetensors"):
        return safetensors_io.load_file(path)[0]
    return torch_checkpoint.load_state_dict(path)


def read_shard_index(index_file):
    """Reads HF's sharded-checkpoint index (model.safetensors.index.json or
    pytorch_model.bin.index.json): {"metadata": {...}, "weight_map": {tensor name: shard file}}.

    Returns:
      {shard file name: sorted list of the tensor names the index puts in it}.

    Raises:
      BertTF1Error naming index_file when it is not JSON, has no weight_map, or names a shard
      outside its own directory or of the wrong kind (.safetensors vs .bin).
    """
    try:
        with open(index_file, encoding="utf-8") as handle:
            index = json.load(handle)
    except ValueError as error:
        raise BertTF1Error("%s: not valid JSON (%s)" % (index_file, error))
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise BertTF1Error("%s: expected a JSON object with a non-empty \"weight_map\" "
                           "{tensor name: shard file}" % index_file)
    suffix = ".safetensors" if index_file.endswith(".safetensors.index.json") else ".bin"
    shards = {}
    for name, shard in sorted(weight_map.items()):
        # A shard is a sibling file: refuse paths, so an index cannot make us read elsewhere.
        if (not isinstance(shard, str) or not shard.endswith(suffix)
                or any(char in shard for char in ("\x00", "/", "\\"))):
            raise BertTF1Error("%s: tensor %s maps to %r, expected a %s file name beside the "
                               "index" % (index_file, name, shard, suffix))
        shards.setdefault(shard, []).append(name)
    return shards


def load_hf_weights(hf_dir):
    """Loads the weights of a HF model directory, single-file or sharded.

    Args:
      hf_dir: HF model directory (see find_weights for the file names tried).

    Returns:
      (tensors, source, origins): {hf name: numpy array of the stored shape}, the path of the
      file read (the index for sharded checkpoints), {hf name: file name it came from}.

    Raises:
      BertTF1Error naming the file (and tensor) for a missing/corrupt file or shard, a tensor
      the index lists but its shard lacks (or the reverse), or one found in two shards.
    """
    path = find_weights(hf_dir)
    if not path.endswith(".index.json"):
        tensors = _load_weight_file(path)
        return tensors, path, {name: os.path.basename(path) for name in tensors}
    shards = read_shard_index(path)
    absent = [shard for shard in sorted(shards) if not os.path.isfile(os.path.join(hf_dir, shard))]
    if absent:
        raise BertTF1Error("%s names shard(s) that are not in %s: %s (incomplete download?)"
                           % (path, hf_dir, ", ".join(absent)))
    tensors, origins = {}, {}
    for shard, expected in sorted(shards.items()):
        shard_path = os.path.join(hf_dir, shard)
        loaded = _load_weight_file(shard_path)
        lacking = sorted(set(expected) - set(loaded))
        extra = sorted(set(loaded) - set(expected))
        if lacking or extra:
            # HF's own loader would not notice, but a disagreement means shards from two
            # different saves were mixed: better to stop than convert a hybrid.
            raise BertTF1Error("%s disagrees with %s:%s%s" % (
                shard_path, path,
                " tensor(s) the index puts in this shard but it lacks: %s;" % ", ".join(lacking)
                if lacking else "",
                " tensor(s) in this shard the index puts elsewhere or nowhere: %s"
                % ", ".join(extra) if extra else ""))
        tensors.update(loaded)
        origins.update((name, shard) for name in loaded)
    return tensors, path, origins


def hf_to_google_arrays(tensors, config, source="model.safetensors", seed=0, origins=None):
    """Maps HF tensors to Google variables, checking names and shapes.

    Args:
      tensors: {hf name: numpy array}; names with or without the "bert." prefix. Kernels are
        HF's [out, in] (e.g. intermediate.dense.weight float [intermediate_size, hidden_size]).
      config: Google bert_config dictionary (from read_hf_config).
      source: file name used in error messages.
      seed: seed of the pooler initialisation when the model has no pooler.
      origins: optional {hf name: shard file}; when the tensors come from several files, error
        messages say which file holds each tensor named.

    Returns:
      (variables, notes): {google name: float32 array of Google's shape, e.g.
      bert/encoder/layer_0/intermediate/dense/kernel [hidden_size, intermediate_size]}, list of
      strings describing what was initialised or dropped.

    Raises:
      BertTF1Error listing every unknown or missing tensor, or the tensors whose shapes disagree
      with config.json.
    """
    sharded = origins is not None and len(set(origins.values())) > 1

    def where(name):
        return "%s (in %s)" % (name, origins[name]) if sharded and name in origins else name

    stripped = {}
    for name, value in tensors.items():
        key = name[len("bert."):] if name.startswith("bert.") else name
        if key in stripped:
            raise BertTF1Error("%s: tensor %s appears with and without the 'bert.' prefix"
                               % (source, key))
        stripped[key] = (name, value)
    pairs = name_map(config)
    by_hf = {hf: (google, transpose) for hf, google, transpose in pairs}
    unknown = sorted(where(stripped[key][0]) for key in stripped
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
            wrong.append("%s has shape %s, expected %s" % (where(name), list(value.shape),
                                                           expected))
            continue
        if value.dtype.kind != "f":
            wrong.append("%s has dtype %s, expected floating point" % (where(name), value.dtype))
            continue
        # float16/bfloat16 checkpoints widen exactly; float64 ones round to float32 (TF1's BERT).
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


def convert_hf_to_tf1(hf_dir, output_dir, overwrite=False, seed=0, allow_layer_norm_eps=False):
    """Converts a HuggingFace BERT directory to a Google-layout BERT directory.

    >>> convert_hf_to_tf1("all-MiniLM-L6-v2", "minilm_tf1")   # doctest: +SKIP
    {'output_dir': 'minilm_tf1', 'heads': [], 'variables': 103, 'notes': [], 'do_lower_case': True,
     'weights': 'all-MiniLM-L6-v2/model.safetensors'}

    Args:
      hf_dir: directory with config.json, vocab.txt or tokenizer.json, and the weights in one of
        the forms WEIGHT_FILES lists (safetensors or pytorch_model.bin, single or sharded).
      output_dir: directory to create (written in a staging sibling and renamed into place).
      overwrite: replace a non-empty `output_dir`.
      seed: seed of the pooler initialisation for models without a pooler.
      allow_layer_norm_eps: convert a config.json whose layer_norm_eps is not 1e-12 (with a note)
        instead of refusing it.

    Returns:
      dict with output_dir, heads (subset of ["mlm", "nsp"]), variables (count), notes,
      do_lower_case (the tokenizer's declared casing, or None; see read_hf_do_lower_case) and
      weights (the weight file or index read).

    Raises:
      BertTF1Error: missing files, unreadable weights, unknown/missing tensors, shapes that
      disagree with config.json, a vocabulary of the wrong size, an unsupported config
      (see read_hf_config), or a non-empty output_dir.
    """

    if not os.path.isdir(hf_dir):
        raise BertTF1Error("%s: HuggingFace model directory not found" % hf_dir)
    notes = []
    # Config and vocabulary first: they are cheap to check, the weights may be gigabytes.
    config = read_hf_config(os.path.join(hf_dir, HF_CONFIG_NAME),
                            allow_layer_norm_eps=allow_layer_norm_eps, notes=notes)
    tokens = read_hf_vocab(hf_dir)
    if len(tokens) != config["vocab_size"]:
        raise BertTF1Error("%s: the vocabulary has %d tokens but config.json says vocab_size = %d"
                           % (hf_dir, len(tokens), config["vocab_size"]))
    tensors, weights, origins = load_hf_weights(hf_dir)
    variables, weight_notes = hf_to_google_arrays(tensors, config, weights, seed=seed,
                                                  origins=origins)
    notes += weight_notes
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
            "notes": notes, "do_lower_case": read_hf_do_lower_case(hf_dir), "weights": weights}


def tf1_to_safetensors(bert_dir, output_dir, overwrite=False, prefix=None, do_lower_case=None):
    """Writes a Google-layout BERT as a HuggingFace directory (model.safetensors, config.json,
    vocab.txt, tokenizer_config.json): the inverse of convert_hf_to_tf1.

    >>> tf1_to_safetensors("uncased_L-2_H-128_A-2", "bert_tiny_hf")   # doctest: +SKIP
    {'output_dir': 'bert_tiny_hf', 'tensors': 39, 'architecture': 'BertForPreTraining',
     'do_lower_case': True}

    Args:
      bert_dir: Google-layout BERT directory (validated with bert_tf1.modeling.bert_dir).
      output_dir: directory to create (staged, then renamed into place).
      overwrite: replace a non-empty `output_dir`.
      prefix: prefix of the encoder tensors; None gives "bert." when the checkpoint has a
        pre-training head (BertForPreTraining / BertForMaskedLM layout) and "" otherwise
        (BertModel layout).
      do_lower_case: tokenizer casing written to tokenizer_config.json (HF's BertTokenizer
        lower-cases unless told otherwise); None infers it from the vocabulary, as
        bert-tf1-export-hub does.

    Returns:
      dict with output_dir, tensors (count), architecture, do_lower_case.

    Raises:
      BertTF1Error when bert_dir is not a valid Google-layout BERT or output_dir is not empty.
    """

    compat.setup_tf1()
    source = bert_dir_lib.load_bert_directory(bert_dir)
    config = source.config.to_dict()
    reader = tf.train.load_checkpoint(source.checkpoint)
    heads = {head for head, head_prefix in _HEAD_PREFIXES.items()
             if any(name.startswith(head_prefix) for name in source.checkpoint_shapes)}
    if prefix is None:
        prefix = "bert." if heads else ""
    if do_lower_case is None:
        do_lower_case = hub_export.infer_do_lower_case(source.vocab_file)
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
                     layer_norm_eps=GOOGLE_LAYER_NORM_EPS, position_embedding_type="absolute",
                     pad_token_id=0)
    # Google's "gelu" is the tanh approximation; HF calls that "gelu_new".
    if hf_config.get("hidden_act") == "gelu":
        hf_config["hidden_act"] = "gelu_new"
    tokenizer_config = {"do_lower_case": bool(do_lower_case), "tokenizer_class": "BertTokenizer",
                        "model_max_length": config["max_position_embeddings"]}
    try:
        with atomic_io.staged_directory(output_dir, overwrite=overwrite) as staging:
            safetensors_io.save_file(tensors, os.path.join(staging, SAFETENSORS_NAME),
                                     metadata={"format": "pt"})
            shutil.copyfile(source.vocab_file, os.path.join(staging, "vocab.txt"))
            for name, content in ((HF_CONFIG_NAME, hf_config),
                                  ("tokenizer_config.json", tokenizer_config)):
                with open(os.path.join(staging, name), "w", encoding="utf-8") as handle:
                    handle.write(json.dumps(content, indent=2, sort_keys=True) + "\n")
    except FileExistsError:
        raise BertTF1Error("%s is not empty; pass --overwrite to replace it" % output_dir)
    return {"output_dir": output_dir, "tensors": len(tensors), "architecture": architecture,
            "do_lower_case": bool(do_lower_case)}
