"""The serving CLIs report I/O faults and bad flags as one 'PROG: error:' line (cli.run_main)."""
import errno

import pytest
import tensorflow as tf

from bert_tf1.cli import export as export_cli
from bert_tf1.cli import predict as predict_cli
from bert_tf1.cli import serve as serve_cli
from bert_tf1.serving import export, predict_file, server


def _denied(path):
    def fail(*args, **kwargs):
        raise tf.errors.PermissionDeniedError(None, None, "%s; Permission denied" % path)
    return fail


def _one_error_line(capsys, prog, *parts):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("%s: error: " % prog), err
    for part in parts:
        assert part in err[0]


def test_export_names_the_path_of_an_io_fault(monkeypatch, capsys, tmp_path):
    target = str(tmp_path / "export" / "saved_model.pb")
    monkeypatch.setattr(export, "export_saved_model", _denied(target))
    assert export_cli.main(["--model_dir", str(tmp_path), "--output",
                            str(tmp_path / "export")]) == 2
    _one_error_line(capsys, "bert-tf1-export", target, "permission denied")


def test_predict_names_the_path_of_an_io_fault(monkeypatch, capsys, tmp_path):
    class FakePredictor(object):
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    target = str(tmp_path / "out.jsonl")
    monkeypatch.setattr(predict_cli, "Predictor", FakePredictor)
    monkeypatch.setattr(predict_file, "predict_file",
                        lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC,
                                                                      "No space left", target)))
    assert predict_cli.main(["--model", str(tmp_path), "--output", target]) == 2
    _one_error_line(capsys, "bert-tf1-predict", target, "the disk is full")


@pytest.mark.parametrize("raised, parts", [
    (OSError(errno.EADDRINUSE, "Address already in use"),
     ("--host 127.0.0.1 --port 8501: cannot listen there (Address already in use)",)),
    (ValueError("max_batch_size: expected a positive integer, found 0"),
     ("max_batch_size: expected a positive integer, found 0",)),
    (tf.errors.PermissionDeniedError(None, None, "/m/saved_model.pb; Permission denied"),
     ("/m/saved_model.pb: permission denied",)),
])
def test_serve_reports_one_error(monkeypatch, capsys, raised, parts):
    def fail(*args, **kwargs):
        raise raised
    monkeypatch.setattr(server, "serve", fail)
    assert serve_cli.main(["--model", "/m", "--port", "8501"]) == 2
    _one_error_line(capsys, "bert-tf1-serve", *parts)
