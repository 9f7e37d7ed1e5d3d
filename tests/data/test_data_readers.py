"""Readers, file access and e-mail text: records carry their source and line."""
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from bert_tf1.data import email_text, fileio, fixtures, readers


def write(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


# ---- fileio -----------------------------------------------------------------------------------

def test_read_lines_numbers_lines_and_drops_bom(tmp_path):
    path = write(tmp_path / "a.tsv", b"\xef\xbb\xbfh1\th2\nx\ty\n")
    assert list(fileio.read_lines(path)) == [(1, "h1\th2\n"), (2, "x\ty\n")]


def test_open_text_reads_utf8(tmp_path):
    path = write(tmp_path / "a.txt", "café\n")
    with fileio.open_text(path) as handle:
        assert handle.read() == "café\n"


def test_remote_paths_go_through_gfile_and_local_ones_do_not(tmp_path, monkeypatch):
    opened = []

    class FakeGFile(object):
        def __init__(self, path, mode):
            opened.append((path, mode))
            self._data = io.BytesIO(b"text\tlabel\nhi\t1\n")

        def __enter__(self):
            return self._data

        def __exit__(self, *exc):
            return False

    class FakeGfileModule(object):
        GFile = FakeGFile

    monkeypatch.setattr(fileio, "_gfile", lambda: FakeGfileModule)
    records = list(readers.read_delimited("s3://bucket/glue/train.tsv", header=True))
    assert opened == [("s3://bucket/glue/train.tsv", "rb")]
    assert records[0].values == ["hi", "1"] and records[0].line == 2
    local = write(tmp_path / "t.tsv", "a\n")
    assert list(fileio.read_lines(local)) == [(1, "a\n")] and len(opened) == 1
    assert fileio.join("gs://b/dir", "train.tsv") == "gs://b/dir/train.tsv"


def test_data_layer_does_not_import_tensorflow(tmp_path):
    # In a fresh process: conftest has already imported TensorFlow in this one.
    data_dir = fixtures.write_fixture("cola", str(tmp_path))
    code = ("import sys; from bert_tf1.data import load_examples; "
            "load_examples('cola', %r, 'train'); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'" % data_dir)
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- TSV / CSV / JSONL --------------------------------------------------------------------------

def test_tsv_quote_none_keeps_quotes_and_skips_header(tmp_path):
    path = write(tmp_path / "train.tsv",
                 'sentence\tlabel\n"Hi," she said\t1\n\nit\'s "ok\t0\n')
    records = list(readers.read_delimited(path, header=True))
    assert [r.values for r in records] == [['"Hi," she said', "1"], ['it\'s "ok', "0"]]
    assert [r.line for r in records] == [2, 4]
    assert records[0].header == ("sentence", "label")
    assert readers.get_field(records[0], "label") == "1"
    assert readers.get_field(records[0], -1) == "1"
    assert readers.get_field(records[0], 5) is readers.MISSING
    assert readers.field_name(records[0], 0) == "sentence (column index 0)"


def test_tsv_without_header_yields_first_row(tmp_path):
    path = write(tmp_path / "train.tsv", "gj04\t1\t\tA sentence.\ngj04\t0\t*\tBad one.\n")
    records = list(readers.read_delimited(path))
    assert [r.values[3] for r in records] == ["A sentence.", "Bad one."]
    assert records[0].header is None and records[0].line == 1


def test_csv_quoting_and_multiline_fields_report_start_lines(tmp_path):
    path = write(tmp_path / "train.csv",
                 'text,label\n"one, two",1\n"multi\nline ""quoted""",0\nlast,1\n')
    records = list(readers.read_delimited(path, delimiter=",", quoting="minimal", header=True))
    assert [r.values for r in records] == [["one, two", "1"], ['multi\nline "quoted"', "0"],
                                           ["last", "1"]]
    assert [r.line for r in records] == [2, 3, 5]


def test_skip_malformed_drops_rows_with_wrong_column_count(tmp_path):
    path = write(tmp_path / "train.tsv", "a\tb\n1\t2\n3\n4\t5\n")
    records = list(readers.read_delimited(path, header=True, skip_malformed=True))
    assert [r.values for r in records] == [["1", "2"], ["4", "5"]]


def test_jsonl_records_are_dicts_with_lines(tmp_path):
    path = write(tmp_path / "train.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b"}\n')
    records = list(readers.read_jsonl(path))
    assert [(r.values, r.line) for r in records] == [({"text": "a", "label": 1}, 1),
                                                     ({"text": "b"}, 3)]
    assert "keys found" in readers.available_fields(records[1])


# ---- folders and archives -----------------------------------------------------------------------

def test_class_folders_label_by_folder_and_ignore_loose_files(tmp_path):
    write(tmp_path / "pos" / "b.txt", "good\n")
    write(tmp_path / "pos" / "a.txt", "great")
    write(tmp_path / "neg" / "c.txt", "bad")
    write(tmp_path / "neg" / ".hidden", "x")
    write(tmp_path / "urls_pos.txt", "http://x")
    records = list(readers.read_class_folders(str(tmp_path)))
    assert [(os.path.basename(r.source), r.values) for r in records] == [
        ("c.txt", {"text": "bad", "label": "neg"}), ("a.txt", {"text": "great", "label": "pos"}),
        ("b.txt", {"text": "good", "label": "pos"})]
    assert records[0].line is None


def test_class_dirs_prefixes_and_nested_class_folders(tmp_path):
    write(tmp_path / "enron1" / "ham" / "1.txt", "Subject: lunch\n\nsee you")
    write(tmp_path / "enron1" / "spam" / "2.txt", "Subject: win\n\nmoney")
    write(tmp_path / "easy_ham_2" / "3", "From: a@b\n\nhello")
    write(tmp_path / "easy_ham_2" / "cmds", "mv a b")
    classes = {"spam": ["spam"], "ham": ["ham", "easy_ham"]}
    records = list(readers.read_class_folders(str(tmp_path), classes, email=True))
    assert [r.values for r in records] == [
        {"text": "hello", "label": "ham"}, {"text": "see you", "label": "ham"},
        {"text": "money", "label": "spam"}]


def test_npm_spam_assassin_layout_reads_each_message_once(tmp_path):
    raw = fixtures.raw_email("Cheap pills", subject="Offer").decode("utf-8")
    meta = {"id": "00001", "group": "spam-1", "checksum": {"type": "MD5", "value": "ab"}}
    write(tmp_path / "spam-1" / "00001.ab.txt", raw)
    write(tmp_path / "spam-1" / "00001.ab.json", json.dumps(dict(meta, text=raw)))
    ham = fixtures.raw_email("Meeting at 10").decode("utf-8")
    write(tmp_path / "easy-ham-1" / "00002.cd.json", json.dumps(dict(meta, text=ham)))
    write(tmp_path / "file_list.json", "[]")
    classes = {"spam": ["spam"], "ham": ["easy-ham"]}
    records = list(readers.read_class_folders(str(tmp_path), classes, email=True))
    assert [r.values for r in records] == [{"text": "Meeting at 10", "label": "ham"},
                                           {"text": "Cheap pills", "label": "spam"}]


def test_tar_members_read_unextracted_in_same_order_as_folder(tmp_path):
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "tar"), variant="tar")
    archive = os.path.join(data_dir, "aclImdb_v1.tar.gz")
    folder = fixtures.write_fixture("imdb", str(tmp_path / "folder"))
    classes = {"0": ["neg"], "1": ["pos"]}
    from_tar = list(readers.read_tar_classes(archive, "aclImdb/train", classes))
    from_dir = list(readers.read_class_folders(os.path.join(folder, "aclImdb", "train"),
                                               classes))
    assert [r.values for r in from_tar] == [r.values for r in from_dir]
    assert len(from_tar) == 8  # unsup/ ignored
    assert from_tar[0].source == archive + "[aclImdb/train/neg/0_2.txt]"
    assert not os.path.exists(os.path.join(data_dir, "aclImdb"))  # nothing extracted


def test_tar_with_leading_dot_slash_members(tmp_path):
    path = str(tmp_path / "a.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for name, text in [("./aclImdb/test/pos/1_9.txt", b"Loved it"),
                           ("./aclImdb/test/neg/2_1.txt", b"Hated it")]:
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text))
    records = list(readers.read_tar_classes(path, "aclImdb/test", {"0": ["neg"], "1": ["pos"]}))
    assert [r.values for r in records] == [{"text": "Hated it", "label": "0"},
                                           {"text": "Loved it", "label": "1"}]


# ---- e-mail -------------------------------------------------------------------------------------

def test_email_headers_stripped_and_quoted_printable_decoded():
    raw = (b"From spammer@x.com  Mon Sep 30 2002\nReceived: from x by y\nFrom: a@x.com\n"
           b"Subject: Special offer\nContent-Type: text/plain; charset=iso-8859-1\n"
           b"Content-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me, soft line=\n"
           b" break.\n")
    assert email_text.message_text(raw) == "Café crème, soft line break."


def test_email_base64_multipart_keeps_plain_parts_only():
    raw = fixtures.raw_email("Prix: 10\u20ac", multipart=True)
    assert b"base64" in raw and b"text/html" in raw
    assert email_text.message_text(raw) == "Prix: 10\u20ac"


def test_email_html_only_falls_back_to_visible_text():
    raw = (b"Subject: x\nContent-Type: text/html\n\n<html><style>p{}</style><p>Buy&nbsp;now"
           b"</p><p>Save <b>50%</b></p></html>")
    assert email_text.message_text(raw) == "Buy now\nSave 50%"  # &nbsp; collapsed too


def test_email_charset_fallbacks_never_fail():
    undeclared_latin1 = b"Subject: x\n\nna\xefve\n"
    unknown_charset = b"Subject: x\nContent-Type: text/plain; charset=x-unknown\n\nok \xe9\n"
    assert email_text.message_text(undeclared_latin1) == "na\xefve"
    assert email_text.message_text(unknown_charset) == "ok \xe9"


def test_email_attachments_skipped():
    raw = (b"Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n"
           b"--B\nContent-Type: text/plain\n\nSee attached.\n--B\nContent-Type: text/plain\n"
           b"Content-Disposition: attachment; filename=log.txt\n\nsecret log\n--B--\n")
    assert email_text.message_text(raw) == "See attached."


def test_looks_like_email():
    assert email_text.looks_like_email(b"From a@b  Mon Sep 30\nX: y\n\nz")
    assert email_text.looks_like_email(b"\nSubject: enron style\nbody")
    assert not email_text.looks_like_email(b"You are an idiot: really.")


@pytest.mark.parametrize("module", ["fileio", "email_text", "tasks", "sampling"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module("bert_tf1.data." + module))
    assert result.failed == 0
