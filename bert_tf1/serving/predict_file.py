"""Predictions for a file of texts (bert-tf1-predict): JSON lines, CSV, TSV or plain text in,
JSON lines out.

Input formats (chosen by --format, else by the input's extension; stdin is JSON lines):
  jsonl  (.jsonl, .json, .ndjson) one JSON object per line with "text" (or "text_a", or the
         task's own field name) and, for pair tasks, "text_b"; a bare JSON string is a text
  csv    (.csv) / tsv (.tsv): a header row naming the columns, with text (or text_a) and
         optionally text_b
  txt    (.txt) one text per line
Blank lines are skipped. Each output line is the input record (a CSV row as an object of its
columns, a text line as {"text": ...}) plus "predicted_label" and "probabilities" ({label:
probability}), or "prediction" for a regression task: the keys of the run's predictions.jsonl.

Every record is read and checked before the first prediction, so a bad line stops the command
with one error naming the file, the line and what was expected, and nothing is written. An
--output file is written to a temporary sibling and renamed into place when complete.
"""
import csv
import io
import json
import os
import sys

import tensorflow as tf
from tqdm import tqdm

from bert_tf1.data import fileio
from bert_tf1.errors import BertTF1Error, located
from bert_tf1.runtime import atomic_io, outputs

FORMATS = ("jsonl", "csv", "tsv", "txt")
EXTENSIONS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".csv": "csv",
              ".tsv": "tsv", ".txt": "txt"}
STDIN_NAME = "<stdin>"
# Inputs per chunk handed to the Predictor (which sorts each chunk by length into batches);
# also the progress bar's step.
CHUNK = 1024
# Fewer records than this draw no progress bar: it would flash by.
PROGRESS_MIN_RECORDS = 2000


def input_format(path, fmt="auto"):
    """The format to read `path` as: `fmt` itself, or guessed from the extension (stdin: jsonl)."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise BertTF1Error("--format %r: expected auto or one of %s"
                               % (fmt, ", ".join(FORMATS)))
        return fmt
    if path is None or path == "-":
        return "jsonl"
    extension = os.path.splitext(path)[1].lower()
    if extension not in EXTENSIONS:
        raise BertTF1Error("%s: cannot tell the format from the extension %r (expected %s); pass "
                           "--format" % (path, extension, ", ".join(sorted(EXTENSIONS))))
    return EXTENSIONS[extension]


def read_records(text, name, fmt):
    """Parses input text into records.

    Args:
      text: the whole input (str).
      name: the file name used in error messages.
      fmt: one of FORMATS.

    Returns:
      list of (line number, record): record is what the output echoes (an object, or a string
      for a bare JSON string).

    Raises:
      BertTF1Error "NAME:LINE: ..." for a line that is not what `fmt` expects.
    """
    if fmt == "jsonl":
        return _read_jsonl(text, name)
    if fmt == "txt":
        return [(number, {"text": line}) for number, line in
                enumerate(text.splitlines(), 1) if line.strip()]
    return _read_table(text, name, "," if fmt == "csv" else "\t")


def _read_jsonl(text, name):
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as error:
            raise BertTF1Error(located(name, "not valid JSON (%s); expected one JSON object per "
                                             "line, e.g. {\"text\": \"...\"}" % error, line=number))
        if not isinstance(value, (dict, str)):
            raise BertTF1Error(located(name, "expected a JSON object such as {\"text\": \"...\"} "
                                             "(or a string), found %s" % type(value).__name__,
                                       line=number))
        records.append((number, value))
    return records


def _read_table(text, name, delimiter):
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header, records = None, []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise BertTF1Error(located(name, "malformed %s (%s)" % (
                "CSV" if delimiter == "," else "TSV", error), line=reader.line_num))
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = row
            continue
        if len(row) != len(header):
            raise BertTF1Error(located(name, "expected %d columns as in the header (%s), found %d"
                                       % (len(header), ", ".join(header), len(row)),
                                       line=reader.line_num))
        records.append((reader.line_num, dict(zip(header, row))))
    return records


def read_input(path):
    """The text of `path` (local, gs://, s3://), or of stdin for None / "-"; strict UTF-8."""
    if path is None or path == "-":
        return fileio.decode_utf8(sys.stdin.buffer.read(), STDIN_NAME)
    if not fileio.exists(path):
        raise BertTF1Error("--input %s: file not found" % path)
    return fileio.decode_utf8(fileio.read_bytes(path), path)


def predict_file(predictor, input_path=None, output_path=None, batch_size=None, fmt="auto",
                 stdout=None, progress=None):
    """Predicts every record of an input file; writes JSON lines.

    Args:
      predictor: a bert_tf1.serving.Predictor.
      input_path: file to read (None or "-": stdin).
      output_path: file to write atomically (None or "-": `stdout`).
      batch_size: inputs per session run (default: the Predictor's).
      fmt: "auto" or one of FORMATS.
      stdout: text stream for output_path None (default sys.stdout).
      progress: draw a progress bar on stderr (default: for PROGRESS_MIN_RECORDS or more).

    Returns:
      the number of records predicted.

    Raises:
      BertTF1Error "FILE:LINE: ..." for a bad record, before anything is written.
    """
    fmt = input_format(input_path, fmt)
    name = STDIN_NAME if input_path in (None, "-") else input_path
    records = read_records(read_input(input_path), name, fmt)
    # Check every record before predicting anything.
    examples = [predictor.example(record, "%s:%d" % (name, number)) for number, record in records]
    if progress is None:
        progress = len(records) >= PROGRESS_MIN_RECORDS

    def lines():
        bar = tqdm(total=len(records), disable=not progress, file=sys.stderr, unit="text",
                   desc="Predicting")
        try:
            for start in range(0, len(records), CHUNK):
                chunk = examples[start:start + CHUNK]
                results = predictor.predict_encoded(
                    [predictor.encode_example(example) for example in chunk], batch_size)
                for (_, record), result in zip(records[start:start + CHUNK], results):
                    row = dict(record) if isinstance(record, dict) else {"text": record}
                    row.update(result)
                    yield outputs.dumps_json(row, ensure_ascii=False) + "\n"
                bar.update(len(chunk))
        finally:
            bar.close()

    if output_path in (None, "-"):
        stream = stdout or sys.stdout
        for line in lines():
            stream.write(line)
        stream.flush()
    else:
        with atomic_io.replaced_on_success(output_path) as temporary:
            with tf.io.gfile.GFile(temporary, "w") as handle:
                for line in lines():
                    handle.write(line)
    return len(records)
