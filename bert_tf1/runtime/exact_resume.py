"""Exact resume: a run killed at any point and started again ends where an uninterrupted run ends.

Three things differ between an uninterrupted run and one restored from model.ckpt-N:
  * input: Estimator calls the input_fn afresh, so the shuffled stream starts again at its
    first record. `examples_consumed` says how many records the restored step used; the input
    pipeline skips them (repeat -> seeded shuffle -> skip: the same stream, continued).
  * dropout: TF1's random ops keep their state in the session, so a restored run replays the
    dropout masks of step 1 at step N+1. `seeded_dropout_model_fn` (used with --deterministic)
    makes every dropout mask a function of (seed, call site, global step): stateless, so the
    same at step N+1 whether or not the process restarted.
  * history: train_history.json was written only at the end; `HistoryFlushHook` merges the new
    (step, loss) pairs into it every few steps, so a kill loses at most the steps since the
    last flush (and those are trained again, giving the same losses).
"""
import contextlib

import tensorflow as tf

from bert_tf1.runtime import outputs


def examples_consumed(global_step, train_batch_size):
    """Records of the training stream used by `global_step` steps of `train_batch_size`
    (the global batch: under MirroredStrategy each step takes one batch per replica)."""
    return int(global_step) * int(train_batch_size)


def _seeded_dropout(base_seed, counter):
    """A tf.nn.dropout replacement whose mask is stateless_uniform(seed, call site, step).
    Same signature as TF 1.15's tf.nn.dropout; its `seed` is ignored (base_seed rules)."""

    def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
        del seed
        if rate is None:
            rate = 1.0 - keep_prob
        counter[0] += 1
        with tf.compat.v1.name_scope(name, "seeded_dropout", [x]):
            step = tf.cast(tf.compat.v1.train.get_or_create_global_step(), tf.int64)
            site = tf.constant(int(base_seed) * 1000003 + counter[0], tf.int64)
            shape = noise_shape if noise_shape is not None else tf.shape(x)
            uniform = tf.random.stateless_uniform(shape, seed=tf.stack([site, step]),
                                                  dtype=x.dtype)
            keep = tf.cast(uniform >= rate, x.dtype)
            return x * keep / (1.0 - rate)

    return dropout


@contextlib.contextmanager
def seeded_dropout(seed):
    """Within the block, tf.nn.dropout (BERT's and the heads') is the stateless seeded one."""
    # Both API namespaces: google-research/bert imports tensorflow.compat.v1 (another module
    # wrapper than `tensorflow`), the kit's heads `tensorflow`.
    namespaces = (tf.nn, tf.compat.v1.nn)
    originals = [namespace.dropout for namespace in namespaces]
    replacement = _seeded_dropout(seed, [0])
    for namespace in namespaces:
        namespace.dropout = replacement
    try:
        yield
    finally:
        for namespace, original in zip(namespaces, originals):
            namespace.dropout = original


def seeded_dropout_model_fn(model_fn, seed):
    """`model_fn` building its TRAIN graph with `seeded_dropout(seed)` (same signature).

    Why a stateless mask: a resumed session restarts every stateful random op, so with
    tf.nn.dropout a killed-and-resumed run trains on other masks than an uninterrupted one.
    """

    def wrapped(features, labels, mode, params, config=None):
        if mode != tf.estimator.ModeKeys.TRAIN:
            return model_fn(features, labels, mode, params, config)
        with seeded_dropout(seed):
            return model_fn(features, labels, mode, params, config)

    return wrapped


class HistoryFlushHook(tf.estimator.SessionRunHook):
    """Merges a TrainingProgressHook's new (step, loss) pairs into train_history.json every
    `every_n_steps` global steps and at the end of training.

    Args:
      progress_hook: the hook whose `history` list grows (bert_tf1.runtime.progress).
      output_dir: where train_history.json lives (merged with earlier runs' steps).
      every_n_steps: flush interval in global steps (the run uses its checkpoint interval, so
        what a kill loses is retrained from that checkpoint anyway).
    """

    def __init__(self, progress_hook, output_dir, every_n_steps):
        self.progress_hook = progress_hook
        self.output_dir = output_dir
        self.every_n_steps = max(1, int(every_n_steps))
        self.path = None
        self._flushed = 0

    def flush(self):
        new = self.progress_hook.history[self._flushed:]
        if new:
            self.path = outputs.write_train_history(self.output_dir, new)
            self._flushed += len(new)
        return self.path

    def after_run(self, run_context, run_values):  # pylint: disable=unused-argument
        history = self.progress_hook.history
        if history and history[-1][0] % self.every_n_steps == 0:
            self.flush()

    def end(self, session):  # pylint: disable=unused-argument
        self.flush()
