"""train_history.json flushing (runtime.exact_resume.HistoryFlushHook) and its interval."""
import json
import os

from bert_tf1.classifier import pipeline
from bert_tf1.runtime import exact_resume


class _Progress(object):
    """Stands in for TrainingProgressHook: only its `history` list is read."""

    def __init__(self):
        self.history = []


def _read(path):
    with open(path) as handle:
        return [tuple(pair) for pair in json.load(handle)["loss"]]


def test_history_is_flushed_at_checkpoint_steps_and_at_the_end(tmp_path, monkeypatch):
    progress = _Progress()
    hook = exact_resume.HistoryFlushHook(progress, str(tmp_path), every_n_steps=4)
    flushed_at = []
    original = exact_resume.outputs.write_train_history

    def write(output_dir, history):
        flushed_at.append(history[-1][0])
        return original(output_dir, history)

    monkeypatch.setattr(exact_resume.outputs, "write_train_history", write)
    losses = [(step, 1.0 / step) for step in range(1, 11)]
    for pair in losses:
        progress.history.append(pair)
        hook.after_run(None, None)
    assert flushed_at == [4, 8]
    hook.end(None)
    assert flushed_at == [4, 8, 10]
    # The same file as one write of every step (what the old per-log-line flushes produced).
    assert _read(os.path.join(str(tmp_path), "train_history.json")) == losses


def test_the_run_flushes_history_at_its_checkpoint_interval_not_every_log_line(tmp_path):
    settings = pipeline.ClassifierRunSettings(output_dir=str(tmp_path), log_every_n_steps=1,
                                              save_checkpoints_steps=250)
    hook = pipeline.make_history_hook(settings, _Progress())
    assert hook.every_n_steps == 250
