"""Everything a run needs is checked before it writes anything to output_dir.

The fault probe of issue 12 found runs that wrote run_manifest.json and train.tf_record and only
then failed: a hub module with missing or truncated variables, checkpoint variables of the wrong
shape, a vocabulary of another size than the config's (smaller: it even ran, silently), an S3
endpoint that was down, an output path blocked by a file. `check_run_inputs(settings)` finds
each of these first and raises one BertTF1Error naming the file and what was expected; reading a
checkpoint here touches only its index and file sizes, never the weights.
"""
import math
import os

import numpy as np
import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import bert_dir, checkpoint_bert, hub_bert
from bert_tf1.runtime import io_errors

# Float settings that must be finite (the CLIs refuse nan/inf at parse time; library callers
# get the same check here).
FINITE_SETTINGS = ("learning_rate", "num_train_epochs", "warmup_proportion", "head_dropout",
                   "dev_fraction")
# Settings that name files or directories, for the remote-endpoint check.
PATH_SETTINGS = ("data_dir", "output_dir", "bert_hub_module_handle", "init_checkpoint",
                 "bert_config_file", "vocab_file", "export_dir")
HUB_VOCAB = os.path.join("assets", "vocab.txt")
WORD_EMBEDDINGS = "bert/embeddings/word_embeddings"


def check_run_inputs(settings):
    """Raises BertTF1Error unless the run's settings, storage and model source are usable.

    Args:
      settings: a ClassifierRunSettings (or any object with its attribute names).
    """
    check_finite(settings)
    for name in PATH_SETTINGS:
        path = getattr(settings, name, None)
        if path:
            io_errors.check_reachable(path)
    if settings.output_dir:
        check_output_dir(settings.output_dir)
    if settings.bert_hub_module_handle:
        check_hub_module_weights(settings.bert_hub_module_handle)
    else:
        check_checkpoint_source(settings.bert_config_file, settings.init_checkpoint,
                                settings.vocab_file)
    if settings.bert_hub_module_handle and settings.init_checkpoint:
        # A fine-tuned classifier on top of the module: readable and whole.
        check_checkpoint_files(checkpoint_bert.resolve_init_checkpoint(settings.init_checkpoint))


def check_finite(settings):
    """--learning_rate=nan would train to NanLossDuringTrainingError after writing output_dir."""
    for name in FINITE_SETTINGS:
        value = getattr(settings, name, None)
        if isinstance(value, float) and not math.isfinite(value):
            raise BertTF1Error("--%s must be a finite number, got %r" % (name, value))


def check_output_dir(path):
    """A local output_dir must be a directory, or creatable, and writable.

    TF's makedirs succeeds on an existing *file* (and writes then fail with "Not a directory"),
    and a read-only or foreign directory fails only at the first write.
    """
    if io_errors.scheme(path):
        return
    existing = os.path.abspath(path)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise BertTF1Error("--output_dir %s: %s is a file, not a directory; move it or choose "
                           "another --output_dir" % (path, existing))
    if not os.access(existing, os.W_OK | os.X_OK):
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
        raise BertTF1Error("--output_dir %s: %s is %s; choose a writable --output_dir" % (
            path, existing, "on a read-only file system" if read_only else "not writable"))


def check_checkpoint_files(prefix, what=None):
    """Returns {variable: shape} of checkpoint `prefix` after checking it is whole.

    Raises BertTF1Error when the index is unreadable (truncated, "not an sstable") or the data
    files hold fewer bytes than the index lists (a truncated copy or download).
    """
    what = what or "checkpoint %s" % prefix
    try:
        reader = tf.train.load_checkpoint(prefix)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except (tf.errors.OpError, ValueError) as error:
        raise BertTF1Error("%s: cannot read its index %s.index (%s)" % (
            what, prefix, str(error).strip().splitlines()[0]))
    if any(dtype == tf.string for dtype in dtypes.values()):
        return shapes  # variable-length: no size to expect
    expected = sum(int(np.prod(shape)) * dtypes[name].size for name, shape in shapes.items())
    data_files = tf.io.gfile.glob(prefix + ".data-*-of-*")
    held = sum(tf.io.gfile.stat(name).length for name in data_files)
    if held < expected:
        raise BertTF1Error("%s is truncated or incomplete: its data file(s) %s hold %d bytes, "
                           "the index lists %d; copy or download it again" % (
                               what, ", ".join(sorted(data_files)) or prefix + ".data-*",
                               held, expected))
    return shapes


def check_hub_module_weights(handle):
    """The module's variables are present and whole, and its vocabulary fits its embeddings."""
    hub_bert.check_hub_module(handle)  # a module at all (its own messages: TF2, not found)
    module = hub_bert.resolve_url_handle(handle)
    prefix = os.path.join(module, "variables", "variables")
    if not tf.io.gfile.exists(prefix + ".index"):
        raise BertTF1Error("hub module %s has no variables/variables.index: its weights are "
                           "missing (export it again, e.g. with bert-tf1-export-hub)" % handle)
    shapes = check_checkpoint_files(prefix, "hub module %s (variables/variables)" % handle)
    vocab = os.path.join(module, HUB_VOCAB)
    if WORD_EMBEDDINGS in shapes and tf.io.gfile.exists(vocab):
        check_vocab_rows(vocab, shapes[WORD_EMBEDDINGS][0],
                         "its word embeddings (%s)" % WORD_EMBEDDINGS)


def check_vocab_rows(vocab_file, rows, source):
    """A vocabulary must have exactly the embedding table's rows.

    Smaller ran silently (ids only reach part of the table: another model's vocabulary);
    larger fails deep in the graph on the first id beyond the table.
    """
    size = bert_dir.count_vocab_lines(vocab_file)
    if size != rows:
        raise BertTF1Error("%s has %d tokens but %s has vocab_size %d: the vocabulary must be "
                           "the one the model was trained with" % (vocab_file, size, source,
                                                                  rows))


def check_checkpoint_source(bert_config_file, init_checkpoint, vocab_file):
    """Config, vocabulary and checkpoint of a checkpoint run agree with each other."""
    if not (bert_config_file or init_checkpoint):
        return
    prefix = init_checkpoint and checkpoint_bert.resolve_init_checkpoint(init_checkpoint)
    source = checkpoint_bert.BertSource.from_flags(None, bert_config_file, init_checkpoint)
    config = source.bert_config
    config_name = bert_config_file or "the config of %s" % init_checkpoint
    if vocab_file and tf.io.gfile.exists(vocab_file):  # a missing one: make_tokenizer says so
        check_vocab_rows(vocab_file, config.vocab_size, config_name)
    if not prefix:
        return
    shapes = check_checkpoint_files(prefix)
    if not any("bert/" in name for name in shapes):
        return  # no encoder in it (a head-only checkpoint): nothing to compare
    # A run on a hub module saves BERT as "module/bert/...": compare under either name.
    renamed = {}
    for name in bert_dir.expected_encoder_shapes(config):
        found = next((candidate for candidate in checkpoint_bert.checkpoint_name_candidates(name)
                      if candidate in shapes), None)
        if found:
            renamed[name] = shapes[found]
    bert_dir.check_checkpoint_shapes(renamed, bert_dir.expected_encoder_shapes(config), prefix,
                                     config_name)
