"""Shared fixtures: one tiny BERT and its hub module per test session (built, not downloaded)."""
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from bert_tf1 import compat  # noqa: E402

compat.setup_tf1()


def run_python(args, check=True, **kwargs):
    """Runs `python ARGS...` with this interpreter in a fresh process; returns CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, env=env,
                            cwd=kwargs.pop("cwd", REPO_ROOT), **kwargs)
    if check and result.returncode != 0:
        raise AssertionError("command %s failed (%d):\n%s\n%s" % (
            args, result.returncode, result.stdout[-3000:], result.stderr[-3000:]))
    return result


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny BERT (L2 H128 A2, seed 1) in Google's layout, built through the CLI."""
    path = str(tmp_path_factory.mktemp("tiny") / "bert")
    run_python(["-m", "bert_tf1.tiny_bert", "--output", path, "--seed", "1"])
    return path


@pytest.fixture(scope="session")
def tiny_hub_module(tiny_bert_dir, tmp_path_factory):
    """The tiny BERT exported as a TF1 Hub module through the CLI."""
    path = str(tmp_path_factory.mktemp("hub") / "module")
    run_python(["-m", "bert_tf1.hub_export", "--bert_dir", tiny_bert_dir, "--output", path])
    return path
