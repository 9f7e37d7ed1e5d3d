"""Features layer: tokenize examples, convert them to fixed-length features, write TFRecords.

Public names and signatures follow google-research/bert's `run_classifier.py` (InputFeatures,
convert_single_example, convert_examples_to_features, file_based_convert_examples_to_features,
_truncate_seq_pair), so notebook code ports by changing only its imports. Every added argument is
a keyword with a default that reproduces Google's behaviour. What differs, and why:

- Labels: `label_list=None` or `label_list="regression"` means a regression task (float label_id,
  float `label_ids` in the TFRecord). A label missing from `label_list` raises `BertTF1Error`
  naming the example, the label and the list (Google raised a bare KeyError). An example whose
  label is None (unlabelled test data) gets label_id 0 (0.0 for regression), as Google's test
  processors did by giving a dummy label.
- Truncation of single sequences: "head" (Google's), "tail", or "head+tail:H" (Sun et al. 2019,
  "How to Fine-Tune BERT for Text Classification?"). Pairs always use Google's longest-first
  `_truncate_seq_pair`; the `truncation` argument does not apply to them.
- Google logged the first five examples at INFO; we log them at DEBUG (tf.compat.v1.logging).
- `convert_examples_to_features` shows a tqdm progress bar on a terminal, log lines about
  every 10% when stderr is a file (`show_progress=False` turns it off).
- `file_based_convert_examples_to_features` writes atomically (temporary name, then rename) and
  records a `.meta.json` sidecar, so an interrupted run never leaves a record file that a resume
  would trust; `tfrecord_is_current` / `ensure_tfrecord` reuse a record only when it matches.
- Google's `PaddingInputExample` objects (from bert.run_classifier) are recognised by class name,
  so mixed imports still pad correctly.

Never import bert.run_classifier here: it defines absl flags at import time that would clash with
our CLIs' flags of the same names. bert.tokenization is fine, but it reads an absl flag, so call
`bert_tf1.compat.setup_tf1()` before tokenizing.
"""
import collections
import hashlib
import json
import math
import numbers
import os

import tensorflow as tf
from absl import flags
from bert import tokenization

from bert_tf1.data.examples import InputExample, PaddingInputExample  # noqa: F401 (re-exported)
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime import atomic_io
from bert_tf1.runtime import progress as progress_lib
from bert_tf1.runtime import workers as workers_lib

#: Keys of the feature dict in TFRecords and in every input_fn's output.
FEATURE_KEYS = ("input_ids", "input_mask", "segment_ids", "label_ids", "is_real_example")

#: Identifies the sidecar layout; bump it when the record or sidecar format changes.
META_FORMAT = "bert_tf1.classifier.features.tfrecord/1"
META_SUFFIX = ".meta.json"

REGRESSION = "regression"

_NUM_LOGGED_EXAMPLES = 5  # Google's run_classifier logs the first five examples.


class InputFeatures(object):
    """A single set of features of data (google-research/bert's container, same fields).

    Args:
      input_ids: list of int, length max_seq_length: WordPiece ids, zero-padded.
      input_mask: list of int, length max_seq_length: 1 for real tokens, 0 for padding.
      segment_ids: list of int, length max_seq_length: 0 for the first sequence, 1 for the second.
      label_id: int index into the label list, or float for regression.
      is_real_example: False for the features of a PaddingInputExample.
    """

    def __init__(self, input_ids, input_mask, segment_ids, label_id, is_real_example=True):
        self.input_ids = input_ids
        self.input_mask = input_mask
        self.segment_ids = segment_ids
        self.label_id = label_id
        self.is_real_example = is_real_example

    def __repr__(self):
        return ("InputFeatures(input_ids=%r, input_mask=%r, segment_ids=%r, label_id=%r, "
                "is_real_example=%r)" % (self.input_ids, self.input_mask, self.segment_ids,
                                         self.label_id, self.is_real_example))

    def __eq__(self, other):
        return isinstance(other, InputFeatures) and vars(self) == vars(other)

    def __ne__(self, other):
        return not self == other


# --------------------------------------------------------------------------------------------
# Labels and truncation specs
# --------------------------------------------------------------------------------------------

def is_regression_label_list(label_list):
    """True if `label_list` declares a regression task: None or the string "regression".

    >>> is_regression_label_list("regression"), is_regression_label_list(["neg", "pos"])
    (True, False)
    """
    if label_list is None:
        return True
    if isinstance(label_list, str):
        if label_list == REGRESSION:
            return True
        raise BertTF1Error(
            "label_list: expected a list of labels, None or %r, found the string %r"
            % (REGRESSION, label_list))
    return False


def _label_map(label_list):
    label_map = {}
    for index, label in enumerate(label_list):
        if label in label_map:
            raise BertTF1Error("label_list: label %r appears more than once in %r"
                               % (label, list(label_list)))
        label_map[label] = index
    return label_map


def _where(ex_index, example):
    return "example %d (guid %r)" % (ex_index, getattr(example, "guid", None))


def _label_id(ex_index, example, label_list, label_map):
    label = example.label
    if label_map is None:  # regression
        if label is None:
            return 0.0
        try:
            value = float(label)
        except (TypeError, ValueError):
            raise BertTF1Error("%s: regression label %r is not a number (label_list %r means "
                               "regression)" % (_where(ex_index, example), label, label_list))
        if not math.isfinite(value):
            raise BertTF1Error("%s: regression label %r is not finite"
                               % (_where(ex_index, example), label))
        return value
    if label is None:
        return 0
    try:
        return label_map[label]
    except (KeyError, TypeError):
        hint = ""
        if str(label) in {str(name) for name in label_map}:
            hint = " (same text, different type: %s vs %s)" % (
                type(label).__name__,
                "/".join(sorted({type(name).__name__ for name in label_map})))
        raise BertTF1Error("%s: label %r is not in label_list %r%s"
                           % (_where(ex_index, example), label, list(label_list), hint))


def parse_truncation(truncation):
    """Parses a truncation spec into (kind, head_tokens); head_tokens is None unless head+tail.

    Specs: "head" keeps the first tokens (Google's); "tail" keeps the last; "head+tail:H" keeps
    the first H tokens and fills the rest of the budget with the last tokens (Sun et al. 2019's
    best setting for max_seq_length 512 was "head+tail:128": 128 head + 382 tail tokens).

    >>> parse_truncation("head+tail:128")
    ('head+tail', 128)
    """
    if not isinstance(truncation, str):
        raise BertTF1Error("truncation: expected 'head', 'tail' or 'head+tail:H', found %r"
                           % (truncation,))
    spec = truncation.strip().lower()
    if spec in ("head", "tail"):
        return spec, None
    if spec.startswith("head+tail"):
        _, sep, number = spec.partition(":")
        if sep and number.strip().isdigit():
            return "head+tail", int(number)
        raise BertTF1Error("truncation: %r needs the number of head tokens, e.g. "
                           "'head+tail:128' (first 128 tokens + as many last tokens as fit)"
                           % (truncation,))
    raise BertTF1Error("truncation: expected 'head', 'tail' or 'head+tail:H', found %r"
                       % (truncation,))


def _normalize_truncation(truncation):
    kind, head = parse_truncation(truncation)
    return kind if head is None else "%s:%d" % (kind, head)


def truncate_tokens(tokens, max_tokens, truncation="head"):
    """Returns at most `max_tokens` of `tokens` according to a truncation spec (new list).

    >>> truncate_tokens(list("abcdefgh"), 5, "head+tail:2")
    ['a', 'b', 'f', 'g', 'h']
    """
    kind, head = parse_truncation(truncation)
    tokens = list(tokens)
    if len(tokens) <= max_tokens:
        return tokens
    if max_tokens <= 0:
        return []
    if kind == "head":
        return tokens[:max_tokens]
    if kind == "tail":
        return tokens[len(tokens) - max_tokens:]
    head = min(head, max_tokens)
    tail = max_tokens - head  # tokens[-0:] would be the whole list, hence the explicit slice
    return tokens[:head] + tokens[len(tokens) - tail:]


# First guess of the characters holding one WordPiece (IMDB: 4.25 median, 4.7 p90), doubled
# until the prefix or suffix tokenized holds enough WordPieces.
_CHARS_PER_TOKEN = 5


def splits_at_whitespace(tokenizer):
    """True for tokenizers whose WordPieces of a text cut at a space are exactly the first (or
    last) WordPieces of the whole text: bert's FullTokenizer (its basic tokenizer cleans,
    lower-cases, strips accents and splits punctuation within whitespace-separated words, and
    WordPiece works word by word) and tokenizers that say they equal it (`splits_at_whitespace`
    attribute, e.g. modeling.tokenization.FastFullTokenizer). A subclass may change that, so
    only the class itself counts."""
    return type(tokenizer) is tokenization.FullTokenizer or \
        getattr(tokenizer, "splits_at_whitespace", False) is True


def _prefix_tokens(tokenizer, text, count):
    """(WordPieces of text[:end], end) with at least `count` WordPieces and text[end] a space,
    or None when that needs the whole text."""
    chars = count * _CHARS_PER_TOKEN
    while chars < len(text):
        end = text.rfind(" ", 0, chars + 1)
        if end > 0:
            tokens = tokenizer.tokenize(text[:end])
            if len(tokens) >= count:
                return tokens, end
        chars *= 2
    return None


def _suffix_tokens(tokenizer, text, count):
    """(WordPieces of text[start + 1:], start) with at least `count` WordPieces and text[start]
    a space, or None when that needs the whole text."""
    chars = count * _CHARS_PER_TOKEN
    while chars < len(text):
        start = text.find(" ", len(text) - chars - 1)
        if 0 <= start < len(text) - 1:
            tokens = tokenizer.tokenize(text[start + 1:])
            if len(tokens) >= count:
                return tokens, start
        chars *= 2
    return None


def tokenize_truncated(tokenizer, text, max_tokens, truncation="head"):
    """truncate_tokens(tokenizer.tokenize(text), max_tokens, truncation), tokenizing only the
    part of a long text that truncation keeps (when `splits_at_whitespace(tokenizer)`).

    An IMDB review averages ~300 WordPieces; at max_seq_length 128 only the first 126 are kept,
    so tokenizing a prefix cut at a space (a word boundary, where bert's tokenization restarts)
    gives the same WordPieces for well under half the work. head+tail:H tokenizes a prefix and
    a suffix that do not overlap. Anything else tokenizes the whole text.

    >>> tokenize_truncated(tokenizer, "a very long review ...", 126)  # doctest: +SKIP
    """
    kind, head = parse_truncation(truncation)
    if isinstance(text, str) and max_tokens > 0 and splits_at_whitespace(tokenizer) and \
            len(text) > max_tokens * _CHARS_PER_TOKEN:
        if kind == "head":
            found = _prefix_tokens(tokenizer, text, max_tokens)
            if found:
                return found[0][:max_tokens]
        elif kind == "tail":
            found = _suffix_tokens(tokenizer, text, max_tokens)
            if found:
                return found[0][len(found[0]) - max_tokens:]
        else:
            head = min(head, max_tokens)
            tail = max_tokens - head
            front = _prefix_tokens(tokenizer, text, head) if head else ([], 0)
            back = _suffix_tokens(tokenizer, text, tail) if tail else ([], len(text))
            if front and back and front[1] <= back[1]:
                return front[0][:head] + back[0][len(back[0]) - tail:]
    return truncate_tokens(tokenizer.tokenize(text), max_tokens, truncation)


def _truncate_seq_pair(tokens_a, tokens_b, max_length):
    """Truncates a sequence pair in place to the maximum length (Google's, longest first).

    Always shortens the longer sequence by one token at the end: if one sequence is short, each
    of its tokens likely carries more information than one of the long sequence's.
    """
    while len(tokens_a) + len(tokens_b) > max_length:
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()


truncate_seq_pair = _truncate_seq_pair


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------

def _is_padding(example):
    # Google's bert.run_classifier.PaddingInputExample is a different class with the same name.
    return isinstance(example, PaddingInputExample) or \
        type(example).__name__ == "PaddingInputExample"


def _check_text(ex_index, example, field):
    text = getattr(example, field, None)
    if field == "text_b" and text is None:
        return None
    if not isinstance(text, (str, bytes)):  # bert.tokenization decodes bytes as UTF-8
        # pandas turns empty cells into float NaN; tokenize() would fail far from the cause.
        raise BertTF1Error("%s: %s must be a string, found %s %r"
                           % (_where(ex_index, example), field, type(text).__name__, text))
    return text


def _convert(ex_index, example, label_list, max_seq_length, tokenizer, truncation, label_map):
    if _is_padding(example):
        zeros = [0] * max_seq_length
        return InputFeatures(input_ids=list(zeros), input_mask=list(zeros),
                             segment_ids=list(zeros),
                             label_id=0.0 if label_map is None else 0, is_real_example=False)

    label_id = _label_id(ex_index, example, label_list, label_map)
    text_a = _check_text(ex_index, example, "text_a")
    tokens_b = None
    text_b = _check_text(ex_index, example, "text_b")
    if text_b:
        tokens_b = list(tokenizer.tokenize(text_b))

    # As in Google's code, an empty second text makes a single-sequence example.
    if not tokens_b:
        tokens_a = tokenize_truncated(tokenizer, text_a, max_seq_length - 2, truncation)
    else:
        tokens_a = list(tokenizer.tokenize(text_a))
        if max_seq_length < 3:
            raise BertTF1Error("max_seq_length: a sentence pair needs at least 3 positions "
                               "([CLS] a [SEP] b [SEP]), found %d" % max_seq_length)
        _truncate_seq_pair(tokens_a, tokens_b, max_seq_length - 3)  # [CLS], [SEP], [SEP]

    # Pairs:  [CLS] is this jack ##son ##ville ? [SEP] no it is not . [SEP]  segments 0...0 1...1
    # Single: [CLS] the dog is hairy . [SEP]                                  segments all 0
    tokens = ["[CLS]"] + tokens_a + ["[SEP]"]
    segment_ids = [0] * len(tokens)
    if tokens_b:
        tokens += tokens_b + ["[SEP]"]
        segment_ids += [1] * (len(tokens_b) + 1)

    input_ids = list(tokenizer.convert_tokens_to_ids(tokens))
    input_mask = [1] * len(input_ids)
    padding = max_seq_length - len(input_ids)
    input_ids += [0] * padding
    input_mask += [0] * padding
    segment_ids += [0] * padding

    if ex_index < _NUM_LOGGED_EXAMPLES:
        tf.compat.v1.logging.debug(
            "*** Example ***\nguid: %s\ntokens: %s\ninput_ids: %s\ninput_mask: %s\n"
            "segment_ids: %s\nlabel: %r (id = %r)", example.guid, " ".join(tokens),
            " ".join(map(str, input_ids)), " ".join(map(str, input_mask)),
            " ".join(map(str, segment_ids)), example.label, label_id)

    return InputFeatures(input_ids=input_ids, input_mask=input_mask, segment_ids=segment_ids,
                         label_id=label_id, is_real_example=True)


def _label_map_or_none(label_list):
    return None if is_regression_label_list(label_list) else _label_map(label_list)


def _check_max_seq_length(max_seq_length):
    if isinstance(max_seq_length, bool) or not isinstance(max_seq_length, numbers.Integral) or \
            max_seq_length < 2:
        raise BertTF1Error("max_seq_length: expected an integer >= 2, found %r"
                           % (max_seq_length,))


def convert_single_example(ex_index, example, label_list, max_seq_length, tokenizer,
                           truncation="head"):
    """Converts a single `InputExample` (or `PaddingInputExample`) into an `InputFeatures`.

    Args:
      ex_index: int, position of the example (used in error messages and the debug log of the
        first five examples).
      example: InputExample (text_b None for a single sequence) or PaddingInputExample.
      label_list: list of labels (label_id is the index), or None / "regression" for a
        regression task (label_id is float(example.label)).
      max_seq_length: int, length of every output list, including [CLS] and [SEP].
      tokenizer: object with `tokenize(text)` and `convert_tokens_to_ids(tokens)`, e.g.
        bert.tokenization.FullTokenizer.
      truncation: "head", "tail" or "head+tail:H" for single sequences (see `parse_truncation`);
        sentence pairs are always truncated longest-first as in Google's code.

    Returns:
      InputFeatures with int lists of length max_seq_length. A PaddingInputExample gives all-zero
      lists, label_id 0 (0.0 for regression) and is_real_example False.

    Raises:
      BertTF1Error: label not in label_list, non-numeric regression label, text not a string.

    >>> f = convert_single_example(0, InputExample("dev-0", "the dog"), ["neg", "pos"], 6,
    ...                            tokenizer)  # doctest: +SKIP
    >>> f.input_mask, f.segment_ids, f.label_id  # doctest: +SKIP
    ([1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0], 0)
    """
    _check_max_seq_length(max_seq_length)
    return _convert(ex_index, example, label_list, max_seq_length, tokenizer, truncation,
                    _label_map_or_none(label_list))


# Examples per task sent to a worker process: pickling and scheduling then cost little, and
# 5,000 examples still balance over a few workers. Any value gives the same features.
EXAMPLES_PER_TASK = 128

# What a worker process converts with, set once by _init_worker (inherited on fork).
_WORKER_STATE = None


def _convert_chunk(state, start, chunk):
    """Features of examples[start:start + len(chunk)]: InputFeatures, or (is_real, bytes) when
    state["serialize"] (then the record is serialized here, in the worker)."""
    converted = []
    for offset, example in enumerate(chunk):
        feature = _convert(start + offset, example, state["label_list"],
                           state["max_seq_length"], state["tokenizer"], state["truncation"],
                           state["label_map"])
        if state["serialize"]:
            converted.append((feature.is_real_example,
                              serialize_feature(feature, state["is_regression"])))
        else:
            converted.append(feature)
    return converted


def _init_worker(state):
    global _WORKER_STATE
    _WORKER_STATE = state
    # bert.tokenization reads an absl flag at call time; a forked worker inherits the parent's.
    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


def _worker_convert(task):
    start, stop = task
    return _convert_chunk(_WORKER_STATE, start, _WORKER_STATE["examples"][start:stop])


def _iter_features(examples, label_list, max_seq_length, tokenizer, truncation, show_progress,
                   desc, num_workers=1, serialize=False):
    """Yields (example, converted) in order; converted as _convert_chunk gives it.

    num_workers > 1 converts chunks of EXAMPLES_PER_TASK examples in that many forked worker
    processes (runtime.workers; only when there is more than one chunk): same output, in order.
    """
    # Check every argument before tokenizing anything (or deleting an old TFRecord).
    _check_max_seq_length(max_seq_length)
    parse_truncation(truncation)
    workers = workers_lib.resolve_num_workers(num_workers)
    state = dict(label_list=label_list, max_seq_length=max_seq_length, tokenizer=tokenizer,
                 truncation=truncation, label_map=_label_map_or_none(label_list),
                 serialize=serialize, is_regression=is_regression_label_list(label_list))
    if workers > 1:
        examples = list(examples)
        if len(examples) <= EXAMPLES_PER_TASK:
            workers = 1
    total = len(examples) if hasattr(examples, "__len__") else None
    # tqdm on a terminal, log lines when redirected to a file (runtime.progress.progress_bar).
    progress = progress_lib.progress_bar(_converted(state, examples, workers), total=total,
                                         desc=desc, unit="ex", enabled=show_progress)
    try:
        for pair in progress:
            yield pair
    finally:
        progress.close()


def _converted(state, examples, workers):
    """Yields (example, converted) in order, from this process or from `workers` processes."""
    if workers <= 1:
        for ex_index, example in enumerate(examples):
            yield example, _convert_chunk(state, ex_index, [example])[0]
        return
    # Tasks are index ranges: forked workers already hold the examples (state, inherited), so
    # only the converted records travel back through pipes.
    tasks = [(start, min(start + EXAMPLES_PER_TASK, len(examples)))
             for start in range(0, len(examples), EXAMPLES_PER_TASK)]
    if workers_lib.can_fork():
        def convert(task):
            _init_worker(state)  # inherited already; sets the absl flag state bert reads
            return _convert_chunk(state, task[0], examples[task[0]:task[1]])

        for (start, stop), converted in zip(tasks, workers_lib.forked_imap(convert, tasks,
                                                                           workers)):
            for example, item in zip(examples[start:stop], converted):
                yield example, item
        return
    with workers_lib.forked_pool(min(workers, len(tasks)), _init_worker,
                                 (dict(state, examples=examples),)) as pool:
        for (start, stop), converted in zip(tasks, pool.imap(_worker_convert, tasks)):
            for example, item in zip(examples[start:stop], converted):
                yield example, item


def convert_examples_to_features(examples, label_list, max_seq_length, tokenizer,
                                 truncation="head", show_progress=True, num_workers=1):
    """Converts a list of `InputExample`s to a list of `InputFeatures`.

    Args: as `convert_single_example`, plus
      examples: sequence (or iterable) of InputExample / PaddingInputExample.
      show_progress: bool, show progress (tqdm on a terminal, else log lines).
      num_workers: processes converting chunks of examples (1: this process only, 0: one per
        CPU); the features are the same for every value.

    Returns:
      list of InputFeatures, one per example, in order.

    >>> features = convert_examples_to_features(examples, ["neg", "pos"], 128, tokenizer)
    ... # doctest: +SKIP
    """
    return [feature for _, feature in _iter_features(
        examples, label_list, max_seq_length, tokenizer, truncation, show_progress,
        "Converting examples", num_workers)]


# --------------------------------------------------------------------------------------------
# TFRecords
# --------------------------------------------------------------------------------------------

def _int_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _float_feature(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def feature_to_tf_example(feature, is_regression=False):
    """Serialises an InputFeatures to a tf.train.Example with the keys in FEATURE_KEYS.

    input_ids, input_mask, segment_ids: int64 [max_seq_length]; label_ids: int64 [1] (float [1]
    for regression); is_real_example: int64 [1] (0 or 1).
    """
    features = collections.OrderedDict()
    features["input_ids"] = _int_feature(feature.input_ids)
    features["input_mask"] = _int_feature(feature.input_mask)
    features["segment_ids"] = _int_feature(feature.segment_ids)
    if is_regression:
        features["label_ids"] = _float_feature([feature.label_id])
    else:
        features["label_ids"] = _int_feature([feature.label_id])
    features["is_real_example"] = _int_feature([int(feature.is_real_example)])
    return tf.train.Example(features=tf.train.Features(feature=features))


def serialize_feature(feature, is_regression=False):
    """feature_to_tf_example's bytes, with sorted map keys: the C++ protobuf's map order differs
    between processes, and the same features should give the same bytes (see pretraining.data).

    Classification features whose ints are all in 0..2**18 - 1 (every vocabulary's ids) are
    encoded here, byte for byte what protobuf writes (tests compare the two); anything else
    (regression's floats, other values) goes through protobuf.
    """
    if not is_regression:
        encoded = _encode_int_example(feature)
        if encoded is not None:
            return encoded
    return feature_to_tf_example(feature, is_regression).SerializeToString(deterministic=True)


# The protobuf wire format of tf.train.Example, written by hand: building the message through
# protobuf costs more than the rest of a record's conversion. Example{features: 1} ->
# Features{map<string, Feature> feature: 1} -> Feature{int64_list: 3} -> Int64List{packed
# value: 1}; each map entry is {key: 1, value: 2}, entries sorted by key (deterministic).

def _varint(value):
    """Protobuf's base-128 varint of a non-negative int."""
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


# _VARINTS[v] is _varint(v) for v < len(_VARINTS) (at least 2**14, so a record's length fields
# are lookups too); grown on demand, in powers of two, up to _VARINT_LIMIT, past which
# serialize_feature uses protobuf.
_VARINT_LIMIT = 1 << 18  # above every BERT vocabulary (multilingual: 119,547; XLM-R: 250,002)
_VARINTS = []


def _varints_below(limit):
    global _VARINTS
    table = _VARINTS
    if limit > len(table):
        size = max(len(table), 1 << 14)
        while size < limit:
            size *= 2
        # A new list, then one assignment: a thread reading the old table never sees it grow.
        table = table + [_varint(value) for value in range(len(table), size)]
        _VARINTS = table
    return table


class _NotEncodable(Exception):
    """A value _encode_int_example leaves to protobuf."""


def _length(size, table):
    return table[size] if size < len(table) else _varint(size)


def _packed_varints(values, table):
    """The varints of `values`, back to back (an Int64List's packed payload)."""
    if type(values) in (list, tuple):  # bytes() of an array would copy its buffer instead
        try:
            payload = bytes(values)  # ValueError outside 0..255, TypeError for non-ints
            if payload.isascii():  # all below 0x80: each varint is the value's own byte
                return payload
        except ValueError:
            pass
    if min(values) < 0:
        raise _NotEncodable()
    try:
        return b"".join(map(table.__getitem__, values))
    except IndexError:
        high = max(values)
        if high >= _VARINT_LIMIT:
            raise _NotEncodable()
        return b"".join(map(_varints_below(high + 1).__getitem__, values))


def _int64_entry(key, values, table):
    """One Features map entry (tag, length, entry) holding an Int64List of `values`."""
    if len(values):
        payload = _packed_varints(values, table)
        int64_list = b"\x0a" + _length(len(payload), table) + payload
    else:
        int64_list = b""  # protobuf writes no field for an empty packed list
    feature = b"\x1a" + _length(len(int64_list), table) + int64_list
    entry = _KEY_PREFIXES[key] + _length(len(feature), table) + feature
    return b"\x0a" + _length(len(entry), table) + entry


def _map_entry_prefix(key):
    """A map entry's key field and the tag of its value field."""
    return b"\x0a" + _varint(len(key)) + key.encode("ascii") + b"\x12"


_KEY_PREFIXES = {key: _map_entry_prefix(key) for key in FEATURE_KEYS}


def _encode_int_example(feature):
    """serialize_feature's bytes for int features, or None when protobuf should write them
    (a value that is not an int in 0.._VARINT_LIMIT - 1)."""
    table = _varints_below(0)
    try:
        # Map entries in key order, as protobuf's deterministic serialization writes them.
        body = b"".join([
            _int64_entry("input_ids", feature.input_ids, table),
            _int64_entry("input_mask", feature.input_mask, table),
            _int64_entry("is_real_example", [int(feature.is_real_example)], table),
            _int64_entry("label_ids", [feature.label_id], table),
            _int64_entry("segment_ids", feature.segment_ids, table)])
    except (_NotEncodable, TypeError, ValueError):  # e.g. floats: protobuf's own errors
        return None
    return b"\x0a" + _length(len(body), table) + body


def _json_default(value):
    if hasattr(value, "item"):  # numpy scalars, e.g. labels read by pandas
        return value.item()
    return str(value)


# json.dumps(value, sort_keys=True, default=_json_default, ensure_ascii=False) builds this
# encoder on every call; one shared encoder gives the same text (examples are hashed one by one).
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, default=_json_default, ensure_ascii=False)


def _canonical_json(value):
    return _CANONICAL_ENCODER.encode(value)


def _example_record(example):
    if _is_padding(example):
        return ["<padding>"]
    return [getattr(example, "guid", None), getattr(example, "text_a", None),
            getattr(example, "text_b", None), getattr(example, "label", None)]


class _ExamplesHasher(object):
    """sha256 over each example's (guid, text_a, text_b, label), in order."""

    def __init__(self):
        self._sha = hashlib.sha256()
        self.count = 0

    def update(self, example):
        self._sha.update(_canonical_json(_example_record(example)).encode("utf-8"))
        self._sha.update(b"\n")
        self.count += 1

    def hexdigest(self):
        return self._sha.hexdigest()


def examples_fingerprint(examples):
    """Returns the sha256 hex digest over every example's guid, texts and label, in order."""
    hasher = _ExamplesHasher()
    for example in examples:
        hasher.update(example)
    return hasher.hexdigest()


def tokenizer_fingerprint(tokenizer):
    """sha256 of what makes a tokenizer's ids: its vocab (token -> id) and lower-casing.

    Uses `tokenizer.fingerprint()` if the tokenizer defines it; otherwise reads the attributes
    bert.tokenization.FullTokenizer has. Returns None when it cannot tell (then no TFRecord made
    with this tokenizer is ever considered current).
    """
    custom = getattr(tokenizer, "fingerprint", None)
    if callable(custom):
        return custom()
    vocab = getattr(tokenizer, "vocab", None)
    if not isinstance(vocab, dict):
        return None
    basic = getattr(tokenizer, "basic_tokenizer", None)
    wordpiece = getattr(tokenizer, "wordpiece_tokenizer", None)
    state = {
        "class": type(tokenizer).__name__,
        "vocab": list(vocab.items()),
        "do_lower_case": getattr(basic, "do_lower_case", getattr(tokenizer, "do_lower_case", None)),
        "max_input_chars_per_word": getattr(wordpiece, "max_input_chars_per_word", None),
    }
    return hashlib.sha256(_canonical_json(state).encode("utf-8")).hexdigest()


def _jsonable(value):
    return json.loads(_canonical_json(value))


def _expected_meta(label_list, max_seq_length, tokenizer, truncation):
    _check_max_seq_length(max_seq_length)
    _label_map_or_none(label_list)
    regression = is_regression_label_list(label_list)
    return {
        "format": META_FORMAT,
        "max_seq_length": max_seq_length,
        "label_list": None if regression else _jsonable(list(label_list)),
        "is_regression": regression,
        "truncation": _normalize_truncation(truncation),
        "tokenizer_sha256": tokenizer_fingerprint(tokenizer),
    }


def expected_meta(label_list, max_seq_length, tokenizer, truncation="head"):
    """The sidecar fields fixed by the conversion's arguments (format, max_seq_length,
    label_list, is_regression, truncation, tokenizer_sha256); a current record matches them."""
    return _expected_meta(label_list, max_seq_length, tokenizer, truncation)


def meta_path(output_file):
    """Path of the sidecar describing a TFRecord: `output_file + ".meta.json"`."""
    return output_file + META_SUFFIX


def read_tfrecord_meta(output_file):
    """Returns the sidecar dict of a TFRecord written by this module, or None if absent/broken."""
    path = meta_path(output_file)
    try:
        if not tf.io.gfile.exists(path):
            return None
        with tf.io.gfile.GFile(path, "r") as handle:
            meta = json.loads(handle.read())
    except (ValueError, tf.errors.OpError):
        return None
    return meta if isinstance(meta, dict) else None


def file_based_convert_examples_to_features(examples, label_list, max_seq_length, tokenizer,
                                            output_file, truncation="head", show_progress=True,
                                            num_workers=1):
    """Converts `InputExample`s to a TFRecord file, atomically, with a `.meta.json` sidecar.

    Records hold the keys in FEATURE_KEYS (see `feature_to_tf_example`), one per example, in
    order. Only tf.io APIs are used, so output_file may be local, gs:// or s3://.

    Atomicity: any existing output_file and sidecar are removed first; records go to
    `output_file + ".tmp-<random>"`, which is renamed onto output_file only after the last
    record is written; the sidecar is written (also atomically) last. So after any failure or
    interrupt neither file is left claiming to be complete (a SIGKILL can leave a stray
    `.tmp-*` file, which nothing reads).

    Args: as `convert_examples_to_features` (num_workers included: the bytes are the same for
      every value), plus
      output_file: path of the TFRecord to write.

    Returns:
      dict: the sidecar's content: format, num_examples, num_real_examples, max_seq_length,
      label_list (None for regression), is_regression, truncation, examples_sha256,
      tokenizer_sha256, record_bytes.

    >>> file_based_convert_examples_to_features(examples, ["neg", "pos"], 128, tokenizer,
    ...                                         "gs://bucket/run/train.tf_record")  # doctest: +SKIP
    """
    return write_tfrecord(examples, label_list, max_seq_length, tokenizer, output_file,
                          truncation, show_progress, num_workers)


def write_tfrecord(examples, label_list, max_seq_length, tokenizer, output_file,
                   truncation="head", show_progress=True, num_workers=1, expected=None,
                   examples_sha256=None):
    """file_based_convert_examples_to_features, for a caller that already computed
    `expected` (expected_meta of these arguments) and `examples_sha256`
    (examples_fingerprint(examples)), as the feature cache does: neither is computed again
    (the tokenizer's fingerprint hashes its whole vocabulary; the examples' every text)."""
    meta = dict(expected) if expected is not None else _expected_meta(
        label_list, max_seq_length, tokenizer, truncation)
    parent = os.path.dirname(output_file)
    if parent and "://" not in output_file and not tf.io.gfile.exists(parent):
        tf.io.gfile.makedirs(parent)  # object stores (gs://, s3://) have no directories to make
    # Remove the sidecar before anything else: a stale sidecar next to a new record (or the
    # reverse) must never look current.
    atomic_io.remove_if_exists(meta_path(output_file))
    atomic_io.remove_if_exists(output_file)

    hasher = _ExamplesHasher() if examples_sha256 is None else None
    num_examples = num_real = 0
    with atomic_io.replaced_on_success(output_file) as tmp:
        with tf.io.TFRecordWriter(tmp) as writer:
            for example, (is_real, record) in _iter_features(
                    examples, label_list, max_seq_length, tokenizer, truncation, show_progress,
                    "Writing TFRecord", num_workers, serialize=True):
                if hasher is not None:
                    hasher.update(example)
                num_examples += 1
                num_real += int(bool(is_real))
                writer.write(record)

    meta.update({
        "num_examples": num_examples,
        "num_real_examples": num_real,
        "examples_sha256": examples_sha256 if hasher is None else hasher.hexdigest(),
        "record_bytes": tf.io.gfile.stat(output_file).length,
    })
    atomic_io.write_text_atomically(meta_path(output_file),
                                    json.dumps(meta, indent=2, sort_keys=True))
    return meta


def tfrecord_is_current(examples, label_list, max_seq_length, tokenizer, output_file,
                        truncation="head"):
    """True if `output_file` was written by `file_based_convert_examples_to_features` from
    exactly these arguments (same examples in the same order, labels, length, truncation and
    tokenizer vocab/casing) and has not been replaced since (same size).

    Arguments are in the writer's order, so `if not tfrecord_is_current(*args): write(*args)`.
    `examples` must be re-iterable (a list), since it is hashed here.
    """
    meta = read_tfrecord_meta(output_file)
    if meta is None:
        return False
    try:
        if not tf.io.gfile.exists(output_file) or \
                tf.io.gfile.stat(output_file).length != meta.get("record_bytes"):
            return False
    except tf.errors.OpError:
        return False
    expected = _expected_meta(label_list, max_seq_length, tokenizer, truncation)
    if expected["tokenizer_sha256"] is None:
        return False
    if any(meta.get(key) != value for key, value in expected.items()):
        return False
    hasher = _ExamplesHasher()
    for example in examples:
        hasher.update(example)
    return meta.get("num_examples") == hasher.count and \
        meta.get("examples_sha256") == hasher.hexdigest()


def ensure_tfrecord(examples, label_list, max_seq_length, tokenizer, output_file,
                    truncation="head", show_progress=True):
    """Writes the TFRecord unless a current one exists. Returns True if it (re)wrote the file.

    >>> ensure_tfrecord(examples, ["neg", "pos"], 128, tokenizer, "out/train.tf_record")
    ... # doctest: +SKIP
    """
    if tfrecord_is_current(examples, label_list, max_seq_length, tokenizer, output_file,
                           truncation):
        return False
    file_based_convert_examples_to_features(examples, label_list, max_seq_length, tokenizer,
                                            output_file, truncation, show_progress)
    return True


def padded_examples(examples, batch_size):
    """Returns a new list: `examples` plus PaddingInputExample()s up to a multiple of batch_size.

    TPUs need full batches; Google pads eval/predict sets this way instead of dropping the last
    batch. Padding features have is_real_example=0, so metrics weighted by it ignore them.

    >>> len(padded_examples([InputExample("a", "x")] * 5, 4))
    8
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise BertTF1Error("batch_size: expected a positive integer, found %r" % (batch_size,))
    examples = list(examples)
    return examples + [PaddingInputExample() for _ in range(-len(examples) % batch_size)]
