"""Builds a small random BERT in Google's checkpoint layout, for tests and smoke runs.

tfhub.dev is gone and no small TF1 BERT checkpoint is on a package registry, so the CI smoke tests
make their own: `bert-tf1-make-tiny --output DIR` writes bert_config.json, vocab.txt and
bert_model.ckpt.* with the same variable names as Google's released checkpoints (bert/..., and the
pre-training heads cls/predictions/... and cls/seq_relationship/...), so every tool that reads a
Google checkpoint reads this one too.
"""
import json
import os
import string

import tensorflow as tf
from bert import modeling

from bert_tf1 import compat
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import pretraining_heads
from bert_tf1.paths import RESOURCES_DIR
from bert_tf1.runtime import atomic_io

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# Frequent English suffixes as WordPiece continuations: keep common inflections to 2 pieces.
_SUFFIX_PIECES = ["s", "es", "ed", "ing", "ly", "er", "ers", "est", "ion", "ions", "ness", "ment",
                  "able", "ful", "less", "ity", "ive", "al", "ic", "ous", "y", "en", "th"]


def tiny_vocab_tokens(min_size=None):
    """Returns the tiny vocabulary as a list of tokens (index = id).

    Order: the five special tokens, printable ASCII punctuation and digits, single letters and
    their `##` continuations (so any lowercase ASCII word tokenizes without [UNK]), common suffix
    pieces, then ~700 common English words (including movie-review and e-mail words, the kit's
    example domains). With `min_size`, [unusedN] tokens pad the list to that size, like Google's
    vocabularies reserve [unused0..]."""
    tokens = list(SPECIAL_TOKENS)
    tokens += [c for c in string.punctuation] + [c for c in string.digits]
    tokens += list(string.ascii_lowercase)
    tokens += ["##" + c for c in string.ascii_lowercase + string.digits]
    tokens += ["##" + piece for piece in _SUFFIX_PIECES if len(piece) > 1]
    words_path = os.path.join(RESOURCES_DIR, "tiny_vocab_words.txt")
    with open(words_path, encoding="utf-8") as handle:
        words = handle.read().split()
    seen = set(tokens)
    for word in words:
        # BERT's basic tokenizer splits on punctuation, so a word holding one can never match.
        if word not in seen and word.isalpha():
            seen.add(word)
            tokens.append(word)
    if min_size is not None:
        if min_size < len(tokens):
            raise BertTF1Error(
                "--vocab_size %d is too small: the tiny vocabulary needs at least %d tokens "
                "(special tokens, characters and words)" % (min_size, len(tokens)))
        tokens += ["[unused%d]" % i for i in range(min_size - len(tokens))]
    return tokens


def tiny_bert_config(vocab_size, layers=2, hidden=128, heads=2, intermediate=512,
                     max_position_embeddings=512, type_vocab_size=2):
    """The bert_config.json dictionary of a tiny BERT (Google's BERT-Tiny shape by default)."""
    if hidden % heads:
        raise BertTF1Error("--hidden %d must be a multiple of --heads %d" % (hidden, heads))
    for name, value in (("layers", layers), ("hidden", hidden), ("heads", heads),
                        ("intermediate", intermediate),
                        ("max_position_embeddings", max_position_embeddings)):
        if value < 1:
            raise BertTF1Error("--%s must be a positive integer, got %d" % (name, value))
    return {
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "max_position_embeddings": max_position_embeddings,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "type_vocab_size": type_vocab_size,
        "vocab_size": vocab_size,
    }


def make_tiny_bert(output_dir, seed=0, layers=2, hidden=128, heads=2, intermediate=512,
                   vocab_size=None, max_position_embeddings=512, overwrite=False):
    """Writes a random tiny BERT in Google's layout and returns the paths it wrote.

    The same seed gives the same variable values (TF's graph-level seed on CPU).

    Args:
      output_dir: directory to create; it must not hold a BERT already unless `overwrite`.
      seed: graph-level random seed.
      layers, hidden, heads, intermediate: encoder shape (Google's BERT-Tiny is 2/128/2/512).
      vocab_size: pads the vocabulary with [unusedN] tokens up to this size (default: no padding).
      max_position_embeddings: longest sequence the model accepts.
      overwrite: replace an existing bert_config.json / vocab.txt / bert_model.ckpt.

    Returns:
      dict with keys bert_config_file, vocab_file, init_checkpoint.
    """

    compat.setup_tf1()
    tokens = tiny_vocab_tokens(min_size=vocab_size)
    config_dict = tiny_bert_config(len(tokens), layers, hidden, heads, intermediate,
                                   max_position_embeddings)
    paths = {
        "bert_config_file": os.path.join(output_dir, "bert_config.json"),
        "vocab_file": os.path.join(output_dir, "vocab.txt"),
        "init_checkpoint": os.path.join(output_dir, "bert_model.ckpt"),
    }
    if tf.io.gfile.exists(paths["bert_config_file"]) and not overwrite:
        raise BertTF1Error("%s already holds a BERT (bert_config.json); pass --overwrite to "
                           "replace it" % output_dir)
    tf.io.gfile.makedirs(output_dir)

    config = modeling.BertConfig.from_dict(config_dict)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        input_ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_ids")
        model = modeling.BertModel(config=config, is_training=False, input_ids=input_ids)
        # Create the pre-training heads so the checkpoint has every variable Google's has.
        pretraining_heads.masked_lm_logits(config, model.get_sequence_output(),
                                           model.get_embedding_table(),
                                           tf.zeros([1, 1], tf.int32))
        pretraining_heads.next_sentence_logits(config, model.get_pooled_output())
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            # Write the checkpoint first and the config last: bert_config.json marks the
            # directory complete (make_tiny_bert refuses to overwrite once it exists).
            saver.save(sess, paths["init_checkpoint"], write_meta_graph=False)
    atomic_io.write_text_atomically(paths["vocab_file"], "".join(t + "\n" for t in tokens))
    atomic_io.write_text_atomically(paths["bert_config_file"],
                                    json.dumps(config_dict, indent=2, sort_keys=True) + "\n")
    return paths
