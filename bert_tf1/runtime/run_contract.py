"""The contract on output_dir: a rerun continues the same run, or says what changed.

A fine-tuning run's output_dir holds checkpoints, cached TFRecords and a run_manifest.json with
the flags, the task spec (labels) and a hash of the training examples. A later command on the
same output_dir resumes training, or evaluates / predicts with the trained model; if its model
source, model-shaping flags or (when it trains) training data and schedule differ, TF 1.15 would
silently mix the two (e.g. skip training as "already at max_steps" and evaluate the model trained
on the old labels). `check_rerun` turns that into one BertTF1Error naming each change as
"name: old -> new"; `clear_previous_run` is what --overwrite_output_dir does instead.

`RunStatus` writes the manifest's status on every exit path: running -> finished, or failed with
the error (SIGKILL leaves "running"; the next run finds the stale lock and says so).
"""
import hashlib
import json
import os

import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import checkpoint_integrity, outputs

# Flags that shape the model or its inputs: compared whenever output_dir holds a checkpoint.
MODEL_FLAGS = ("task_name", "head", "max_seq_length", "truncation", "bert_hub_module_handle",
               "bert_config_file", "vocab_file", "do_lower_case", "fine_tune_top_layers")
# Flags of the training schedule: compared when the rerun trains (it continues the old training).
SCHEDULE_FLAGS = ("init_checkpoint", "learning_rate", "train_batch_size", "num_train_epochs",
                  "warmup_proportion", "head_dropout", "seed", "deterministic")
# Flags that carve a dev split from train (tasks without one): compared whenever the rerun
# evaluates on such a split, or it would evaluate on examples the model was trained on.
CARVED_DEV_FLAGS = ("seed", "dev_fraction")
# Flags that name paths: compared after making local paths absolute.
PATH_FLAGS = ("bert_hub_module_handle", "bert_config_file", "vocab_file", "init_checkpoint")
TRAIN_DATA_KEY = "train_data_sha256"
TRAINED_BY_KEY = "trained_by"

# What --overwrite_output_dir removes: the kit's own outputs only, never other files.
RUN_OUTPUT_PATTERNS = ("checkpoint", "model.ckpt-*", "graph.pbtxt", "events.out.tfevents.*",
                       "*.tf_record", "*.tf_record.meta.json", "*.corrupt",
                       outputs.EVAL_RESULTS_TXT, outputs.EVAL_RESULTS_JSON,
                       outputs.TEST_RESULTS_TSV, outputs.PREDICTIONS_JSONL,
                       outputs.TRAIN_HISTORY_JSON, outputs.MANIFEST_JSON)
RUN_OUTPUT_DIRS = ("eval", "eval_*", "tmp_worker_*")


def examples_fingerprint(examples):
    """sha256 of the training examples (guid, texts, label), in order: the run's training data."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps([example.guid, example.text_a, example.text_b,
                                  None if example.label is None else str(example.label)],
                                 ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _normal(name, value):
    if name in PATH_FLAGS and isinstance(value, str) and value and "://" not in value:
        return os.path.normpath(os.path.abspath(value))
    return value


def _labels_of(manifest):
    spec = manifest.get("task_spec") or {}
    if not spec:
        return None
    return "regression" if spec.get("is_regression") else list(spec.get("labels") or [])


def _text(value):
    return "none" if value is None else str(value)


def shape_changes(old_manifest, flags, labels):
    """'name: old -> new' for head, max_seq_length and labels (what any trained head needs).

    Args:
      old_manifest: the trained run's manifest (dict).
      flags: the new run's settings (dict of flag values).
      labels: the new run's label list, or None for regression.
    """
    old_flags = old_manifest.get("flags") or {}
    found = ["%s: %s -> %s" % (name, _text(old_flags[name]), _text(flags.get(name)))
             for name in ("head", "max_seq_length")
             if name in old_flags and old_flags[name] != flags.get(name)]
    old_labels = _labels_of(old_manifest)
    new_labels = "regression" if labels is None else list(labels)
    if old_labels is not None and old_labels != new_labels:
        found.append("labels: %s -> %s" % (old_labels, new_labels))
    return found


def rerun_changes(old_manifest, flags, labels, train_data_sha256=None, carved_dev=False):
    """Every change a rerun on the same output_dir would make: 'name: old -> new' strings.

    Model flags and labels always count; when the rerun trains (flags["do_train"]), so do the
    training flags and the training data's hash; when it evaluates on a dev split carved from
    train (`carved_dev`), so do the flags that carve it (CARVED_DEV_FLAGS), compared with the
    run that trained the model. Flags the old manifest lacks (older kit versions) are not
    compared.
    """
    found = shape_changes(old_manifest, flags, labels)
    # An eval/predict-only run keeps the training run's record (carry_training_record).
    trained = old_manifest.get(TRAINED_BY_KEY) or old_manifest
    names = [(name, old_manifest) for name in MODEL_FLAGS if name not in ("head",
                                                                          "max_seq_length")]
    if flags.get("bert_hub_module_handle"):
        names.remove(("do_lower_case", old_manifest))  # a hub module says its own casing
    if flags.get("do_train"):
        names += [(name, trained) for name in SCHEDULE_FLAGS]
    elif carved_dev:
        names += [(name, trained) for name in CARVED_DEV_FLAGS]
    for name, record in names:
        old_flags = record.get("flags") or {}
        if name not in old_flags:
            continue
        old, new = _normal(name, old_flags[name]), _normal(name, flags.get(name))
        if old != new:
            found.append("%s: %s -> %s%s" % (
                name, _text(old_flags[name]), _text(flags.get(name)),
                " (the dev split is carved from train with it: another value evaluates on "
                "training examples)" if carved_dev and name in CARVED_DEV_FLAGS and
                not flags.get("do_train") else ""))
    old_data = trained.get(TRAIN_DATA_KEY)
    if flags.get("do_train") and old_data and train_data_sha256 and old_data != train_data_sha256:
        found.append("training data (sha256 of the train examples): %s -> %s"
                     % (old_data[:12], train_data_sha256[:12]))
    return found


def carry_training_record(output_dir, manifest, trains):
    """A run that does not train keeps, in its manifest, the flags and data hash of the run that
    trained output_dir's model (under "trained_by"), so a later training rerun is still
    compared with the training that made the checkpoints."""
    if trains or not holds_trained_run(output_dir):
        return manifest
    old = outputs.read_manifest(output_dir)
    if old:
        manifest[TRAINED_BY_KEY] = old.get(TRAINED_BY_KEY) or {
            "flags": old.get("flags"), TRAIN_DATA_KEY: old.get(TRAIN_DATA_KEY)}
    return manifest


def holds_trained_run(output_dir):
    """Whether output_dir holds checkpoint files (a run to continue or to use)."""
    return bool(checkpoint_integrity.checkpoint_steps(output_dir))


def check_rerun(output_dir, flags, labels, train_data_sha256=None, overwrite=False,
                carved_dev=False):
    """Enforces the contract before anything is written; returns True when it cleared an old run.

    Args:
      output_dir: the run's output_dir (may not exist).
      flags: the new run's settings (dict), including do_train.
      labels: the new run's label list, or None for regression.
      train_data_sha256: examples_fingerprint of the training examples (runs that train).
      overwrite: --overwrite_output_dir: clear the old run instead of refusing.
      carved_dev: the run evaluates on a dev split carved from train (see rerun_changes).

    Raises:
      BertTF1Error naming every change (old -> new) and the manifest holding the old values.
    """
    if not holds_trained_run(output_dir):
        return False
    manifest = outputs.read_manifest(output_dir)
    changes = rerun_changes(manifest, flags, labels, train_data_sha256, carved_dev) \
        if manifest else []
    if not changes:
        return False
    if overwrite:
        tf.compat.v1.logging.warning("--overwrite_output_dir: clearing the previous run in %s "
                                     "(%s)", output_dir, "; ".join(changes))
        clear_previous_run(output_dir)
        return True
    raise BertTF1Error(
        "%s holds a run with other settings: %s. Repeat its flags to %s it, give another "
        "--output_dir, or pass --overwrite_output_dir to start over (see %s)" % (
            output_dir, "; ".join(changes), "continue" if flags.get("do_train") else "use",
            os.path.join(output_dir, outputs.MANIFEST_JSON)))


def clear_previous_run(output_dir):
    """Removes the kit's outputs of an earlier run from output_dir (--overwrite_output_dir).

    Only the names in RUN_OUTPUT_PATTERNS / RUN_OUTPUT_DIRS go, so a mistaken --output_dir (a
    home folder) loses nothing else; the run lock stays. Returns the removed paths.
    """
    removed = []
    for pattern in RUN_OUTPUT_PATTERNS:
        for path in tf.io.gfile.glob(os.path.join(output_dir, pattern)):
            if not tf.io.gfile.isdir(path):
                tf.io.gfile.remove(path)
                removed.append(path)
    for pattern in RUN_OUTPUT_DIRS:
        for path in tf.io.gfile.glob(os.path.join(output_dir, pattern)):
            if tf.io.gfile.isdir(path):
                tf.io.gfile.rmtree(path)
                removed.append(path)
    return removed


class RunStatus(object):
    """The manifest's status: `start` writes it as running; `finish` / `fail` close it.

    Only a run that wrote its manifest changes it: a run refused before (a contract error, a
    held lock) leaves the previous run's manifest as it was.
    """

    def __init__(self, output_dir):
        self.output_dir = output_dir
        self.manifest = None

    def start(self, manifest):
        self.manifest = dict(manifest, status="running")
        self.manifest.pop("error", None)
        outputs.write_manifest(self.output_dir, self.manifest)

    def finish(self, **fields):
        if self.manifest is not None:
            self.manifest.update(fields, status="finished")
            outputs.write_manifest(self.output_dir, self.manifest)

    def fail(self, error):
        """Records `error` (an exception) as status failed; never raises over it."""
        if self.manifest is None or self.manifest.get("status") != "running":
            return
        message = str(error) or type(error).__name__
        if isinstance(error, KeyboardInterrupt):
            message = "interrupted"
        self.manifest.update(status="failed", error="%s: %s" % (type(error).__name__, message))
        try:
            outputs.write_manifest(self.output_dir, self.manifest)
        except Exception as write_error:  # noqa: BLE001 (a full disk must not hide `error`)
            tf.compat.v1.logging.error("could not record the failure in %s: %s",
                                       self.output_dir, write_error)
