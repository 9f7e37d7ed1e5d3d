"""Features layer: conversion (against hand-computed ids and Google's own code), truncation,
labels, padding, progress, and atomic TFRecord writing with its .meta.json sidecar."""
import ast
import collections
import doctest
import importlib.util
import json
import logging
import os
import random

import pytest
from support import REPO_ROOT

from bert_tf1.compat import setup_tf1

setup_tf1()

import tensorflow as tf  # noqa: E402
from bert import tokenization  # noqa: E402

from bert_tf1.classifier import features  # noqa: E402
from bert_tf1.classifier.features import (  # noqa: E402
    InputFeatures,
    convert_examples_to_features,
    convert_single_example,
    ensure_tfrecord,
    file_based_convert_examples_to_features,
    padded_examples,
    parse_truncation,
    read_tfrecord_meta,
    tfrecord_is_current,
    truncate_tokens,
)
from bert_tf1.data.examples import InputExample, PaddingInputExample  # noqa: E402
from bert_tf1.errors import BertTF1Error  # noqa: E402

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "dog", "is", "hairy", ".", "jack", "##son", "##ville", "?", "no", "it", "not"]
NUMBERED = ["w%d" % i for i in range(20)]
VOCAB = SPECIAL + WORDS + NUMBERED
ID = {token: index for index, token in enumerate(VOCAB)}
PAD, CLS, SEP = ID["[PAD]"], ID["[CLS]"], ID["[SEP]"]


def write_vocab(path, tokens):
    path.write_text("".join(token + "\n" for token in tokens))
    return str(path)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    vocab = write_vocab(tmp_path_factory.mktemp("vocab") / "vocab.txt", VOCAB)
    return tokenization.FullTokenizer(vocab_file=vocab, do_lower_case=True)


def words(start, stop):
    return " ".join("w%d" % i for i in range(start, stop))


def ids(*tokens):
    return [ID[token] for token in tokens]


def wids(start, stop):
    return [ID["w%d" % i] for i in range(start, stop)]


# ---------------------------------------------------------------------------------------------
# Google's own conversion code, loaded from the installed run_classifier.py without importing
# it (importing would define absl flags). Only the needed classes and functions are executed.
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def google():
    spec = importlib.util.find_spec("bert")
    path = os.path.join(list(spec.submodule_search_locations)[0], "run_classifier.py")
    with open(path) as handle:
        tree = ast.parse(handle.read())
    wanted = {"InputExample", "PaddingInputExample", "InputFeatures", "convert_single_example",
              "_truncate_seq_pair"}
    nodes = [node for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in wanted]
    assert {node.name for node in nodes} == wanted
    namespace = {"tf": tf.compat.v1, "tokenization": tokenization, "collections": collections}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), path, "exec"), namespace)
    return namespace


def as_tuple(feature):
    return (list(feature.input_ids), list(feature.input_mask), list(feature.segment_ids),
            feature.label_id, bool(feature.is_real_example))


# ---------------------------------------------------------------------------------------------
# convert_single_example
# ---------------------------------------------------------------------------------------------

def test_single_sequence_hand_computed(tokenizer):
    example = InputExample("train-0", "The dog is hairy.", label="pos")
    feature = convert_single_example(0, example, ["neg", "pos"], 9, tokenizer)
    assert feature == InputFeatures(
        input_ids=[CLS] + ids("the", "dog", "is", "hairy", ".") + [SEP, PAD, PAD],
        input_mask=[1] * 7 + [0] * 2,
        segment_ids=[0] * 9,
        label_id=1,
        is_real_example=True)


def test_pair_hand_computed(tokenizer):
    example = InputExample("dev-3", "is this jacksonville ?", "no it is not .", label="neg")
    feature = convert_single_example(0, example, ["neg", "pos"], 16, tokenizer)
    # "this" is not in the vocab -> [UNK]; "jacksonville" -> jack ##son ##ville.
    expected_ids = [CLS, ID["is"], ID["[UNK]"], ID["jack"], ID["##son"], ID["##ville"], ID["?"],
                    SEP, ID["no"], ID["it"], ID["is"], ID["not"], ID["."], SEP, PAD, PAD]
    assert feature.input_ids == expected_ids
    assert feature.input_mask == [1] * 14 + [0] * 2
    assert feature.segment_ids == [0] * 8 + [1] * 6 + [0] * 2
    assert feature.label_id == 0 and feature.is_real_example is True


def test_empty_text_b_is_a_single_sequence_like_google(tokenizer):
    with_empty = convert_single_example(0, InputExample("a", "the dog", "", "neg"), ["neg"], 6,
                                        tokenizer)
    without = convert_single_example(0, InputExample("a", "the dog", None, "neg"), ["neg"], 6,
                                     tokenizer)
    assert with_empty == without
    assert without.input_ids == [CLS] + ids("the", "dog") + [SEP, PAD, PAD]


def test_matches_google_convert_single_example(tokenizer, google):
    rng = random.Random(0)
    vocab_words = WORDS[:5] + NUMBERED
    label_list = ["a", "b", "c"]

    def text():
        return " ".join(rng.choice(vocab_words) for _ in range(rng.randint(1, 20)))

    truncated = 0
    for index in range(200):
        text_a = text()
        text_b = text() if index % 2 else None
        label = rng.choice(label_list)
        max_seq_length = rng.choice([4, 8, 16, 32])
        theirs = google["convert_single_example"](
            index + 5, google["InputExample"]("g", text_a, text_b, label), label_list,
            max_seq_length, tokenizer)
        ours = convert_single_example(index + 5, InputExample("g", text_a, text_b, label),
                                      label_list, max_seq_length, tokenizer)
        assert as_tuple(ours) == as_tuple(theirs), (text_a, text_b, max_seq_length)
        truncated += all(ours.input_mask)
    assert truncated > 50  # the comparison covers truncation, not only padding

    pad_theirs = google["convert_single_example"](0, google["PaddingInputExample"](), label_list,
                                                  8, tokenizer)
    pad_ours = convert_single_example(0, PaddingInputExample(), label_list, 8, tokenizer)
    assert as_tuple(pad_ours) == as_tuple(pad_theirs)


# ---------------------------------------------------------------------------------------------
# Truncation
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("truncation, kept", [
    ("head", list(range(0, 8))),
    ("tail", list(range(12, 20))),
    ("head+tail:3", [0, 1, 2] + list(range(15, 20))),
    ("head+tail:0", list(range(12, 20))),       # no head: same as tail
    ("head+tail:8", list(range(0, 8))),         # head fills the budget: same as head
    ("head+tail:128", list(range(0, 8))),       # head larger than the budget
    (" Head+Tail:2 ", [0, 1] + list(range(14, 20))),
])
def test_truncation_strategies_keep_exact_tokens(tokenizer, truncation, kept):
    example = InputExample("long", words(0, 20), label="x")
    feature = convert_single_example(0, example, ["x"], 10, tokenizer, truncation=truncation)
    assert feature.input_ids == [CLS] + [ID["w%d" % i] for i in kept] + [SEP]
    assert feature.input_mask == [1] * 10


@pytest.mark.parametrize("truncation", ["head", "tail", "head+tail:2"])
def test_short_sequences_are_not_truncated(tokenizer, truncation):
    feature = convert_single_example(0, InputExample("s", words(0, 5)), ["x"], 10, tokenizer,
                                     truncation=truncation)
    assert feature.input_ids == [CLS] + wids(0, 5) + [SEP, PAD, PAD, PAD]


def test_truncate_tokens_edges():
    tokens = list("abcdefgh")
    assert truncate_tokens(tokens, 5, "head") == list("abcde")
    assert truncate_tokens(tokens, 5, "tail") == list("defgh")
    assert truncate_tokens(tokens, 5, "head+tail:2") == list("abfgh")
    assert truncate_tokens(tokens, 0, "tail") == []          # tokens[-0:] is the whole list
    assert truncate_tokens(tokens, 0, "head+tail:2") == []
    assert truncate_tokens(tokens, 8, "tail") == tokens
    assert tokens == list("abcdefgh")                          # input not modified


def test_max_seq_length_two_keeps_only_cls_sep(tokenizer):
    for truncation in ("head", "tail", "head+tail:1"):
        feature = convert_single_example(0, InputExample("g", words(0, 4)), ["x"], 2, tokenizer,
                                         truncation=truncation)
        assert feature.input_ids == [CLS, SEP]


def test_sun_et_al_512_setting():
    kept = truncate_tokens(list(range(1000)), 510, "head+tail:128")
    assert kept == list(range(128)) + list(range(1000 - 382, 1000))


@pytest.mark.parametrize("bad", ["middle", "head+tail", "head+tail:", "head+tail:-1",
                                 "head+tail:x", None, 5])
def test_bad_truncation_spec(tokenizer, bad):
    with pytest.raises(BertTF1Error, match="truncation"):
        parse_truncation(bad)
    with pytest.raises(BertTF1Error, match="truncation"):
        convert_examples_to_features([InputExample("g", "the")], ["x"], 8, tokenizer,
                                     truncation=bad, show_progress=False)


def test_pairs_use_longest_first_whatever_the_truncation(tokenizer, google):
    example = InputExample("p", words(0, 10), words(10, 13), "x")
    expected = [CLS] + wids(0, 4) + [SEP] + wids(10, 13) + [SEP]  # a cut from the end to 4
    for truncation in ("head", "tail", "head+tail:2"):
        feature = convert_single_example(0, example, ["x"], 10, tokenizer, truncation=truncation)
        assert feature.input_ids == expected
        assert feature.segment_ids == [0] * 6 + [1] * 4
    a, b = list("abcdefg"), list("xyz")
    google["_truncate_seq_pair"](a, b, 6)
    a2, b2 = list("abcdefg"), list("xyz")
    features._truncate_seq_pair(a2, b2, 6)
    assert (a2, b2) == (a, b) == (list("abc"), list("xyz"))


def test_pair_needs_three_positions(tokenizer):
    with pytest.raises(BertTF1Error, match="at least 3"):
        convert_single_example(0, InputExample("p", "the", "dog"), ["x"], 2, tokenizer)


@pytest.mark.parametrize("bad", [1, 0, 2.5, "128", None, True])
def test_bad_max_seq_length(tokenizer, bad):
    with pytest.raises(BertTF1Error, match="max_seq_length"):
        convert_single_example(0, InputExample("g", "the"), ["x"], bad, tokenizer)


# ---------------------------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("label_list", [None, "regression"])
def test_regression_labels_are_floats(tokenizer, label_list):
    for label, expected in (("3.25", 3.25), (2, 2.0), (-0.5, -0.5), (None, 0.0)):
        feature = convert_single_example(0, InputExample("r", "the dog", label=label),
                                         label_list, 6, tokenizer)
        assert isinstance(feature.label_id, float) and feature.label_id == expected


@pytest.mark.parametrize("label", ["positive", float("nan"), float("inf")])
def test_bad_regression_label(tokenizer, label):
    with pytest.raises(BertTF1Error, match="'r-7'"):
        convert_single_example(3, InputExample("r-7", "the dog", label=label), None, 6,
                               tokenizer)


def test_label_list_string_other_than_regression(tokenizer):
    with pytest.raises(BertTF1Error, match="label_list"):
        convert_single_example(0, InputExample("g", "the", label="neg"), "neg,pos", 6, tokenizer)


def test_duplicate_labels_rejected(tokenizer):
    with pytest.raises(BertTF1Error, match="more than once"):
        convert_single_example(0, InputExample("g", "the", label="neg"), ["neg", "neg"], 6,
                               tokenizer)


def test_unknown_label_names_guid_label_and_list(tokenizer):
    with pytest.raises(BertTF1Error) as error:
        convert_single_example(4, InputExample("train-42", "the dog", label="neutral"),
                               ["neg", "pos"], 6, tokenizer)
    message = str(error.value)
    assert "train-42" in message and "'neutral'" in message and "['neg', 'pos']" in message


def test_label_type_mismatch_hint(tokenizer):
    with pytest.raises(BertTF1Error, match="different type: str vs int"):
        convert_single_example(0, InputExample("g", "the", label="1"), [0, 1], 6, tokenizer)


def test_integer_labels_like_the_colab(tokenizer):
    np = pytest.importorskip("numpy")
    feature = convert_single_example(0, InputExample(None, "the", label=np.int64(1)), [0, 1], 6,
                                     tokenizer)
    assert feature.label_id == 1


def test_unlabelled_example_gets_label_zero(tokenizer):
    feature = convert_single_example(0, InputExample("test-0", "the dog"), ["neg", "pos"], 6,
                                     tokenizer)
    assert feature.label_id == 0 and feature.is_real_example


@pytest.mark.parametrize("field", ["text_a", "text_b"])
def test_non_string_text_names_the_example(tokenizer, field):
    example = InputExample("row-9", "the dog", "dog", "neg")
    setattr(example, field, float("nan"))  # what pandas gives for an empty cell
    with pytest.raises(BertTF1Error, match="row-9.*%s must be a string" % field):
        convert_single_example(0, example, ["neg"], 8, tokenizer)


# ---------------------------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------------------------

def test_padding_example_features(tokenizer):
    feature = convert_single_example(0, PaddingInputExample(), ["neg", "pos"], 5, tokenizer)
    assert feature == InputFeatures([0] * 5, [0] * 5, [0] * 5, 0, False)
    regression = convert_single_example(0, PaddingInputExample(), None, 5, tokenizer)
    assert regression.label_id == 0.0 and isinstance(regression.label_id, float)
    assert regression.is_real_example is False


def test_googles_padding_class_is_recognised(tokenizer, google):
    feature = convert_single_example(0, google["PaddingInputExample"](), ["neg"], 4, tokenizer)
    assert feature.is_real_example is False and feature.input_ids == [0] * 4


@pytest.mark.parametrize("count, batch_size, expected", [(5, 4, 8), (8, 4, 8), (0, 4, 0),
                                                         (1, 1, 1), (3, 8, 8)])
def test_padded_examples(count, batch_size, expected):
    examples = [InputExample("g%d" % i, "the") for i in range(count)]
    padded = padded_examples(examples, batch_size)
    assert len(padded) == expected and len(examples) == count
    assert padded[:count] == examples
    assert all(isinstance(e, PaddingInputExample) for e in padded[count:])


@pytest.mark.parametrize("bad", [0, -1, 2.0, None])
def test_padded_examples_bad_batch_size(bad):
    with pytest.raises(BertTF1Error, match="batch_size"):
        padded_examples([], bad)


# ---------------------------------------------------------------------------------------------
# convert_examples_to_features: progress and logging
# ---------------------------------------------------------------------------------------------

def make_examples(count, labels=("neg", "pos")):
    return [InputExample("ex-%d" % i, words(i % 7, i % 7 + 3 + i % 5), None,
                         labels[i % len(labels)]) for i in range(count)]


def test_convert_examples_to_features_in_order(tokenizer):
    examples = make_examples(7)
    result = convert_examples_to_features(examples, ["neg", "pos"], 8, tokenizer,
                                          show_progress=False)
    assert result == [convert_single_example(i, e, ["neg", "pos"], 8, tokenizer)
                      for i, e in enumerate(examples)]


def test_progress_flag(tokenizer, capsys, monkeypatch):
    logged = []
    monkeypatch.setattr(tf.compat.v1.logging, "info", logged.append)
    examples = make_examples(6)
    convert_examples_to_features(examples, ["neg", "pos"], 8, tokenizer, show_progress=False)
    assert capsys.readouterr().err == "" and logged == []
    # stderr is captured here, not a terminal: log lines instead of tqdm's redraws
    convert_examples_to_features(examples, ["neg", "pos"], 8, tokenizer, show_progress=True)
    assert capsys.readouterr().err == ""
    assert logged[-1].startswith("Converting examples: 6/6 (100%)")


def test_first_five_examples_logged_at_debug_only(tokenizer):
    class Collect(logging.Handler):
        def __init__(self):
            super(Collect, self).__init__(logging.DEBUG)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    handler = Collect()
    tf_logger = logging.getLogger("tensorflow")
    old_level = tf.compat.v1.logging.get_verbosity()
    tf_logger.addHandler(handler)
    try:
        tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.INFO)
        convert_examples_to_features(make_examples(8), ["neg", "pos"], 8, tokenizer,
                                     show_progress=False)
        assert handler.messages == []
        tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.DEBUG)
        convert_examples_to_features(make_examples(8), ["neg", "pos"], 8, tokenizer,
                                     show_progress=False)
        logged = [m for m in handler.messages if "*** Example ***" in m]
        assert len(logged) == 5 and "guid: ex-0" in logged[0] and "guid: ex-4" in logged[4]
    finally:
        tf_logger.removeHandler(handler)
        tf.compat.v1.logging.set_verbosity(old_level)


# ---------------------------------------------------------------------------------------------
# TFRecord writing
# ---------------------------------------------------------------------------------------------

def read_records(path):
    out = []
    for record in tf.compat.v1.io.tf_record_iterator(path):
        example = tf.train.Example.FromString(record)
        fields = {}
        for key, value in example.features.feature.items():
            kind = value.WhichOneof("kind")
            fields[key] = (kind, list(getattr(value, kind).value))
        out.append(fields)
    return out


def leftovers(directory):
    return sorted(name for name in os.listdir(str(directory)) if ".tmp-" in name)


def test_tfrecord_content_matches_in_memory_features(tokenizer, tmp_path):
    examples = padded_examples(make_examples(5), 4)
    output = str(tmp_path / "train.tf_record")
    meta = file_based_convert_examples_to_features(examples, ["neg", "pos"], 8, tokenizer,
                                                   output, show_progress=False)
    expected = convert_examples_to_features(examples, ["neg", "pos"], 8, tokenizer,
                                            show_progress=False)
    records = read_records(output)
    assert len(records) == 8
    for record, feature in zip(records, expected):
        assert set(record) == set(features.FEATURE_KEYS)
        assert record["input_ids"] == ("int64_list", feature.input_ids)
        assert record["input_mask"] == ("int64_list", feature.input_mask)
        assert record["segment_ids"] == ("int64_list", feature.segment_ids)
        assert record["label_ids"] == ("int64_list", [feature.label_id])
        assert record["is_real_example"] == ("int64_list", [int(feature.is_real_example)])
    assert leftovers(tmp_path) == []
    assert meta["num_examples"] == 8 and meta["num_real_examples"] == 5


def test_regression_tfrecord_has_float_labels(tokenizer, tmp_path):
    examples = [InputExample("r%d" % i, "the dog", label=i / 4.0) for i in range(3)]
    output = str(tmp_path / "reg.tf_record")
    meta = file_based_convert_examples_to_features(examples, "regression", 6, tokenizer, output,
                                                   show_progress=False)
    labels = [record["label_ids"] for record in read_records(output)]
    assert labels == [("float_list", [0.0]), ("float_list", [0.25]), ("float_list", [0.5])]
    assert meta["is_regression"] is True and meta["label_list"] is None


def test_meta_sidecar(tokenizer, tmp_path):
    examples = make_examples(6)
    output = str(tmp_path / "sub" / "dir" / "eval.tf_record")  # parent directories are made
    returned = file_based_convert_examples_to_features(
        examples, ["neg", "pos"], 12, tokenizer, output, truncation="head+tail:3",
        show_progress=False)
    with open(output + ".meta.json") as handle:
        meta = json.load(handle)
    assert meta == returned == read_tfrecord_meta(output)
    assert meta["num_examples"] == 6 and meta["num_real_examples"] == 6
    assert meta["max_seq_length"] == 12
    assert meta["label_list"] == ["neg", "pos"] and meta["is_regression"] is False
    assert meta["truncation"] == "head+tail:3"
    assert meta["examples_sha256"] == features.examples_fingerprint(examples)
    assert meta["record_bytes"] == os.path.getsize(output)
    assert len(meta["tokenizer_sha256"]) == 64
    assert leftovers(tmp_path / "sub" / "dir") == []


def test_tfrecord_is_current(tokenizer, tmp_path):
    examples = make_examples(6)
    output = str(tmp_path / "train.tf_record")
    args = (examples, ["neg", "pos"], 8, tokenizer, output)
    assert not tfrecord_is_current(*args)
    file_based_convert_examples_to_features(*args, show_progress=False)
    assert tfrecord_is_current(*args)
    assert tfrecord_is_current(list(make_examples(6)), ["neg", "pos"], 8, tokenizer, output)

    changed_text = make_examples(6)
    changed_text[3].text_a += " w1"
    changed_label = make_examples(6)
    changed_label[0].label = "pos"
    changed_guid = make_examples(6)
    changed_guid[5].guid = "other"
    reordered = make_examples(6)[::-1]
    for other in (changed_text, changed_label, changed_guid, reordered, make_examples(5),
                  padded_examples(make_examples(6), 4)):
        assert not tfrecord_is_current(other, ["neg", "pos"], 8, tokenizer, output)
    assert not tfrecord_is_current(examples, ["neg", "pos"], 9, tokenizer, output)
    assert not tfrecord_is_current(examples, ["pos", "neg"], 8, tokenizer, output)
    assert not tfrecord_is_current(examples, ["neg", "pos"], 8, tokenizer, output, "tail")

    other_vocab = write_vocab(tmp_path / "vocab2.txt", VOCAB[:-1] + ["zzz"])
    assert not tfrecord_is_current(
        examples, ["neg", "pos"], 8, tokenization.FullTokenizer(other_vocab, True), output)
    same_vocab = write_vocab(tmp_path / "vocab3.txt", VOCAB)
    assert tfrecord_is_current(
        examples, ["neg", "pos"], 8, tokenization.FullTokenizer(same_vocab, True), output)
    assert not tfrecord_is_current(
        examples, ["neg", "pos"], 8, tokenization.FullTokenizer(same_vocab, False), output)

    class Opaque(object):  # no vocab to fingerprint: never trusted
        def tokenize(self, text):
            return tokenizer.tokenize(text)

        def convert_tokens_to_ids(self, tokens):
            return tokenizer.convert_tokens_to_ids(tokens)

    assert not tfrecord_is_current(examples, ["neg", "pos"], 8, Opaque(), output)

    with open(output, "ab") as handle:  # record replaced or appended to since
        handle.write(b"x")
    assert not tfrecord_is_current(*args)
    file_based_convert_examples_to_features(*args, show_progress=False)
    assert tfrecord_is_current(*args)
    os.remove(output + ".meta.json")
    assert not tfrecord_is_current(*args)
    file_based_convert_examples_to_features(*args, show_progress=False)
    os.remove(output)
    assert not tfrecord_is_current(*args)


def test_broken_sidecar_is_not_current(tokenizer, tmp_path):
    examples = make_examples(3)
    output = str(tmp_path / "t.tf_record")
    file_based_convert_examples_to_features(examples, ["neg", "pos"], 8, tokenizer, output,
                                            show_progress=False)
    with open(output + ".meta.json", "w") as handle:
        handle.write("{not json")
    assert read_tfrecord_meta(output) is None
    assert not tfrecord_is_current(examples, ["neg", "pos"], 8, tokenizer, output)


def test_ensure_tfrecord_writes_only_when_needed(tokenizer, tmp_path):
    examples = make_examples(4)
    output = str(tmp_path / "t.tf_record")
    args = (examples, ["neg", "pos"], 8, tokenizer, output)
    assert ensure_tfrecord(*args, show_progress=False) is True
    mtime = os.stat(output).st_mtime_ns
    assert ensure_tfrecord(*args, show_progress=False) is False
    assert os.stat(output).st_mtime_ns == mtime
    assert ensure_tfrecord(make_examples(5), ["neg", "pos"], 8, tokenizer, output,
                           show_progress=False) is True
    assert len(read_records(output)) == 5


class FailingTokenizer(object):
    """Delegates to a real tokenizer but raises `error` on the `fail_at`-th tokenize call."""

    def __init__(self, tokenizer, fail_at, error):
        self._tokenizer, self._fail_at, self._error, self.calls = tokenizer, fail_at, error, 0
        self.vocab = tokenizer.vocab
        self.basic_tokenizer = tokenizer.basic_tokenizer
        self.wordpiece_tokenizer = tokenizer.wordpiece_tokenizer

    def tokenize(self, text):
        self.calls += 1
        if self.calls == self._fail_at:
            raise self._error
        return self._tokenizer.tokenize(text)

    def convert_tokens_to_ids(self, tokens):
        return self._tokenizer.convert_tokens_to_ids(tokens)


@pytest.mark.parametrize("error", [RuntimeError("tokenizer broke"), KeyboardInterrupt()])
def test_failure_mid_write_leaves_no_output(tokenizer, tmp_path, error):
    output = str(tmp_path / "train.tf_record")
    failing = FailingTokenizer(tokenizer, 3, error)
    with pytest.raises(type(error)):
        file_based_convert_examples_to_features(make_examples(6), ["neg", "pos"], 8, failing,
                                                output, show_progress=False)
    assert failing.calls == 3
    assert sorted(os.listdir(str(tmp_path))) == []


def test_failed_rewrite_removes_the_previous_record(tokenizer, tmp_path):
    output = str(tmp_path / "train.tf_record")
    file_based_convert_examples_to_features(make_examples(6), ["neg", "pos"], 8, tokenizer,
                                            output, show_progress=False)
    with pytest.raises(BertTF1Error, match="ex-2"):
        bad = make_examples(6)
        bad[2].label = "neutral"
        file_based_convert_examples_to_features(bad, ["neg", "pos"], 8, tokenizer, output,
                                                show_progress=False)
    # No old record (which a resume checking only existence would trust), no sidecar, no tmp.
    assert sorted(os.listdir(str(tmp_path))) == []


def test_bad_arguments_do_not_delete_an_existing_record(tokenizer, tmp_path):
    output = str(tmp_path / "train.tf_record")
    args = (make_examples(3), ["neg", "pos"], 8, tokenizer, output)
    file_based_convert_examples_to_features(*args, show_progress=False)
    with pytest.raises(BertTF1Error, match="truncation"):
        file_based_convert_examples_to_features(*args, truncation="middle", show_progress=False)
    with pytest.raises(BertTF1Error, match="more than once"):
        file_based_convert_examples_to_features(make_examples(3), ["neg", "neg"], 8, tokenizer,
                                                output, show_progress=False)
    assert tfrecord_is_current(*args)


def test_doctests():
    results = doctest.testmod(features, optionflags=doctest.ELLIPSIS)
    assert results.failed == 0 and results.attempted >= 4


# ---------------------------------------------------------------------------------------------
# Object storage: s3:// through TF's own S3 file system, against a local moto server
# ---------------------------------------------------------------------------------------------

S3_CHILD = r'''
import json, os, sys
from bert_tf1.compat import setup_tf1
setup_tf1()
import tensorflow as tf
from bert import tokenization
from bert_tf1.classifier import features as F, inputs as I

vocab, local_dir = sys.argv[1], sys.argv[2]
tok = tokenization.FullTokenizer(vocab, True)
examples = F.padded_examples(
    [F.InputExample("g%d" % i, "the dog is hairy ." * (1 + i), label="ab"[i % 2])
     for i in range(5)], 4)
out = "s3://bert-tf1-test/run/train.tf_record"
def listing():
    try:
        return sorted(tf.io.gfile.listdir("s3://bert-tf1-test/run"))
    except tf.errors.NotFoundError:  # an S3 "directory" is gone with its last object
        return []

report = {"before": F.tfrecord_is_current(examples, ["a", "b"], 8, tok, out)}
F.file_based_convert_examples_to_features(examples, ["a", "b"], 8, tok, out, show_progress=False)
report["listing"] = listing()
report["current"] = F.tfrecord_is_current(examples, ["a", "b"], 8, tok, out)
report["meta"] = F.read_tfrecord_meta(out)

def read(path):
    with tf.Graph().as_default():
        batch = tf.compat.v1.data.make_one_shot_iterator(
            I.file_based_input_fn_builder(path, 8, False, False, batch_size=3)()).get_next()
        rows = []
        with tf.compat.v1.Session() as session:
            while True:
                try:
                    rows.extend(session.run(batch)["input_ids"].tolist())
                except tf.errors.OutOfRangeError:
                    return rows

local = os.path.join(local_dir, "train.tf_record")
F.file_based_convert_examples_to_features(examples, ["a", "b"], 8, tok, local, show_progress=False)
report["same_rows"] = read(out) == read(local)
report["local_bytes"] = os.path.getsize(local)

class Failing(object):
    def __init__(self):
        self.vocab, self.basic_tokenizer = tok.vocab, tok.basic_tokenizer
        self.calls = 0
    def tokenize(self, text):
        self.calls += 1
        if self.calls == 3:
            raise RuntimeError("tokenizer broke")
        return tok.tokenize(text)
    def convert_tokens_to_ids(self, tokens):
        return tok.convert_tokens_to_ids(tokens)

try:
    F.file_based_convert_examples_to_features(examples, ["a", "b"], 8, Failing(), out,
                                              show_progress=False)
except RuntimeError:
    report["after_failure"] = listing()
print("REPORT " + json.dumps(report))
'''


@pytest.mark.filterwarnings("ignore")  # boto3 / cryptography: "Python 3.7 is deprecated"
def test_s3_write_read_and_failure(tmp_path):
    """gs:// and s3:// share the tf.io.gfile code path; S3 can be served locally (moto).

    Runs in a fresh process: TF caches its S3 client (and endpoint) on first use.
    """
    pytest.importorskip("moto")
    boto3 = pytest.importorskip("boto3")
    import subprocess
    import sys

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server._server.server_address  # pylint: disable=protected-access
        credentials = dict(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                           AWS_REGION="us-east-1")
        boto3.client("s3", endpoint_url="http://%s:%d" % (host, port), region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing"
                     ).create_bucket(Bucket="bert-tf1-test")
        env = dict(os.environ, S3_ENDPOINT="%s:%d" % (host, port), S3_USE_HTTPS="0",
                   S3_VERIFY_SSL="0", TF_CPP_MIN_LOG_LEVEL="3", **credentials)
        env["PYTHONPATH"] = REPO_ROOT
        vocab = write_vocab(tmp_path / "vocab.txt", VOCAB)
        result = subprocess.run([sys.executable, "-c", S3_CHILD, vocab, str(tmp_path)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, env=env, timeout=300)
        # timeout: a hang guard; the whole test took 21 s on a loaded 2-core machine.
    finally:
        server.stop()
    lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    report = json.loads(lines[0][len("REPORT "):])
    assert report["before"] is False
    assert report["listing"] == ["train.tf_record", "train.tf_record.meta.json"]  # no .tmp-*
    assert report["current"] is True
    assert report["meta"]["num_examples"] == 8 and report["meta"]["num_real_examples"] == 5
    assert report["meta"]["record_bytes"] == report["local_bytes"]
    assert report["same_rows"] is True
    assert report["after_failure"] == []


# ---------------------------------------------------------------------------------------------
# Speed: tokenizing only what truncation keeps, worker processes
# ---------------------------------------------------------------------------------------------

# Words, punctuation, an unknown word, accents, capitals and runs of whitespace of every kind.
PIECES = WORDS + NUMBERED + ["Héllo", "DOG", "unknownword", "w1.w2", "?!", "jack,son"]
SEPARATORS = [" ", " ", " ", "  ", "\t", " \n ", "\r\n"]


def long_texts(count, seed=1):
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        parts = [rng.choice(PIECES) for _ in range(rng.randint(0, 90))]
        texts.append("".join(part + rng.choice(SEPARATORS) for part in parts).strip(
            "" if rng.random() < 0.5 else None))
    return texts


@pytest.mark.parametrize("truncation", ["head", "tail", "head+tail:3", "head+tail:30"])
def test_tokenizing_what_truncation_keeps_equals_tokenizing_everything(tokenizer, truncation,
                                                                       monkeypatch):
    texts = long_texts(80)
    shortened, current = [], [None]
    tokenize = tokenizer.tokenize

    def spy(text):
        shortened.append(len(text) < len(current[0]))
        return tokenize(text)

    expected = {(text, size): truncate_tokens(tokenize(text), size, truncation)
                for text in texts for size in (1, 6, 14)}
    monkeypatch.setattr(tokenizer, "tokenize", spy)
    for (text, size), kept in expected.items():
        current[0] = text
        assert features.tokenize_truncated(tokenizer, text, size, truncation) == kept, (text,
                                                                                        size)
    assert sum(shortened) > len(shortened) // 3  # the shortcut is taken, and often


def test_long_texts_match_google_convert_single_example(tokenizer, google):
    from bert_tf1.modeling import tokenization as fast_tokenization

    fast = fast_tokenization.wrap_tokenizer("auto", tokenizer)
    label_list = ["neg", "pos"]
    texts = long_texts(150, seed=2)
    for max_seq_length in (8, 16):
        for index, text in enumerate(texts):
            theirs = google["convert_single_example"](
                index + 5, google["InputExample"]("g", text, None, "pos"), label_list,
                max_seq_length, tokenizer)
            for ours_tokenizer in (tokenizer, fast):
                ours = convert_single_example(index + 5, InputExample("g", text, None, "pos"),
                                              label_list, max_seq_length, ours_tokenizer)
                assert as_tuple(ours) == as_tuple(theirs), text


def test_worker_processes_give_the_same_features_and_bytes(tokenizer, tmp_path):
    label_list = ["neg", "pos"]
    examples = [InputExample("ex-%d" % i, text, "w1 w2" if i % 5 == 0 else None,
                             label_list[i % 2])
                for i, text in enumerate(long_texts(2 * features.EXAMPLES_PER_TASK + 5))]
    examples[7] = PaddingInputExample()
    serial = convert_examples_to_features(examples, label_list, 16, tokenizer,
                                          show_progress=False)
    parallel = convert_examples_to_features(examples, label_list, 16, tokenizer,
                                            show_progress=False, num_workers=2)
    assert parallel == serial
    paths = [str(tmp_path / ("%d.tf_record" % workers)) for workers in (1, 2)]
    metas = [file_based_convert_examples_to_features(examples, label_list, 16, tokenizer, path,
                                                     "tail", show_progress=False,
                                                     num_workers=workers)
             for path, workers in zip(paths, (1, 2))]
    assert metas[0] == metas[1] and metas[0]["num_real_examples"] == len(examples) - 1
    with open(paths[0], "rb") as one, open(paths[1], "rb") as two:
        assert one.read() == two.read()


def test_worker_error_names_the_example(tokenizer, tmp_path):
    examples = [InputExample("ex-%d" % i, text, None, "neg")
                for i, text in enumerate(long_texts(2 * features.EXAMPLES_PER_TASK + 1))]
    examples[200] = InputExample("bad", "w1", None, "maybe")
    path = str(tmp_path / "out.tf_record")
    with pytest.raises(BertTF1Error, match=r"example 200 \(guid 'bad'\): label 'maybe'"):
        file_based_convert_examples_to_features(examples, ["neg", "pos"], 16, tokenizer, path,
                                                show_progress=False, num_workers=2)
    assert not [name for name in os.listdir(str(tmp_path))]


def protobuf_bytes(feature, is_regression=False):
    return features.feature_to_tf_example(feature, is_regression).SerializeToString(
        deterministic=True)


def test_hand_encoded_records_are_protobufs_bytes():
    """serialize_feature writes classification records itself: every varint width (1-3 bytes,
    the limit's edges), lists of every length class (empty, 1, long), numpy and bool values
    give protobuf's deterministic bytes; what it does not encode goes through protobuf."""
    import numpy as np

    rng = random.Random(3)
    edges = [0, 1, 127, 128, 16383, 16384, 30521, 119546, (1 << 18) - 1]
    cases = [InputFeatures([rng.choice(edges + [rng.randrange(1 << 18)]) for _ in range(size)],
                           [1] * size, [rng.randint(0, 1) for _ in range(size)],
                           rng.choice(edges), rng.random() < 0.8)
             for size in (0, 1, 2, 64, 100, 128, 512) for _ in range(4)]
    cases.append(InputFeatures(list(np.arange(5, dtype=np.int64)), [True] * 5, [False] * 5,
                               np.int64(1), np.bool_(True)))
    cases.append(InputFeatures(np.array([3, 200, 40000]), np.ones(3, np.int32), (0, 0, 1),
                               np.int32(0), True))  # arrays are not read as raw buffers
    for feature in cases:
        assert features.serialize_feature(feature) == protobuf_bytes(feature), feature
    assert features._encode_int_example(cases[0]) is not None  # the hand-written path ran
    for outside in ([-1], [1 << 18], [1 << 40]):  # protobuf's path: same bytes
        feature = InputFeatures(outside, [1], [0], 1)
        assert features._encode_int_example(feature) is None
        assert features.serialize_feature(feature) == protobuf_bytes(feature)
    regression = InputFeatures([5, 6], [1, 1], [0, 0], 0.25)
    assert features.serialize_feature(regression, True) == protobuf_bytes(regression, True)
    for wrong in ([2.0], ["a"], [None]):  # protobuf's own error for a value no int64 holds
        with pytest.raises(TypeError, match="expected one of: int"):
            features.serialize_feature(InputFeatures(wrong, [1], [0], 1))


def test_the_pool_path_without_fork_gives_the_same_features(tokenizer, monkeypatch):
    """Where fork is missing the multiprocessing pool converts (here still forked)."""
    from bert_tf1.runtime import workers

    examples = [InputExample("ex-%d" % i, text, None, "neg")
                for i, text in enumerate(long_texts(features.EXAMPLES_PER_TASK + 3, seed=4))]
    forked = convert_examples_to_features(examples, ["neg"], 12, tokenizer,
                                          show_progress=False, num_workers=2)
    monkeypatch.setattr(workers, "can_fork", lambda: False)
    pooled = convert_examples_to_features(examples, ["neg"], 12, tokenizer,
                                          show_progress=False, num_workers=2)
    assert pooled == forked == convert_examples_to_features(examples, ["neg"], 12, tokenizer,
                                                            show_progress=False)
