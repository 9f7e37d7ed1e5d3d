"""bert-tf1-predict: files in, JSON lines out, equal to the run's predictions.jsonl."""
import csv
import json
import os

import pytest
from serving_helpers import assert_same_predictions, read_jsonl, run_module

from bert_tf1.cli import predict as predict_cli

pytestmark = pytest.mark.e2e


def write_jsonl(path, records):
    with open(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def test_jsonl_file_to_file_with_the_input_fields(trained, tmp_path, capsys):
    rows = trained.predictions("mean")
    source = write_jsonl(str(tmp_path / "in.jsonl"),
                         [{"id": i, "text": r["text_a"]} for i, r in enumerate(rows)])
    output = str(tmp_path / "out.jsonl")
    assert predict_cli.main(["--model", trained.export("mean"), "--input", source,
                             "--output", output, "--batch_size", "5"]) == 0
    assert "%d predictions written to %s" % (len(rows), output) in capsys.readouterr().err
    found = read_jsonl(output)
    assert [(f["id"], f["text"]) for f in found] == [(i, r["text_a"]) for i, r in enumerate(rows)]
    assert_same_predictions(found, rows)
    assert sorted(os.listdir(str(tmp_path))) == ["in.jsonl", "out.jsonl"]


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_pair_task_from_a_table(trained, tmp_path, capsys, fmt):
    rows = trained.predictions("pair")
    path = str(tmp_path / ("pairs." + fmt))
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t" if fmt == "tsv" else ",")
        writer.writerow(["guid", "text", "text_b"])
        for row in rows:
            writer.writerow([row["guid"], row["text_a"], row["text_b"]])
    assert predict_cli.main(["--model", trained.export("pair"), "--input", path]) == 0
    found = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["guid"] for f in found] == [r["guid"] for r in rows]
    assert_same_predictions(found, rows)


def test_plain_text_on_stdin_to_stdout_in_a_subprocess(trained):
    rows = trained.predictions("frozen_mlp")
    text = "\n".join(r["text_a"] for r in rows) + "\n\n"  # a trailing blank line is skipped
    result = run_module("bert_tf1.cli.predict", ["--model", trained.export("frozen_mlp"),
                                                 "--format", "txt"], input=text)
    assert result.returncode == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [f["text"] for f in found] == [r["text_a"] for r in rows]
    assert_same_predictions(found, rows)


@pytest.mark.parametrize("name, content, message", [
    ("in.jsonl", '{"text": "fine"}\n{"text": "broken"\n',
     "in.jsonl:2: not valid JSON (Expecting ',' delimiter: line 1 column 18 (char 17)); "
     "expected one JSON object per line"),
    ("in.jsonl", '{"text": "fine"}\n\n[1, 2]\n',
     "in.jsonl:3: expected a JSON object such as {\"text\": \"...\"} (or a string), found list"),
    ("in.jsonl", '{"review": "fine"}\n', "in.jsonl:1: expected an object with a 'text_a' or "
                                         "'text' string, found keys review"),
    ("in.csv", 'text,label\n"good",1\nbad\n',
     "in.csv:3: expected 2 columns as in the header (text, label), found 1"),
    ("in.csv", 'body\nsome text\n', "in.csv:2: expected an object with a 'text_a' or 'text' "
                                    "string, found keys body"),
    ("in.xml", "<texts/>\n", "in.xml: cannot tell the format from the extension '.xml'"),
])
def test_bad_input_is_one_error_naming_file_and_line(trained, tmp_path, capsys, name, content,
                                                     message):
    source = tmp_path / name
    source.write_text(content)
    output = tmp_path / "out.jsonl"
    code = predict_cli.main(["--model", trained.export("pooled"), "--input", str(source),
                             "--output", str(output)])
    assert code == 2
    err = capsys.readouterr().err
    assert "bert-tf1-predict: error: %s%s" % (tmp_path, os.sep) in err
    assert message in err, err
    assert sorted(os.listdir(str(tmp_path))) == [name]  # nothing written, not even a temp file


def test_invalid_utf8_names_the_line(trained, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_bytes(b"good\nbad \xff here\n")
    assert predict_cli.main(["--model", trained.export("pooled"), "--input", str(source)]) == 2
    assert "in.txt:2: invalid UTF-8" in capsys.readouterr().err


def test_missing_input_file(trained, tmp_path, capsys):
    assert predict_cli.main(["--model", trained.export("pooled"), "--input",
                             str(tmp_path / "none.jsonl")]) == 2
    assert "none.jsonl: file not found" in capsys.readouterr().err
