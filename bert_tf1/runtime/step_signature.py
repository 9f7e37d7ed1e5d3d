"""One fetch signature for every training step, so TensorFlow prepares the graph once.

A TF1 session builds an executor (prunes the whole graph, runs grappler over it, creates its
kernels) for every new combination of fetched tensors: about a second of CPU for a tiny BERT's
training graph on 2 cores, more for larger ones. Estimator's SummarySaverHook adds the merged
summary to the fetches of the first step and of every save_summary_steps-th step only, so the
first step and the second one differ, and the second step pays for a second executor (issue 11:
most of the "second slow step" before training runs at speed; Google's script pays it too).

SummaryFetchHook fetches that same merged summary on every step and drops it: the steps then
share one signature, the extra work is a few scalar summary ops per step, and what is written
is unchanged (Estimator's own hook still writes the summaries at its steps).
"""
import tensorflow as tf


class SummaryFetchHook(tf.estimator.SessionRunHook):
    """Adds the graph's merged summary (the Scaffold's summary_op) to every step's fetches.

    The summary op is looked up at the first before_run, after the session (and so the
    Scaffold, which creates it) is ready: tf.GraphKeys.SUMMARY_OP. Without one (a graph with
    no summaries), nothing is fetched.
    """

    def begin(self):
        self._summary_op = None
        self._looked_up = False

    def before_run(self, run_context):  # pylint: disable=unused-argument
        if not self._looked_up:
            self._looked_up = True
            ops = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.SUMMARY_OP)
            self._summary_op = ops[0] if ops else None
        if self._summary_op is None:
            return None
        return tf.estimator.SessionRunArgs(self._summary_op)


def steady_fetch_hooks(save_summary_steps, use_tpu):
    """[SummaryFetchHook()] where Estimator writes summaries every N > 1 steps off TPU, else []
    (on a TPU the host loop's fetches are TPUEstimator's own)."""
    if use_tpu or not save_summary_steps or save_summary_steps <= 1:
        return []
    return [SummaryFetchHook()]
