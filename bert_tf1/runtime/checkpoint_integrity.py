"""Checkpoint integrity of an output_dir: verify before use, fall back, rebuild the index.

TF 1.15 trusts the `checkpoint` index file: without it Estimator silently restarts at step 0 and
overwrites model.ckpt-*; with a truncated or corrupt latest checkpoint it dies with raw tracebacks
("not an sstable", "Read less bytes than requested"). `ensure_intact(model_dir)` runs before
training, evaluation and prediction:
  * every model.ckpt-N is read back in full (index parsed, every tensor read: sizes and CRCs
    checked by TF's reader), newest first, until an intact one is found;
  * the files of a bad checkpoint are renamed to *.corrupt (so neither TF nor a later run picks
    them up) and a warning names them;
  * a missing, unparsable or stale `checkpoint` index is rewritten from the intact files, with a
    warning, so training resumes from the newest intact step;
  * checkpoint files with no intact checkpoint among them are one BertTF1Error (never a silent
    restart at step 0).
Reading a checkpoint back costs about one restore (~0.5 s for BERT-Base from a local disk).
"""
import os
import re

import tensorflow as tf

from bert_tf1.errors import BertTF1Error

CHECKPOINT_INDEX = "checkpoint"
_INDEX_RE = re.compile(r"^(?P<prefix>.+-(?P<step>\d+))\.index$")
_DATA_RE = re.compile(r"\.data-(\d{5})-of-(\d{5})$")


def checkpoint_steps(model_dir, basename="model.ckpt"):
    """{step: prefix} of every checkpoint whose .index or .data file is in model_dir."""
    found = {}
    if not tf.io.gfile.isdir(model_dir):
        return found
    pattern = re.compile(r"^%s-(\d+)\.(index|data-\d{5}-of-\d{5}|meta)$" % re.escape(basename))
    for name in tf.io.gfile.listdir(model_dir):
        match = pattern.match(name.rstrip("/"))
        if match and match.group(2) != "meta":
            step = int(match.group(1))
            found[step] = os.path.join(model_dir, "%s-%d" % (basename, step))
    return found


def checkpoint_files(prefix):
    """Every file of the checkpoint at `prefix` (index, data shards, meta graph)."""
    return sorted(name for name in tf.io.gfile.glob(prefix + ".*")
                  if not name.endswith(".corrupt"))


def checkpoint_problem(prefix):
    """None when the checkpoint at `prefix` reads back in full, else what is wrong (str)."""
    files = checkpoint_files(prefix)
    if prefix + ".index" not in files:
        return "%s.index is missing" % prefix
    shards = [_DATA_RE.search(name) for name in files]
    shards = [match for match in shards if match]
    if not shards:
        return "%s.data-*: no data file" % prefix
    expected = int(shards[0].group(2))
    present = sorted(int(match.group(1)) for match in shards)
    if present != list(range(expected)):
        return "%s: data shards %s present, %d expected" % (prefix, present, expected)
    try:
        reader = tf.compat.v1.train.NewCheckpointReader(prefix)
        for name in sorted(reader.get_variable_to_shape_map()):
            reader.get_tensor(name)  # reads every byte: truncated or corrupt data fails here
    except (tf.errors.OpError, ValueError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        return "%s: %s" % (prefix, first_line)
    return None


def _read_index(model_dir):
    """(state, problem): the `checkpoint` index's CheckpointState or None, and what is wrong
    with it (None when it is fine or absent)."""
    path = os.path.join(model_dir, CHECKPOINT_INDEX)
    if not tf.io.gfile.exists(path):
        return None, "%s is missing" % path
    # TF logs a text_format ParseError and returns None for a garbled index.
    state = tf.train.get_checkpoint_state(model_dir)
    if state is None or not state.model_checkpoint_path:
        return None, "%s is unreadable or names no checkpoint" % path
    return state, None


def ensure_intact(model_dir, log=None):
    """Makes model_dir's latest checkpoint an intact one; returns its prefix (None: none yet).

    Args:
      model_dir: an Estimator model_dir (local, gs://, s3://); may not exist yet.
      log: called with each warning (default tf.compat.v1.logging.warning).

    Raises:
      BertTF1Error when checkpoint files exist but none reads back.
    """
    log = log or tf.compat.v1.logging.warning
    steps = checkpoint_steps(model_dir)
    if not steps:
        return None
    state, index_problem = _read_index(model_dir)
    bad = []
    intact = None
    for step in sorted(steps, reverse=True):
        problem = checkpoint_problem(steps[step])
        if problem is None:
            intact = steps[step]
            break
        bad.append((steps[step], problem))
    if intact is None:
        raise BertTF1Error(
            "%s holds checkpoint files but none reads back (%s); nothing to resume from: restore "
            "the files or start over with --overwrite_output_dir"
            % (model_dir, "; ".join(problem for _, problem in bad)))
    for prefix, problem in bad:
        moved = []
        for name in checkpoint_files(prefix):
            tf.io.gfile.rename(name, name + ".corrupt", overwrite=True)
            moved.append(os.path.basename(name))
        log("checkpoint %s is damaged (%s): moved %s aside as *.corrupt; using %s instead"
            % (prefix, problem, ", ".join(moved), intact))
    named = state and os.path.basename(state.model_checkpoint_path) == os.path.basename(intact)
    if index_problem or bad or not named:
        # Every bad checkpoint is newer than `intact`; names are relative to model_dir, as
        # get_checkpoint_state resolves them, so the folder stays movable.
        kept = [os.path.basename(steps[step]) for step in sorted(steps)
                if steps[step] not in dict(bad)]
        tf.compat.v1.train.update_checkpoint_state(
            model_dir, os.path.basename(intact), all_model_checkpoint_paths=kept)
        if index_problem or not (named or bad):  # a bad checkpoint was reported above
            log("%s; rebuilt it from the checkpoint files: training resumes from %s"
                % (index_problem or "%s named %s" % (
                    os.path.join(model_dir, CHECKPOINT_INDEX),
                    state.model_checkpoint_path if state else None), intact))
    return intact


def checkpoint_step(prefix):
    """The global step of a checkpoint prefix such as '.../model.ckpt-120' (0 for None)."""
    if not prefix:
        return 0
    match = re.search(r"-(\d+)$", prefix)
    return int(match.group(1)) if match else 0
