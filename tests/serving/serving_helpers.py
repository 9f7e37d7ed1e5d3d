"""Helpers of the tests/serving tests: lazily trained tiny runs and their exports, and the
comparison of predictions with a run's predictions.jsonl.

Each run trains one step (the point is that an export reproduces the run's own
predictions.jsonl, not accuracy) at max_seq_length 16, so the fixture texts (~20 WordPieces) are
truncated and every truncation rule is exercised. Runs are built on first use only.
"""
import json
import os
import subprocess
import sys

from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.data import fixtures
from bert_tf1.serving import export

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name -> (task, settings that differ from the defaults below)
RUNS = {
    "pooled": ("imdb", dict(head="pooled")),
    # --deterministic loads the hub module's weights into modeling.BertModel: the export then
    # holds BertModel rather than hub.Module, so both graph kinds are covered.
    "mean": ("imdb", dict(head="mean", truncation="tail", deterministic=True)),
    "frozen_mlp": ("imdb", dict(head="frozen_mlp", truncation="head+tail:4")),
    "pair": ("mrpc", dict(head="pooled")),  # exported by the run itself (--export_dir)
    "regression": ("sts-b", dict(head="pooled")),
}


def read_jsonl(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle]


class TrainedRuns(object):
    """Lazily trained runs (output_dir) and exports (export_dir), by name."""

    def __init__(self, hub_module, root):
        self.hub_module = hub_module
        self.root = root
        self._runs, self._exports = {}, {}

    def settings(self, name, **overrides):
        task, extra = RUNS[name]
        data_dir = os.path.join(self.root, "data_" + task)
        if not os.path.isdir(data_dir):
            fixtures.write_fixture(task, data_dir, per_label=6)
        values = dict(task_name=task, data_dir=data_dir,
                      output_dir=os.path.join(self.root, "run_" + name),
                      bert_hub_module_handle=self.hub_module, max_seq_length=16,
                      do_train=True, do_predict=True, predict_split="test", train_batch_size=8,
                      predict_batch_size=5, learning_rate=1e-3, num_train_epochs=1.0,
                      show_progress=False, log_every_n_steps=1000)
        if name == "pair":
            values["export_dir"] = os.path.join(self.root, "export_" + name)
        values.update(extra)
        values.update(overrides)
        return ClassifierRunSettings(**values)

    def run(self, name):
        if name not in self._runs:
            settings = self.settings(name)
            run_classifier(settings)
            self._runs[name] = settings.output_dir
        return self._runs[name]

    def export(self, name):
        if name not in self._exports:
            output_dir = self.run(name)
            export_dir = os.path.join(self.root, "export_" + name)
            if name != "pair":  # the pair run exported itself at its end
                export.export_saved_model(output_dir, export_dir)
            self._exports[name] = export_dir
        return self._exports[name]

    def predictions(self, name):
        """The run's own predictions.jsonl rows."""
        return read_jsonl(os.path.join(self.run(name), "predictions.jsonl"))


def python_env():
    """The environment of a subprocess that runs this checkout's bert_tf1."""
    return dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2")


def run_module(module, args, **kwargs):
    """`python -m MODULE ARGS...` in a fresh process; returns CompletedProcess (not checked)."""
    return subprocess.run([sys.executable, "-m", module] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=python_env(),
                          cwd=REPO_ROOT, **kwargs)


def assert_same_predictions(found, expected, atol=1e-5):
    """Predictor/CLI/REST results vs predictions.jsonl rows: same keys and values."""
    assert len(found) == len(expected)
    for got, want in zip(found, expected):
        if "prediction" in want:
            assert abs(got["prediction"] - want["prediction"]) <= atol
            continue
        assert got["predicted_label"] == want["predicted_label"]
        assert sorted(got["probabilities"]) == sorted(want["probabilities"])
        for label, probability in want["probabilities"].items():
            assert abs(got["probabilities"][label] - probability) <= atol, (got, want)
