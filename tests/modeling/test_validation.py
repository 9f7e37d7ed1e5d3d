"""A run checks its model source, storage and output_dir before it writes anything (issue 12):
each bad input is one BertTF1Error naming the file, and output_dir stays absent."""
import json
import os
import shutil
import socket

import pytest
import tensorflow as tf

from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.cli import run_main
from bert_tf1.data import fixtures
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import validation
from bert_tf1.runtime import io_errors, outputs


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return fixtures.write_fixture("imdb", str(tmp_path_factory.mktemp("data")), per_label=2)


def refused(data_dir, output_dir, **values):
    """run_classifier's error for these settings; asserts nothing reached output_dir."""
    settings = dict(task_name="imdb", data_dir=data_dir, output_dir=output_dir,
                    do_train=True, max_seq_length=16, show_progress=False)
    settings.update(values)
    with pytest.raises(BertTF1Error) as info:
        run_classifier(ClassifierRunSettings(**settings))
    if os.path.isdir(output_dir):
        assert os.listdir(output_dir) == []
    return str(info.value)


def copy_module(module, tmp_path):
    copy = str(tmp_path / "module")
    shutil.copytree(module, copy)
    return copy


def test_hub_module_with_truncated_variables(tiny_hub_module, data_dir, tmp_path):
    module = copy_module(tiny_hub_module, tmp_path)
    data = os.path.join(module, "variables", "variables.data-00000-of-00001")
    with open(data, "r+b") as handle:
        handle.truncate(os.path.getsize(data) // 2)
    message = refused(data_dir, str(tmp_path / "out"), bert_hub_module_handle=module)
    assert message.startswith("hub module %s (variables/variables) is truncated or incomplete: "
                              "its data file(s) %s hold" % (module, data))
    assert not os.path.exists(str(tmp_path / "out"))


def test_hub_module_without_variables(tiny_hub_module, data_dir, tmp_path):
    module = copy_module(tiny_hub_module, tmp_path)
    shutil.rmtree(os.path.join(module, "variables"))
    assert refused(data_dir, str(tmp_path / "out"), bert_hub_module_handle=module) == (
        "hub module %s has no variables/variables.index: its weights are missing (export it "
        "again, e.g. with bert-tf1-export-hub)" % module)


def test_hub_module_with_a_corrupt_index(tiny_hub_module, data_dir, tmp_path):
    module = copy_module(tiny_hub_module, tmp_path)
    with open(os.path.join(module, "variables", "variables.index"), "wb") as handle:
        handle.write(b"garbage" * 10)
    message = refused(data_dir, str(tmp_path / "out"), bert_hub_module_handle=module)
    assert message.startswith("hub module %s (variables/variables): cannot read its index" % module)


def test_hub_module_vocab_of_another_size(tiny_hub_module, data_dir, tmp_path):
    module = copy_module(tiny_hub_module, tmp_path)
    vocab = os.path.join(module, "assets", "vocab.txt")
    with open(vocab) as handle:
        lines = handle.read().splitlines()
    with open(vocab, "w") as handle:
        handle.write("\n".join(lines[:-3]) + "\n")
    assert refused(data_dir, str(tmp_path / "out"), bert_hub_module_handle=module) == (
        "%s has %d tokens but its word embeddings (bert/embeddings/word_embeddings) has "
        "vocab_size %d: the vocabulary must be the one the model was trained with"
        % (vocab, len(lines) - 3, len(lines)))


@pytest.mark.parametrize("change", [-5, 7])
def test_checkpoint_vocab_smaller_or_larger_than_the_config(tiny_bert_dir, data_dir, tmp_path,
                                                            change):
    with open(os.path.join(tiny_bert_dir, "vocab.txt")) as handle:
        lines = handle.read().splitlines()
    vocab = str(tmp_path / "vocab.txt")
    with open(vocab, "w") as handle:
        handle.write("\n".join(lines[:change] if change < 0 else
                               lines + ["extra%d" % i for i in range(change)]) + "\n")
    config = os.path.join(tiny_bert_dir, "bert_config.json")
    message = refused(data_dir, str(tmp_path / "out"), bert_config_file=config,
                      init_checkpoint=os.path.join(tiny_bert_dir, "bert_model.ckpt"),
                      vocab_file=vocab)
    assert message == ("%s has %d tokens but %s has vocab_size %d: the vocabulary must be the "
                       "one the model was trained with" % (vocab, len(lines) + change, config,
                                                          len(lines)))


def test_checkpoint_shapes_disagree_with_the_config(tiny_bert_dir, data_dir, tmp_path):
    with open(os.path.join(tiny_bert_dir, "bert_config.json")) as handle:
        config = json.load(handle)
    config["intermediate_size"] *= 2
    config_file = str(tmp_path / "bert_config.json")
    with open(config_file, "w") as handle:
        json.dump(config, handle)
    checkpoint = os.path.join(tiny_bert_dir, "bert_model.ckpt")
    message = refused(data_dir, str(tmp_path / "out"), bert_config_file=config_file,
                      init_checkpoint=checkpoint,
                      vocab_file=os.path.join(tiny_bert_dir, "vocab.txt"))
    assert message.startswith("%s disagrees with %s: bert/encoder/layer_0/intermediate/dense/"
                              "bias is [%d], expected [%d]" % (
                                  checkpoint, config_file, config["intermediate_size"] // 2,
                                  config["intermediate_size"]))


def test_output_dir_blocked_by_a_file(tiny_hub_module, data_dir, tmp_path):
    blocker = tmp_path / "runs"
    blocker.write_text("a file")
    for output_dir in (str(blocker), str(blocker / "imdb")):
        assert refused(data_dir, output_dir, bert_hub_module_handle=tiny_hub_module) == (
            "--output_dir %s: %s is a file, not a directory; move it or choose another "
            "--output_dir" % (output_dir, blocker))


def test_read_only_output_dir(tmp_path, monkeypatch):
    # Tests run as root here, for whom no permission bit blocks a write: fake the file system.
    monkeypatch.setattr(validation.os, "access", lambda path, mode: False)

    class ReadOnly(object):
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(validation.os, "statvfs", lambda path: ReadOnly())
    with pytest.raises(BertTF1Error, match="--output_dir %s: %s is on a read-only file system"
                       % (tmp_path / "out", tmp_path)):
        validation.check_output_dir(str(tmp_path / "out"))


def test_non_finite_settings_are_refused(tiny_hub_module, data_dir, tmp_path):
    assert refused(data_dir, str(tmp_path / "out"), bert_hub_module_handle=tiny_hub_module,
                   learning_rate=float("nan")) == "--learning_rate must be a finite number, got nan"


def test_s3_endpoint_down_is_one_error_before_anything_is_read(tiny_hub_module, data_dir,
                                                               tmp_path, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("S3_ENDPOINT", "127.0.0.1:%d" % port)
    monkeypatch.setenv("S3_USE_HTTPS", "0")
    monkeypatch.setattr(io_errors, "RETRY_DELAY_SECONDS", 0.01)
    message = refused(data_dir, "s3://bert-tf1-runs/imdb/run1",
                      bert_hub_module_handle=tiny_hub_module)
    assert message.startswith("s3://bert-tf1-runs/imdb/run1: cannot reach the S3 endpoint "
                              "127.0.0.1:%d (S3_ENDPOINT=127.0.0.1:%d) after 3 attempts"
                              % (port, port))


@pytest.mark.e2e
def test_disk_full_mid_run_is_one_line_and_the_checkpoint_stays_whole(tiny_hub_module, data_dir,
                                                                       tmp_path, monkeypatch,
                                                                       capsys):
    output_dir = str(tmp_path / "out")
    settings = ClassifierRunSettings(
        task_name="imdb", data_dir=data_dir, output_dir=output_dir, do_train=True,
        do_eval=True, eval_split="test", bert_hub_module_handle=tiny_hub_module,
        max_seq_length=16, train_batch_size=2, num_train_epochs=1.0, show_progress=False)

    def disk_full(directory, results, prefix="eval"):
        raise tf.errors.ResourceExhaustedError(None, None, "%s.tmp-0123abcd; No space left on "
                                               "device" % os.path.join(directory,
                                                                       "eval_results.txt"))

    monkeypatch.setattr(outputs, "write_eval_results", disk_full)
    assert run_main("prog", lambda: run_classifier(settings)) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "prog: error: %s: the disk is full: free space or write elsewhere (No space left on "
        "device)" % os.path.join(output_dir, "eval_results.txt"))
    # The checkpoint the run saved is whole: a rerun with space again resumes from it.
    latest = tf.train.latest_checkpoint(output_dir)
    assert latest and tf.train.load_checkpoint(latest).get_tensor("global_step") == 2
    assert not [name for name in os.listdir(output_dir) if ".tmp-" in name]


def test_unreachable_url_hub_handle_writes_nothing(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d/bert.tar.gz" % probe.getsockname()[1]
    message = refused(data_dir, str(tmp_path / "out"), bert_hub_module_handle=url)
    assert message.startswith("hub module %s: cannot download it: " % url)
    assert not os.path.exists(str(tmp_path / "out"))
