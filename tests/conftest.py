"""Shared fixtures: one tiny BERT and its hub module per test session (built, not downloaded)."""

import atexit
import os
import shutil
import tempfile

import pytest
from support import run_python

from bert_tf1 import compat

compat.setup_tf1()

# Runs in tests (and their subprocesses) share one feature cache in a temporary directory, never
# the user's ~/.cache (bert_tf1.classifier.feature_cache).
_FEATURE_CACHE = tempfile.mkdtemp(prefix="bert_tf1_feature_cache-")
os.environ["BERT_TF1_CACHE"] = _FEATURE_CACHE
atexit.register(shutil.rmtree, _FEATURE_CACHE, True)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(items):
    """Groups for pytest-xdist's --dist loadgroup (scripts/test.sh): a worker builds a fixture
    for itself, so tests that share an expensive fixture run on one worker.

    - tests that use the serving runs (`trained`, tests/serving/conftest.py): one group;
    - tests that use a module- or class-scoped fixture: one group per module;
    - every other test is scheduled on its own (session fixtures such as the tiny BERT are
      cheap next to a suite: each worker builds its own).
    Without xdist the marks change nothing.
    """
    for item in items:
        group = None
        if "trained" in item.fixturenames:
            group = "serving-runs"
        else:
            definitions = getattr(item, "_fixtureinfo", None)
            for name in item.fixturenames:
                defs = definitions.name2fixturedefs.get(name) if definitions else None
                if defs and defs[-1].scope in ("module", "class"):
                    group = item.nodeid.split("::")[0]
                    break
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny BERT (L2 H128 A2, seed 1) in Google's layout, built through the CLI."""
    path = str(tmp_path_factory.mktemp("tiny") / "bert")
    run_python(["-m", "bert_tf1.cli.make_tiny", "--output", path, "--seed", "1"])
    return path


@pytest.fixture(scope="session")
def tiny_hub_module(tiny_bert_dir, tmp_path_factory):
    """The tiny BERT exported as a TF1 Hub module through the CLI."""
    path = str(tmp_path_factory.mktemp("hub") / "module")
    run_python(["-m", "bert_tf1.cli.export_hub", "--bert_dir", tiny_bert_dir, "--output", path])
    return path


@pytest.fixture
def local_s3():
    """A moto S3 server on 127.0.0.1 with bucket 'bert-tf1-runs'; yields (env, boto3 client).

    TF 1.15's S3 file system reads its endpoint from the environment once per process, so code
    that writes s3:// paths runs in a subprocess with `env`.
    """
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server._server.server_address  # pylint: disable=protected-access
        client = boto3.client("s3", endpoint_url="http://%s:%d" % (host, port),
                              region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
        client.create_bucket(Bucket="bert-tf1-runs")
        env = dict(S3_ENDPOINT="%s:%d" % (host, port), S3_USE_HTTPS="0", S3_VERIFY_SSL="0",
                   AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION="us-east-1")
        yield env, client
    finally:
        server.stop()
