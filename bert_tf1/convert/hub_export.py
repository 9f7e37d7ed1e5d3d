"""Exports a Google-layout BERT checkpoint as a TF1 Hub module (the format tfhub.dev served in
2019).

The module has the signatures Google's BERT modules had:
  tokens:            input_ids, input_mask, segment_ids (int32 [batch, seq]) ->
                     pooled_output [batch, hidden], sequence_output [batch, seq, hidden]
  tokenization_info: () -> vocab_file (string, a module asset), do_lower_case (bool)
  mlm:               the tokens inputs + mlm_positions (int32 [batch, num_positions]) ->
                     mlm_logits [batch, num_positions, vocab_size]   (only when the checkpoint
                     has the masked-LM head; Google's fine-tuned checkpoints often do not)
and two graph variants: tags={"train"} with BERT's dropout on, the default tag set without it.
"""
import os

import tensorflow as tf
import tensorflow_hub as hub
from bert import modeling

from bert_tf1 import compat
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import bert_dir as bert_dir_lib
from bert_tf1.modeling import pretraining_heads
from bert_tf1.runtime import atomic_io

TRAIN_TAGS = {"train"}
MODULE_MARKERS = ("tfhub_module.pb", "saved_model.pb")


def infer_do_lower_case(vocab_file):
    """Guesses the casing a vocabulary was built for: uncased vocabularies hold no capitals.

    Google's cased vocabularies contain many capitalised ASCII words ("The", "John"); uncased ones
    have none outside the bracketed special tokens. Only ASCII tokens count: bert-base-uncased
    keeps a few capital symbols from other scripts (e.g. 'ℝ'). Pass do_lower_case to override.
    """

    with tf.io.gfile.GFile(vocab_file, "r") as handle:
        for token in handle:
            token = token.strip()
            if token.startswith("[") and token.endswith("]"):
                continue
            if token.isascii() and any(ch.isupper() for ch in token):
                return False
    return True


def bert_module_fn(bert_config, vocab_file, do_lower_case, with_mlm):
    """Returns the module_fn(is_training) that hub.create_module_spec calls once per tag set."""

    def module_fn(is_training):
        input_ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_ids")
        input_mask = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_mask")
        segment_ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="segment_ids")
        model = modeling.BertModel(config=bert_config, is_training=is_training,
                                   input_ids=input_ids, input_mask=input_mask,
                                   token_type_ids=segment_ids, use_one_hot_embeddings=False)
        token_inputs = dict(input_ids=input_ids, input_mask=input_mask, segment_ids=segment_ids)
        hub.add_signature(name="tokens", inputs=token_inputs,
                          outputs=dict(pooled_output=model.get_pooled_output(),
                                       sequence_output=model.get_sequence_output()))

        # Registering the constant as an asset makes hub copy vocab.txt into the module's
        # assets/ and rewrite the constant to point there wherever the module is loaded.
        vocab_constant = tf.constant(vocab_file, name="vocab_file")
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS, vocab_constant)
        hub.add_signature(name="tokenization_info", inputs={},
                          outputs=dict(vocab_file=vocab_constant,
                                       do_lower_case=tf.constant(do_lower_case)))

        if with_mlm:
            mlm_positions = tf.compat.v1.placeholder(tf.int32, [None, None], name="mlm_positions")
            logits = pretraining_heads.masked_lm_logits(
                bert_config, model.get_sequence_output(), model.get_embedding_table(),
                mlm_positions)
            mlm_inputs = dict(token_inputs, mlm_positions=mlm_positions)
            hub.add_signature(name="mlm", inputs=mlm_inputs, outputs=dict(mlm_logits=logits))

    return module_fn


def module_exists(path):
    """True when `path` already holds a hub module or SavedModel."""

    return any(tf.io.gfile.exists(os.path.join(path, marker)) for marker in MODULE_MARKERS)


def export_hub_module(bert_dir, output_dir, do_lower_case=None, overwrite=False,
                      config_file=None, vocab_file=None, checkpoint=None):
    """Exports the BERT in `bert_dir` as a TF1 Hub module at `output_dir`.

    The module is written to a temporary sibling directory and renamed into place, so an error or
    interruption never leaves a half-written module at `output_dir`.

    Args:
      bert_dir: Google-layout BERT directory (bert_config.json, vocab.txt, bert_model.ckpt).
      output_dir: module directory to create (local, gs:// or s3://).
      do_lower_case: tokenizer casing recorded in tokenization_info; None infers it from the
        vocabulary (see infer_do_lower_case).
      overwrite: replace a module already at `output_dir`.
      config_file, vocab_file, checkpoint: override the file names inside `bert_dir`.

    Returns:
      dict with output_dir, signatures (list of names), do_lower_case.

    Raises:
      BertTF1Error: bad BERT directory, or `output_dir` not empty and not `overwrite`.
    """

    compat.setup_tf1()
    source = bert_dir_lib.load_bert_directory(bert_dir, config_file, vocab_file, checkpoint)
    if tf.io.gfile.exists(output_dir) and tf.io.gfile.listdir(output_dir) and not overwrite:
        what = "a hub module" if module_exists(output_dir) else "files"
        raise BertTF1Error("%s already holds %s; pass --overwrite to replace it, or choose an "
                           "empty directory" % (output_dir, what))
    if do_lower_case is None:
        do_lower_case = infer_do_lower_case(source.vocab_file)
    with_mlm = source.has_variables(pretraining_heads.MASKED_LM_VARIABLES)
    module_fn = bert_module_fn(source.config, source.vocab_file, bool(do_lower_case), with_mlm)
    tags_and_args = [(TRAIN_TAGS, {"is_training": True}), (set(), {"is_training": False})]
    spec = hub.create_module_spec(module_fn, tags_and_args=tags_and_args)
    with atomic_io.staged_directory(output_dir, overwrite=True) as staging:
        module_path = os.path.join(staging, "module")
        spec.export(module_path, checkpoint_path=source.checkpoint)
        # Move the module's parts to the staging root; staged_directory renames it into place.
        for name in tf.io.gfile.listdir(module_path):
            tf.io.gfile.rename(os.path.join(module_path, name.rstrip("/")),
                               os.path.join(staging, name.rstrip("/")))
        tf.io.gfile.rmtree(module_path)
    signatures = ["tokens", "tokenization_info"] + (["mlm"] if with_mlm else [])
    return {"output_dir": output_dir, "signatures": signatures,
            "do_lower_case": bool(do_lower_case)}
