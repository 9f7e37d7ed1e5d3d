"""The shared feature cache: miss then hit across output dirs (no conversion, one log line),
every key ingredient changes the key, broken entries are not trusted, "none" turns it off."""
import os

import pytest

from bert_tf1.compat import setup_tf1

setup_tf1()

import tensorflow as tf  # noqa: E402
from bert import tokenization  # noqa: E402

from bert_tf1.classifier import feature_cache  # noqa: E402
from bert_tf1.classifier import features as features_lib  # noqa: E402
from bert_tf1.data.examples import InputExample  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "dog"] + \
    ["w%d" % i for i in range(20)]
LABELS = ["neg", "pos"]


def make_tokenizer(tmp_path, do_lower_case=True, vocab=VOCAB):
    path = tmp_path / ("vocab-%d-%d.txt" % (do_lower_case, len(vocab)))
    path.write_text("".join(token + "\n" for token in vocab))
    return tokenization.FullTokenizer(vocab_file=str(path), do_lower_case=do_lower_case)


def make_examples(count=9, text="w%d the DOG w3 w4 w5"):
    return [InputExample("ex-%d" % i, text % (i % 20), None, LABELS[i % 2])
            for i in range(count)]


def ensure(examples, tokenizer, output_file, cache_dir, **kwargs):
    args = dict(label_list=LABELS, max_seq_length=8, truncation="head")
    args.update(kwargs)
    return feature_cache.ensure_cached_tfrecord(
        examples, args["label_list"], args["max_seq_length"], tokenizer, output_file,
        args["truncation"], show_progress=False, cache_dir=cache_dir)


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_miss_then_hit_in_another_output_dir_without_converting(tmp_path, monkeypatch):
    tokenizer, cache = make_tokenizer(tmp_path), str(tmp_path / "cache")
    examples = make_examples()
    first = ensure(examples, tokenizer, str(tmp_path / "a" / "train.tf_record"), cache)
    assert first["status"] == "converted" and first["source"].startswith(cache)
    assert read(first["source"]) == read(str(tmp_path / "a" / "train.tf_record"))

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted although the cache holds the records")

    monkeypatch.setattr(features_lib, "file_based_convert_examples_to_features", no_conversion)
    monkeypatch.setattr(features_lib, "write_tfrecord", no_conversion)
    second_file = str(tmp_path / "b" / "train.tf_record")
    logged = []
    monkeypatch.setattr(tf.compat.v1.logging, "info",
                        lambda message, *args: logged.append(message % args))
    second = ensure(examples, tokenizer, second_file, cache)
    assert second == {"status": "reused", "source": first["source"], "key": first["key"]}
    assert read(second_file) == read(first["source"])
    reused = [message for message in logged if "reused" in message]
    assert len(reused) == 1 and first["source"] in reused[0] and second_file in reused[0]
    # The copy carries its sidecar, so the next run finds it current without the cache.
    assert features_lib.tfrecord_is_current(examples, LABELS, 8, tokenizer, second_file)
    assert ensure(examples, tokenizer, second_file, "none")["status"] == "current"


@pytest.mark.parametrize("change", ["text", "order", "label", "max_seq_length", "truncation",
                                    "casing", "vocab", "label_list"])
def test_every_ingredient_is_in_the_key(tmp_path, change):
    tokenizer, cache = make_tokenizer(tmp_path), str(tmp_path / "cache")
    examples = make_examples()
    base = ensure(examples, tokenizer, str(tmp_path / "a.tf_record"), cache)
    kwargs = {}
    if change == "text":
        examples = make_examples(text="w%d the dog w3 w4 w6")
    elif change == "order":
        examples = examples[::-1]
    elif change == "label":
        examples[3].label = "neg" if examples[3].label == "pos" else "pos"
    elif change == "max_seq_length":
        kwargs["max_seq_length"] = 9
    elif change == "truncation":
        kwargs["truncation"] = "tail"
    elif change == "casing":
        tokenizer = make_tokenizer(tmp_path, do_lower_case=False)
    elif change == "vocab":
        tokenizer = make_tokenizer(tmp_path, vocab=VOCAB + ["w99"])
    else:
        kwargs["label_list"] = ["pos", "neg"]
    other = ensure(examples, tokenizer, str(tmp_path / "b.tf_record"), cache, **kwargs)
    assert other["status"] == "converted" and other["key"] != base["key"]


@pytest.mark.parametrize("damage", ["truncated", "no sidecar", "other sidecar"])
def test_a_broken_entry_is_converted_again_and_replaced(tmp_path, damage):
    tokenizer, cache = make_tokenizer(tmp_path), str(tmp_path / "cache")
    examples = make_examples()
    first = ensure(examples, tokenizer, str(tmp_path / "a.tf_record"), cache)
    good = read(first["source"])
    sidecar = features_lib.meta_path(first["source"])
    if damage == "truncated":
        with open(first["source"], "wb") as handle:
            handle.write(good[:-3])
    elif damage == "no sidecar":
        os.remove(sidecar)
    else:
        with open(sidecar) as handle:
            text = handle.read()
        assert '"max_seq_length": 8' in text
        with open(sidecar, "w") as handle:
            handle.write(text.replace('"max_seq_length": 8', '"max_seq_length": 7'))
    again = ensure(examples, tokenizer, str(tmp_path / "b.tf_record"), cache)
    assert again["status"] == "converted" and again["source"] == first["source"]
    assert read(again["source"]) == good
    assert ensure(examples, tokenizer, str(tmp_path / "c.tf_record"), cache)["status"] == \
        "reused"


def test_cache_location(tmp_path, monkeypatch):
    monkeypatch.setenv(feature_cache.CACHE_ENV, str(tmp_path / "env"))
    assert feature_cache.resolve_cache_dir() == str(tmp_path / "env")
    assert feature_cache.resolve_cache_dir(str(tmp_path / "flag")) == str(tmp_path / "flag")
    assert feature_cache.resolve_cache_dir("None") is None
    monkeypatch.setenv(feature_cache.CACHE_ENV, "none")
    assert feature_cache.resolve_cache_dir() is None
    monkeypatch.delenv(feature_cache.CACHE_ENV)
    assert feature_cache.resolve_cache_dir() == os.path.expanduser(
        os.path.join("~", ".cache", "bert_tf1", "features"))


def test_none_stores_nothing(tmp_path):
    tokenizer = make_tokenizer(tmp_path)
    result = ensure(make_examples(), tokenizer, str(tmp_path / "out" / "a.tf_record"), "none")
    assert result == {"status": "converted", "source": None, "key": None}
    assert sorted(os.listdir(str(tmp_path / "out"))) == ["a.tf_record", "a.tf_record.meta.json"]


def test_a_miss_hashes_the_examples_and_the_vocab_once(tmp_path, monkeypatch):
    """The key's sha256 of the examples and fingerprint of the tokenizer are handed to the
    writer, not computed again; record and sidecar are what the writer makes alone."""
    tokenizer, examples = make_tokenizer(tmp_path), make_examples()
    alone = str(tmp_path / "alone.tf_record")
    expected_meta = features_lib.file_based_convert_examples_to_features(
        examples, LABELS, 8, tokenizer, alone, "head", show_progress=False)
    calls = []
    for name in ("examples_fingerprint", "tokenizer_fingerprint"):
        original = getattr(features_lib, name)

        def counted(*args, _name=name, _original=original):
            calls.append(_name)
            return _original(*args)

        monkeypatch.setattr(features_lib, name, counted)
    update = features_lib._ExamplesHasher.update
    monkeypatch.setattr(features_lib._ExamplesHasher, "update",
                        lambda self, example: calls.append("hash") or update(self, example))
    output = str(tmp_path / "out" / "train.tf_record")
    assert ensure(examples, tokenizer, output, str(tmp_path / "cache"))["status"] == "converted"
    assert sorted(calls) == ["examples_fingerprint"] + ["hash"] * len(examples) + [
        "tokenizer_fingerprint"]
    assert read(output) == read(alone)
    assert features_lib.read_tfrecord_meta(output) == expected_meta
