"""I/O faults become one BertTF1Error naming the path (and, for s3:// / gs://, the endpoint)."""
import errno
import os
import socket

import pytest
import tensorflow as tf

from bert_tf1.cli import run_main
from bert_tf1.data import fileio
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import atomic_io, io_errors

S3_ENV = {"S3_ENDPOINT": "127.0.0.1:9", "S3_USE_HTTPS": "0"}


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("number, advice", [
    (errno.ENOSPC, "the disk is full"),
    (errno.EROFS, "the file system is read-only"),
    (errno.EACCES, "permission denied"),
    (errno.ENOTDIR, "a file stands where a directory is needed"),
    (errno.EEXIST, "a file already exists where a directory is needed"),
])
def test_os_errors_name_the_path(number, advice):
    error = OSError(number, os.strerror(number), "/runs/a/train.tf_record")
    message = str(io_errors.user_error(error))
    assert message.startswith("/runs/a/train.tf_record: " + advice)
    assert message.endswith("(%s)" % os.strerror(number))


def test_tf_errors_name_the_path_without_the_temporary_suffix():
    error = tf.errors.ResourceExhaustedError(
        None, None, "/runs/a/eval_results.txt.tmp-1a2b3c4d; No space left on device\n\t "
                    "[[node save/SaveV2]]")
    assert str(io_errors.user_error(error)) == (
        "/runs/a/eval_results.txt: the disk is full: free space or write elsewhere (No space "
        "left on device)")


def test_a_file_where_the_output_directory_should_be(tmp_path):
    blocker = tmp_path / "out"
    blocker.write_text("not a directory")
    target = str(blocker / "run_manifest.json")
    with pytest.raises(tf.errors.OpError) as info:
        atomic_io.write_text_atomically(target, "{}")
    message = str(io_errors.user_error(info.value))
    assert message.startswith("%s: a file stands where a directory is needed" % target)


def test_other_errors_are_left_alone():
    assert io_errors.user_error(KeyError("x")) is None
    assert io_errors.user_error(tf.errors.InvalidArgumentError(None, None, "shape")) is None
    assert io_errors.user_error(OSError(errno.ENOENT, "No such file")) is None


def test_run_main_prints_one_line_and_exits_2(capsys):
    def disk_full():
        raise OSError(errno.ENOSPC, "No space left on device", "/runs/a/model.ckpt-10.index")

    assert run_main("prog", disk_full) == 2
    assert capsys.readouterr().err == (
        "prog: error: /runs/a/model.ckpt-10.index: the disk is full: free space or write "
        "elsewhere (No space left on device)\n")
    with pytest.raises(KeyError):
        run_main("prog", lambda: {}["x"])


def test_endpoints():
    assert io_errors.describe_endpoint("s3://b/run", S3_ENV) == (
        "S3 endpoint 127.0.0.1:9 (S3_ENDPOINT=127.0.0.1:9)")
    assert io_errors.endpoint("s3://b/run", {"AWS_REGION": "eu-west-1"})[:2] == (
        "s3.eu-west-1.amazonaws.com", 443)
    assert io_errors.endpoint("gs://b/run", {})[:2] == io_errors.GCS_ENDPOINT
    assert io_errors.endpoint("/local/run", S3_ENV) is None


def test_an_unreachable_endpoint_fails_after_bounded_retries():
    slept = []
    env = {"S3_ENDPOINT": "127.0.0.1:%d" % closed_port(), "S3_USE_HTTPS": "0"}
    with pytest.raises(BertTF1Error) as info:
        io_errors.check_reachable("s3://bucket/run", sleep=slept.append, environ=env)
    assert slept == [1.0, 2.0]
    assert str(info.value).startswith(
        "s3://bucket/run: cannot reach the S3 endpoint %s (S3_ENDPOINT=%s) after 3 attempts"
        % (env["S3_ENDPOINT"], env["S3_ENDPOINT"]))
    io_errors.check_reachable("/local/run", sleep=slept.append, environ=env)  # local: no check


def test_transient_failures_are_retried_while_the_endpoint_answers(monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:%d" % listener.getsockname()[1])
    monkeypatch.setenv("S3_USE_HTTPS", "0")
    calls, slept = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise tf.errors.UnknownError(None, None, ": Unable to connect to endpoint")
        return "done"

    try:
        assert io_errors.with_retries(flaky, "s3://b/x", "write it", sleep=slept.append) == "done"
        assert slept == [1.0, 2.0]
        del slept[:]

        def failing():
            raise tf.errors.UnknownError(None, None, ": Unable to connect to endpoint")

        with pytest.raises(BertTF1Error, match=r"^s3://b/x: cannot write it: the S3 endpoint "
                                               r".* failed 3 times \(: Unable to connect"):
            io_errors.with_retries(failing, "s3://b/x", "write it", sleep=slept.append)
        assert slept == [1.0, 2.0]
    finally:
        listener.close()


def test_a_down_endpoint_is_not_retried(monkeypatch):
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:%d" % closed_port())
    monkeypatch.setenv("S3_USE_HTTPS", "0")
    calls = []

    def failing():
        calls.append(1)
        raise tf.errors.UnknownError(None, None, ": Unable to connect to endpoint")

    with pytest.raises(BertTF1Error, match="s3://b/x: cannot read: the S3 endpoint .* does not "
                                           "answer"):
        io_errors.with_retries(failing, "s3://b/x", "read", sleep=lambda _: None)
    assert len(calls) == 1
    with pytest.raises(ValueError):  # not transient: raised as is
        io_errors.with_retries(lambda: int("x"), "s3://b/x", "read")


def test_a_remote_tf_error_without_a_path_names_the_endpoint(monkeypatch):
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:9")
    error = tf.errors.UnknownError(None, None, ": Unable to connect to endpoint")
    assert str(io_errors.user_error(error)) == (
        "remote storage failed: Unable to connect to endpoint (S3 endpoint 127.0.0.1:9 "
        "(S3_ENDPOINT=127.0.0.1:9)); the operation was a TensorFlow file operation")


def test_not_found_from_a_down_s3_endpoint_is_the_endpoint_error(monkeypatch):
    # TF's S3 file system says "Object ... does not exist" (after ~51 s) when it cannot connect.
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:%d" % closed_port())
    monkeypatch.setenv("S3_USE_HTTPS", "0")

    def missing():
        raise tf.errors.NotFoundError(None, None, "Object s3://b/x does not exist")

    with pytest.raises(BertTF1Error, match="s3://b/x: cannot read: the S3 endpoint .* does not "
                                           "answer"):
        io_errors.with_retries(missing, "s3://b/x", "read")


def test_not_found_from_a_live_endpoint_stays_not_found(monkeypatch):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:%d" % listener.getsockname()[1])
    try:
        with pytest.raises(tf.errors.NotFoundError):
            io_errors.with_retries(lambda: (_ for _ in ()).throw(
                tf.errors.NotFoundError(None, None, "Object s3://b/x does not exist")),
                "s3://b/x", "read")
    finally:
        listener.close()


def test_a_remote_exists_false_is_checked_against_the_endpoint(monkeypatch):
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:%d" % closed_port())
    monkeypatch.setattr(tf.io.gfile, "exists", lambda path: False)
    monkeypatch.setattr(tf.io.gfile, "isdir", lambda path: False)
    for check in (fileio.exists, fileio.isdir):
        with pytest.raises(BertTF1Error, match="s3://b/data: cannot check it .* does not answer"):
            check("s3://b/data")


def test_the_probe_goes_through_the_proxy_the_environment_sets():
    proxied = dict(S3_ENV, http_proxy="http://proxy.corp:3128", HTTPS_PROXY="proxy.corp:8443")
    assert io_errors.probe_address("s3://b/run", proxied) == ("proxy.corp", 3128)
    assert io_errors.probe_address("gs://b/run", proxied) == ("proxy.corp", 8443)
    assert io_errors.probe_address("s3://b/run", dict(proxied, NO_PROXY="localhost,127.0.0.1")) \
        == ("127.0.0.1", 9)
    assert io_errors.probe_address("/local", proxied) is None


def test_a_tf_not_found_naming_a_remote_path_of_a_down_endpoint(monkeypatch):
    port = closed_port()
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:%d" % port)
    error = tf.errors.NotFoundError(None, None, "Object s3://b/run/train.tf_record does not exist")
    assert str(io_errors.user_error(error)).startswith(
        "s3://b/run/train.tf_record: the S3 endpoint 127.0.0.1:%d (S3_ENDPOINT=127.0.0.1:%d) "
        "does not answer (" % (port, port))
    assert str(io_errors.user_error(error)).endswith(
        "TensorFlow said: Object s3://b/run/train.tf_record does not exist)")
