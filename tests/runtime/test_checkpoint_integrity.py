"""runtime.checkpoint_integrity: a damaged latest checkpoint falls back, a lost index is rebuilt."""
import os

import numpy as np
import pytest
import tensorflow as tf

from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import checkpoint_integrity


def save_checkpoints(model_dir, steps=(1, 2, 3)):
    """model.ckpt-N for each step (a 64x64 variable holding N), as Estimator's Saver names them."""
    with tf.Graph().as_default():
        variable = tf.compat.v1.get_variable("w", shape=[64, 64])
        step = tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver(max_to_keep=10)
        with tf.compat.v1.Session() as sess:
            for n in steps:
                sess.run([variable.assign(tf.fill([64, 64], float(n))), step.assign(n)])
                saver.save(sess, os.path.join(model_dir, "model.ckpt"), global_step=n)


def value_of(prefix):
    return float(tf.train.load_variable(prefix, "w")[0, 0])


def test_intact_checkpoints_are_left_alone(tmp_path):
    model_dir = str(tmp_path)
    save_checkpoints(model_dir)
    before = open(os.path.join(model_dir, "checkpoint")).read()
    warnings = []
    assert checkpoint_integrity.ensure_intact(model_dir, log=warnings.append) == \
        os.path.join(model_dir, "model.ckpt-3")
    assert warnings == [] and open(os.path.join(model_dir, "checkpoint")).read() == before
    assert checkpoint_integrity.ensure_intact(str(tmp_path / "none")) is None


@pytest.mark.parametrize("damage", ["truncate_data", "garble_index", "delete_data"])
def test_damaged_latest_checkpoint_falls_back_to_the_newest_intact_one(tmp_path, damage):
    model_dir = str(tmp_path)
    save_checkpoints(model_dir)
    data = os.path.join(model_dir, "model.ckpt-3.data-00000-of-00001")
    index = os.path.join(model_dir, "model.ckpt-3.index")
    if damage == "truncate_data":
        with open(data, "r+b") as handle:
            handle.truncate(os.path.getsize(data) // 2)
    elif damage == "garble_index":
        with open(index, "wb") as handle:
            handle.write(b"\0" * 100)
    else:
        os.remove(data)
    warnings = []
    latest = checkpoint_integrity.ensure_intact(model_dir, log=warnings.append)
    assert latest == os.path.join(model_dir, "model.ckpt-2")
    assert len(warnings) == 1 and "model.ckpt-3 is damaged" in warnings[0], warnings
    assert "using %s" % latest in warnings[0]
    # What Estimator restores from now, and the bad files are out of its way.
    assert tf.train.latest_checkpoint(model_dir) == latest
    assert value_of(tf.train.latest_checkpoint(model_dir)) == 2.0
    assert not any(name.startswith("model.ckpt-3.") and not name.endswith(".corrupt")
                   for name in os.listdir(model_dir))


def test_missing_or_garbled_index_is_rebuilt_from_the_files(tmp_path):
    model_dir = str(tmp_path)
    save_checkpoints(model_dir)
    os.remove(os.path.join(model_dir, "checkpoint"))
    assert tf.train.latest_checkpoint(model_dir) is None  # TF alone would restart at step 0
    warnings = []
    checkpoint_integrity.ensure_intact(model_dir, log=warnings.append)
    assert "checkpoint is missing; rebuilt it from the checkpoint files" in warnings[0]
    assert tf.train.latest_checkpoint(model_dir) == os.path.join(model_dir, "model.ckpt-3")
    state = tf.train.get_checkpoint_state(model_dir)
    assert [os.path.basename(p) for p in state.all_model_checkpoint_paths] == \
        ["model.ckpt-1", "model.ckpt-2", "model.ckpt-3"]
    with open(os.path.join(model_dir, "checkpoint"), "w") as handle:
        handle.write("model_checkpoint_path: \"model.ckpt-3\ngarbage{")
    checkpoint_integrity.ensure_intact(model_dir, log=warnings.append)
    assert "is unreadable or names no checkpoint" in warnings[1]
    assert value_of(tf.train.latest_checkpoint(model_dir)) == 3


def test_no_intact_checkpoint_is_one_error_never_a_restart(tmp_path):
    model_dir = str(tmp_path)
    save_checkpoints(model_dir, steps=(5,))
    os.remove(os.path.join(model_dir, "model.ckpt-5.data-00000-of-00001"))
    with pytest.raises(BertTF1Error, match="holds checkpoint files but none reads back .*"
                                           "model.ckpt-5.data-\\*: no data file"):
        checkpoint_integrity.ensure_intact(model_dir)
    assert np.isfinite(checkpoint_integrity.checkpoint_step(os.path.join(model_dir, "x-7")))
