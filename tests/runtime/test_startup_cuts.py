"""Start-up work a hub-module run no longer does (issue 11): each test fails without its cut."""
import glob

import tensorflow as tf
from tensorflow.python.client import session as session_lib

from bert_tf1.runtime import progress, step_signature, workers
from tests.support import run_python


def _train_signatures(tmp_path, extra_hooks, steps=3):
    """The distinct (sorted fetch names) of the train-op runs of a MonitoredTrainingSession
    writing summaries every 100 steps, as Estimator's; and the (step, tag, value) of the
    summaries in its events file."""
    signatures, original = [], session_lib.BaseSession.run

    def flatten(fetches):  # MonitoredSession's fetches are keyed by hook objects
        if isinstance(fetches, dict):
            return [t for value in fetches.values() for t in flatten(value)]
        if isinstance(fetches, (list, tuple)):
            return [t for value in fetches for t in flatten(value)]
        return [fetches]

    def recording_run(self, fetches, *args, **kwargs):
        names = sorted(set(t.name for t in flatten(fetches)
                           if isinstance(t, (tf.Tensor, tf.Operation))))
        if "train_op" in names:
            signatures.append(tuple(names))
        return original(self, fetches, *args, **kwargs)

    with tf.Graph().as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        loss = tf.constant(0.25)
        tf.compat.v1.summary.scalar("loss", loss)
        train_op = tf.group(tf.compat.v1.assign_add(global_step, 1), name="train_op")
        session_lib.BaseSession.run = recording_run
        try:
            with tf.compat.v1.train.MonitoredTrainingSession(
                    checkpoint_dir=str(tmp_path), save_summaries_steps=100,
                    save_checkpoint_steps=None, save_checkpoint_secs=None,
                    hooks=extra_hooks) as session:
                for _ in range(steps):
                    session.run(train_op)
        finally:
            session_lib.BaseSession.run = original
    summaries = [(event.step, value.tag, value.simple_value)
                 for path in glob.glob(str(tmp_path / "events.out.tfevents.*"))
                 for event in tf.compat.v1.train.summary_iterator(path)
                 for value in event.summary.value]
    return set(signatures), summaries


def test_every_training_step_shares_one_fetch_signature_and_summaries_are_unchanged(tmp_path):
    # Estimator's SummarySaverHook fetches the summary with step 1 only: two signatures, so
    # the session prepares the whole graph twice.
    plain, plain_summaries = _train_signatures(tmp_path / "plain", [])
    assert len(plain) == 2
    hooks = step_signature.steady_fetch_hooks(save_summary_steps=100, use_tpu=False)
    steady, steady_summaries = _train_signatures(tmp_path / "steady", hooks)
    assert len(steady) == 1
    assert steady_summaries == plain_summaries == [(1, "loss", 0.25)]  # the same events
    assert step_signature.steady_fetch_hooks(100, use_tpu=True) == []
    assert step_signature.steady_fetch_hooks(None, use_tpu=False) == []


def test_progress_hook_reads_the_global_step_every_estimator_hook_fetches():
    """Reading the variable itself was one more fetch signature (one more executor)."""
    hook = progress.TrainingProgressHook(num_train_steps=3, log_fn=lambda _: None)
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        shared = progress.global_step_read_tensor()  # Estimator creates it before model_fn
        hook.begin()
        assert hook._global_step is shared


def test_feature_workers_auto_forks_only_when_the_examples_pay_for_it(monkeypatch):
    from bert_tf1.classifier import pipeline

    assert workers.workers_worth_forking(0, 704, 1000) == 1
    assert workers.workers_worth_forking(0, 10 ** 6, 1000) == workers.resolve_num_workers(0)
    assert workers.workers_worth_forking(2, 10, 1000) == 2  # an explicit count is kept
    asked = []
    monkeypatch.setattr(pipeline.feature_cache, "ensure_cached_tfrecord",
                        lambda *args: asked.append(args[7]))
    settings = pipeline.ClassifierRunSettings(feature_workers=0)
    pipeline.ensure_features(settings, [object()] * 704, ["0", "1"], None, "x.tf_record")
    assert asked == [1]


def test_the_classifier_pipeline_imports_neither_pkg_resources_nor_tqdm():
    """pkg_resources scans every installed distribution on import (0.2-0.4 s); tqdm is only
    needed for a progress bar on a terminal."""
    code = ("import sys\n"
            "from bert_tf1.classifier import pipeline\n"
            "from bert_tf1.runtime import outputs\n"
            "versions = outputs.package_versions(('tensorflow', 'no-such-distribution-x'))\n"
            "assert versions == {'tensorflow': pipeline.tf.__version__, "
            "'no-such-distribution-x': None}, versions\n"
            "print(sorted(m for m in ('pkg_resources', 'tqdm') if m in sys.modules))\n")
    result = run_python(["-c", code])
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
