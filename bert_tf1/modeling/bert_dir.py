"""Reads and validates a Google-layout BERT directory (bert_config.json, vocab.txt,
bert_model.ckpt).

Google's releases (BERT-Base/Large, the 24 small BERTs), our tiny BERT and converted HuggingFace
models all share this layout. Checking it up front turns a deep TF error ("Key bert/... not found
in checkpoint" half-way through an export) into one message that names the file and the problem.
"""
import json
import os

import tensorflow as tf

from bert_tf1.errors import BertTF1Error


def bert_modeling():
    """google-research/bert's modeling module, imported on first use: it imports tf.contrib
    (~1 s CPU), which a hub-module run never needs (issue 11: start-up)."""
    from bert import modeling  # pylint: disable=import-outside-toplevel

    return modeling

CONFIG_NAME = "bert_config.json"
VOCAB_NAME = "vocab.txt"
CHECKPOINT_PREFIX = "bert_model.ckpt"

# The integer size fields of a BERT config (Google's and HuggingFace's spell them the same).
REQUIRED_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                        "intermediate_size", "max_position_embeddings", "type_vocab_size")


class BertDirectory(object):
    """A validated BERT directory.

    Attributes:
      path: the directory.
      config_file, vocab_file, checkpoint: paths of its three parts (checkpoint is the prefix).
      config: bert.modeling.BertConfig.
      vocab_size: number of lines in vocab.txt.
      checkpoint_shapes: dict variable name -> list of ints, as stored in the checkpoint.
    """

    def __init__(self, path, config_file, vocab_file, checkpoint, config, vocab_size,
                 checkpoint_shapes):
        self.path = path
        self.config_file = config_file
        self.vocab_file = vocab_file
        self.checkpoint = checkpoint
        self.config = config
        self.vocab_size = vocab_size
        self.checkpoint_shapes = checkpoint_shapes

    def has_variables(self, names):
        """True when every name in `names` is in the checkpoint."""
        return all(name in self.checkpoint_shapes for name in names)


def load_bert_config(config_file):
    """bert_config.json as a bert.modeling.BertConfig, with a clear error when malformed."""

    if not tf.io.gfile.exists(config_file):
        raise BertTF1Error("%s: file not found (expected Google's bert_config.json)" % config_file)
    with tf.io.gfile.GFile(config_file, "r") as handle:
        text = handle.read()
    try:
        values = json.loads(text)
    except ValueError as error:
        raise BertTF1Error("%s: not valid JSON (%s)" % (config_file, error))
    if not isinstance(values, dict):
        raise BertTF1Error("%s: expected a JSON object with BERT hyper-parameters, found %s"
                           % (config_file, type(values).__name__))
    check_config_values(values, config_file)
    return bert_modeling().BertConfig.from_dict(values)


def check_config_values(values, config_file):
    """The size fields a BERT config needs are there, positive integers, and hidden_size splits
    into the attention heads. Shared by Google's bert_config.json and HuggingFace's config.json
    (hf_convert), whose size fields have the same names.

    Raises:
      BertTF1Error naming the file and the field.
    """
    missing = sorted(key for key in REQUIRED_CONFIG_KEYS if key not in values)
    if missing:
        raise BertTF1Error("%s: field%s %s missing (a BERT config needs %s)" % (
            config_file, "s" if len(missing) > 1 else "",
            ", ".join("'%s'" % key for key in missing), ", ".join(sorted(REQUIRED_CONFIG_KEYS))))
    for key in sorted(REQUIRED_CONFIG_KEYS):
        value = values[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BertTF1Error("%s: field '%s' must be a positive integer, found %r"
                               % (config_file, key, value))
    if values["hidden_size"] % values["num_attention_heads"]:
        raise BertTF1Error("%s: field 'hidden_size' (%d) must be a multiple of "
                           "'num_attention_heads' (%d)" % (config_file, values["hidden_size"],
                                                           values["num_attention_heads"]))


def count_vocab_lines(vocab_file):
    """Number of tokens in a WordPiece vocab file (one per line, as bert.tokenization reads it)."""

    if not tf.io.gfile.exists(vocab_file):
        raise BertTF1Error("%s: file not found (expected the WordPiece vocabulary, one token "
                           "per line)" % vocab_file)
    with tf.io.gfile.GFile(vocab_file, "rb") as handle:
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise BertTF1Error("%s:%d: invalid UTF-8 in the vocabulary" % (vocab_file, line))
    return len(text.splitlines())


def check_vocab_size(vocab_file, config, config_source):
    """Returns vocab_file's token count; raises BertTF1Error unless it is config.vocab_size.

    A vocabulary of another size is another model's: ids beyond the embedding table fail late
    (or, on GPU, read zero vectors).
    """
    size = count_vocab_lines(vocab_file)
    if size != config.vocab_size:
        raise BertTF1Error(
            "%s has %d tokens but %s says vocab_size = %d: the vocabulary must be the one the "
            "checkpoint was trained with (pass that model's vocab.txt)"
            % (vocab_file, size, config_source, config.vocab_size))
    return size


def expected_encoder_shapes(config):
    """The variables BertModel needs, with their shapes: {name: [dims]} for `config`."""
    hidden, inner = config.hidden_size, config.intermediate_size
    shapes = {
        "bert/embeddings/word_embeddings": [config.vocab_size, hidden],
        "bert/embeddings/token_type_embeddings": [config.type_vocab_size, hidden],
        "bert/embeddings/position_embeddings": [config.max_position_embeddings, hidden],
        "bert/embeddings/LayerNorm/beta": [hidden],
        "bert/embeddings/LayerNorm/gamma": [hidden],
        "bert/pooler/dense/kernel": [hidden, hidden],
        "bert/pooler/dense/bias": [hidden],
    }
    for layer in range(config.num_hidden_layers):
        prefix = "bert/encoder/layer_%d/" % layer
        for part in ("query", "key", "value"):
            shapes[prefix + "attention/self/%s/kernel" % part] = [hidden, hidden]
            shapes[prefix + "attention/self/%s/bias" % part] = [hidden]
        shapes[prefix + "attention/output/dense/kernel"] = [hidden, hidden]
        shapes[prefix + "attention/output/dense/bias"] = [hidden]
        shapes[prefix + "intermediate/dense/kernel"] = [hidden, inner]
        shapes[prefix + "intermediate/dense/bias"] = [inner]
        shapes[prefix + "output/dense/kernel"] = [inner, hidden]
        shapes[prefix + "output/dense/bias"] = [hidden]
        for norm in ("attention/output/LayerNorm", "output/LayerNorm"):
            shapes[prefix + norm + "/beta"] = [hidden]
            shapes[prefix + norm + "/gamma"] = [hidden]
    return shapes


def expected_head_shapes(config):
    """{head name: {variable: shape}} of Google's pre-training heads for `config`.

    The masked-LM head's decoder is the embedding table itself, so only its transform and
    output bias have variables of their own.
    """
    hidden = config.hidden_size
    masked_lm = {"cls/predictions/transform/dense/kernel": [hidden, hidden],
                 "cls/predictions/transform/dense/bias": [hidden],
                 "cls/predictions/transform/LayerNorm/beta": [hidden],
                 "cls/predictions/transform/LayerNorm/gamma": [hidden],
                 "cls/predictions/output_bias": [config.vocab_size]}
    next_sentence = {"cls/seq_relationship/output_weights": [2, hidden],
                     "cls/seq_relationship/output_bias": [2]}
    return {"masked-LM head (cls/predictions)": masked_lm,
            "next-sentence head (cls/seq_relationship)": next_sentence}


def check_head_shapes(actual, config, checkpoint, config_file):
    """A head is optional, but one that is present must be whole and fit the config.

    Without this a wrong head fails deep inside the hub export or pre-training graph.
    """
    for head, expected in sorted(expected_head_shapes(config).items()):
        present = [name for name in expected if name in actual]
        if not present:
            continue
        missing = sorted(set(expected) - set(present))
        if missing:
            raise BertTF1Error("%s: the %s is incomplete: it lacks %s" % (
                checkpoint, head, ", ".join(missing)))
        check_checkpoint_shapes(actual, expected, checkpoint, config_file)


def find_checkpoint(bert_dir):
    """The checkpoint prefix in `bert_dir`: bert_model.ckpt, else the newest `checkpoint` names."""

    prefix = os.path.join(bert_dir, CHECKPOINT_PREFIX)
    if tf.io.gfile.exists(prefix + ".index"):
        return prefix
    latest = tf.train.latest_checkpoint(bert_dir)
    if latest:
        return latest
    raise BertTF1Error("%s: no checkpoint found (expected %s.index and .data-* files, or a "
                       "'checkpoint' state file)" % (bert_dir, CHECKPOINT_PREFIX))


def load_bert_directory(bert_dir, config_file=None, vocab_file=None, checkpoint=None):
    """Validates a BERT directory and returns a BertDirectory.

    Checks that the config parses, that the vocabulary has exactly config.vocab_size lines, that
    the checkpoint holds every encoder variable with the shape the config implies, and that a
    pre-training head it holds is complete and of the config's shapes.

    Args:
      bert_dir: directory in Google's layout (may be None when all three paths are given).
      config_file, vocab_file, checkpoint: override the default names inside `bert_dir`.

    Raises:
      BertTF1Error naming the file and the problem.
    """

    if bert_dir is not None and not tf.io.gfile.isdir(bert_dir):
        raise BertTF1Error("%s: BERT directory not found" % bert_dir)
    config_file = config_file or os.path.join(bert_dir, CONFIG_NAME)
    vocab_file = vocab_file or os.path.join(bert_dir, VOCAB_NAME)
    config = load_bert_config(config_file)
    vocab_size = check_vocab_size(vocab_file, config, config_file)
    checkpoint = checkpoint or find_checkpoint(bert_dir)
    try:
        shapes = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.NotFoundError, tf.errors.DataLossError, ValueError) as error:
        raise BertTF1Error("%s: cannot read checkpoint (%s)" % (checkpoint, error))
    check_checkpoint_shapes(shapes, expected_encoder_shapes(config), checkpoint, config_file)
    check_head_shapes(shapes, config, checkpoint, config_file)
    return BertDirectory(bert_dir, config_file, vocab_file, checkpoint, config, vocab_size,
                         {name: list(shape) for name, shape in shapes.items()})


def check_checkpoint_shapes(actual, expected, checkpoint, config_file, limit=8):
    """Raises BertTF1Error listing missing variables or shape mismatches (at most `limit` each)."""
    missing = sorted(name for name in expected if name not in actual)
    if missing:
        raise BertTF1Error("%s: %d variable(s) that %s requires are missing: %s%s"
                           % (checkpoint, len(missing), config_file, ", ".join(missing[:limit]),
                              " ..." if len(missing) > limit else ""))
    wrong = ["%s is %s, expected %s" % (name, list(actual[name]), shape)
             for name, shape in sorted(expected.items()) if list(actual[name]) != shape]
    if wrong:
        raise BertTF1Error("%s disagrees with %s: %s%s" % (checkpoint, config_file,
                                                         "; ".join(wrong[:limit]),
                                                         " ..." if len(wrong) > limit else ""))
