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
    env.update(kwargs.pop("env", {}))
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


def checkpoint_outputs(bert_dir, input_ids, input_mask, segment_ids, mlm_positions):
    """pooled/sequence outputs and MLM logits of modeling.BertModel restored from bert_dir.

    The reference the hub-module tests compare against (arrays in, numpy arrays out).
    """
    import tensorflow as tf
    from bert import modeling

    from bert_tf1.modeling import pretraining_heads

    config = modeling.BertConfig.from_json_file(os.path.join(bert_dir, "bert_config.json"))
    with tf.Graph().as_default():
        model = modeling.BertModel(config, is_training=False, input_ids=tf.constant(input_ids),
                                   input_mask=tf.constant(input_mask),
                                   token_type_ids=tf.constant(segment_ids))
        logits = pretraining_heads.masked_lm_logits(config, model.get_sequence_output(),
                                                    model.get_embedding_table(),
                                                    tf.constant(mlm_positions))
        tf.compat.v1.train.init_from_checkpoint(os.path.join(bert_dir, "bert_model.ckpt"),
                                                {"bert/": "bert/", "cls/": "cls/"})
        with tf.compat.v1.Session() as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            return sess.run(dict(pooled=model.get_pooled_output(),
                                 sequence=model.get_sequence_output(), mlm=logits))
