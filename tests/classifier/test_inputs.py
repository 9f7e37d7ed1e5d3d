"""input_fn builders: in-memory vs TFRecord equality, batching, dtypes/shapes, shuffling and
seeds, batch-size resolution, sidecar checks, and a plain Estimator feeding params."""
import collections
import doctest
import os

import numpy as np
import pytest

from bert_tf1.compat import setup_tf1

setup_tf1()

import tensorflow as tf  # noqa: E402
from bert import tokenization  # noqa: E402

from bert_tf1.classifier import inputs  # noqa: E402
from bert_tf1.classifier.features import (  # noqa: E402
    FEATURE_KEYS,
    InputFeatures,
    convert_examples_to_features,
    file_based_convert_examples_to_features,
    padded_examples,
)
from bert_tf1.classifier.inputs import (  # noqa: E402
    file_based_input_fn_builder,
    input_fn_builder,
    resolve_batch_size,
)
from bert_tf1.data.examples import InputExample  # noqa: E402
from bert_tf1.errors import BertTF1Error  # noqa: E402
from bert_tf1.runtime import outputs  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + ["w%d" % i for i in range(30)]
SEQ = 8
LABELS = ["a", "b", "c"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("".join(token + "\n" for token in VOCAB))
    return tokenization.FullTokenizer(vocab_file=str(path), do_lower_case=True)


def make_examples(count, regression=False):
    return [InputExample("ex-%d" % i, " ".join("w%d" % ((i + j) % 30) for j in range(1 + i % 9)),
                         "w%d" % i if i % 3 == 0 else None,
                         i * 0.5 - 1 if regression else LABELS[i % 3]) for i in range(count)]


def run(input_fn, params=None, max_batches=None):
    """Builds input_fn's dataset in a fresh graph; returns (list of numpy batch dicts, dataset)."""
    with tf.Graph().as_default():
        dataset = input_fn(params) if params is not None else input_fn()
        batch = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
        batches = []
        with tf.compat.v1.Session() as session:
            while max_batches is None or len(batches) < max_batches:
                try:
                    batches.append(session.run(batch))
                except tf.errors.OutOfRangeError:
                    break
        return batches, dataset


def rows(batches, key):
    return np.concatenate([b[key] for b in batches]).tolist()


@pytest.fixture(scope="module")
def written(tokenizer, tmp_path_factory):
    """5 classification examples in memory and in a TFRecord."""
    examples = make_examples(5)
    path = str(tmp_path_factory.mktemp("records") / "eval.tf_record")
    file_based_convert_examples_to_features(examples, LABELS, SEQ, tokenizer, path,
                                            show_progress=False)
    feats = convert_examples_to_features(examples, LABELS, SEQ, tokenizer, show_progress=False)
    return feats, path


def test_tfrecord_round_trip_equals_in_memory(written):
    feats, path = written
    from_file, file_ds = run(file_based_input_fn_builder(path, SEQ, False, False),
                             {"batch_size": 2})
    in_memory, memory_ds = run(input_fn_builder(feats, SEQ, False, False), {"batch_size": 2})
    assert [len(b["label_ids"]) for b in from_file] == [2, 2, 1]  # final partial batch of 1
    assert len(from_file) == len(in_memory)
    for a, b in zip(from_file, in_memory):
        assert sorted(a) == sorted(b) == sorted(FEATURE_KEYS)
        for key in FEATURE_KEYS:
            assert a[key].dtype == b[key].dtype == np.int32, key
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    # ... and equal to the features themselves, in order (not training: no shuffle).
    assert rows(from_file, "input_ids") == [f.input_ids for f in feats]
    assert rows(from_file, "input_mask") == [f.input_mask for f in feats]
    assert rows(from_file, "segment_ids") == [f.segment_ids for f in feats]
    assert rows(from_file, "label_ids") == [f.label_id for f in feats] == [0, 1, 2, 0, 1]
    assert rows(from_file, "is_real_example") == [1] * 5
    for dataset in (file_ds, memory_ds):
        shapes = tf.compat.v1.data.get_output_shapes(dataset)
        assert shapes["input_ids"].as_list() == [None, SEQ]
        assert shapes["label_ids"].as_list() == [None]


def test_drop_remainder_gives_full_static_batches(written):
    feats, path = written
    for input_fn in (file_based_input_fn_builder(path, SEQ, False, True, batch_size=2),
                     input_fn_builder(feats, SEQ, False, True, batch_size=2)):
        batches, dataset = run(input_fn)
        assert [len(b["label_ids"]) for b in batches] == [2, 2]
        shapes = tf.compat.v1.data.get_output_shapes(dataset)  # TPUs need static shapes
        assert shapes["input_ids"].as_list() == [2, SEQ]
        assert shapes["is_real_example"].as_list() == [2]


def test_padded_examples_fill_the_last_batch(tokenizer, tmp_path):
    examples = padded_examples(make_examples(5), 4)
    path = str(tmp_path / "predict.tf_record")
    file_based_convert_examples_to_features(examples, LABELS, SEQ, tokenizer, path,
                                            show_progress=False)
    batches, _ = run(file_based_input_fn_builder(path, SEQ, False, True, batch_size=4))
    assert [len(b["label_ids"]) for b in batches] == [4, 4]
    assert rows(batches, "is_real_example") == [1] * 5 + [0] * 3
    assert rows(batches, "input_mask")[5:] == [[0] * SEQ] * 3
    feats = convert_examples_to_features(examples, LABELS, SEQ, tokenizer, show_progress=False)
    in_memory, _ = run(input_fn_builder(feats, SEQ, False, True, batch_size=4))
    assert rows(in_memory, "is_real_example") == [1] * 5 + [0] * 3  # Google's dropped this key


def test_regression_round_trip(tokenizer, tmp_path):
    examples = make_examples(5, regression=True)
    path = str(tmp_path / "reg.tf_record")
    file_based_convert_examples_to_features(examples, None, SEQ, tokenizer, path,
                                            show_progress=False)
    feats = convert_examples_to_features(examples, None, SEQ, tokenizer, show_progress=False)
    from_file, _ = run(file_based_input_fn_builder(path, SEQ, False, False, is_regression=True,
                                                   batch_size=3))
    in_memory, _ = run(input_fn_builder(feats, SEQ, False, False, is_regression=True,
                                        batch_size=3))
    for batches in (from_file, in_memory):
        assert batches[0]["label_ids"].dtype == np.float32
        assert batches[0]["input_ids"].dtype == np.int32
        assert rows(batches, "label_ids") == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_sidecar_mismatches_fail_at_build_time(written, tmp_path):
    _, path = written
    with pytest.raises(BertTF1Error, match="max_seq_length 8.*seq_length=16"):
        file_based_input_fn_builder(path, 16, False, False, batch_size=2)
    with pytest.raises(BertTF1Error, match="classification task.*is_regression=True"):
        file_based_input_fn_builder(path, SEQ, False, False, is_regression=True, batch_size=2)


def test_record_without_sidecar_still_reads(written, tmp_path):
    _, path = written
    copy = str(tmp_path / "google_written.tf_record")
    tf.io.gfile.copy(path, copy)
    assert not os.path.exists(copy + ".meta.json")
    batches, _ = run(file_based_input_fn_builder([copy, copy], SEQ, False, False, batch_size=4))
    assert rows(batches, "label_ids") == [0, 1, 2, 0, 1] * 2


def training_order(input_fn, batches=6):
    got, _ = run(input_fn, max_batches=batches)
    return [tuple(row) for row in rows(got, "input_ids")]


@pytest.mark.parametrize("source", ["memory", "file"])
def test_training_repeats_shuffles_and_is_seeded(tokenizer, tmp_path, source):
    examples = make_examples(20)
    feats = convert_examples_to_features(examples, LABELS, SEQ, tokenizer, show_progress=False)
    path = str(tmp_path / "train.tf_record")
    file_based_convert_examples_to_features(examples, LABELS, SEQ, tokenizer, path,
                                            show_progress=False)

    def build(seed):
        if source == "memory":
            return input_fn_builder(feats, SEQ, True, True, batch_size=5, seed=seed)
        return file_based_input_fn_builder(path, SEQ, True, True, batch_size=5, seed=seed)

    first = training_order(build(7), batches=12)  # 60 rows: three passes over 20 examples
    assert len(first) == 60
    assert first == training_order(build(7), batches=12)      # same seed -> same order
    assert first != training_order(build(8), batches=12)      # another seed -> another order
    in_order = [tuple(f.input_ids) for f in feats]
    assert first[:20] != in_order                              # shuffled
    assert set(first) == set(in_order)                         # every example is seen


def test_in_memory_default_shuffle_spans_the_whole_data_set(tokenizer):
    # Label-sorted data: Google's 100-example buffer kept the first batches single-label.
    examples = [InputExample("e%d" % i, "w%d" % (i % 30), label="a" if i < 500 else "b")
                for i in range(1000)]
    feats = convert_examples_to_features(examples, LABELS, SEQ, tokenizer, show_progress=False)
    whole, _ = run(input_fn_builder(feats, SEQ, True, True, batch_size=100, seed=1),
                   max_batches=1)
    small, _ = run(input_fn_builder(feats, SEQ, True, True, batch_size=100, seed=1,
                                    shuffle_buffer_size=100), max_batches=1)
    assert 20 < sum(whole[0]["label_ids"]) < 80   # about half "b" (label 1)
    assert sum(small[0]["label_ids"]) == 0        # all "a": the defect this default avoids


def test_batch_size_resolution(written):
    feats, path = written
    assert resolve_batch_size(None, {"batch_size": 3}) == 3
    assert resolve_batch_size(3, None) == 3
    assert resolve_batch_size(3, {"batch_size": 3}) == 3
    assert resolve_batch_size(3, {"other": 1}) == 3
    with pytest.raises(BertTF1Error, match="no batch size"):
        resolve_batch_size(None, {})
    with pytest.raises(BertTF1Error, match="per-shard"):
        resolve_batch_size(8, {"batch_size": 2})
    with pytest.raises(BertTF1Error, match="positive integer"):
        resolve_batch_size(None, {"batch_size": 0})
    for builder in (lambda **kw: input_fn_builder(feats, SEQ, False, False, **kw),
                    lambda **kw: file_based_input_fn_builder(path, SEQ, False, False, **kw)):
        with pytest.raises(BertTF1Error, match="no batch size"):
            with tf.Graph().as_default():
                builder()({})
        with pytest.raises(BertTF1Error, match="batch_size"):
            builder(batch_size=0)
        batches, _ = run(builder(batch_size=4))
        assert [len(b["label_ids"]) for b in batches] == [4, 1]


def test_in_memory_validation():
    good = InputFeatures([1] * SEQ, [1] * SEQ, [0] * SEQ, 1)
    with pytest.raises(BertTF1Error, match="empty"):
        input_fn_builder([], SEQ, False, False)
    with pytest.raises(BertTF1Error, match="feature 1 has input_mask of length 7"):
        input_fn_builder([good, InputFeatures([1] * SEQ, [1] * 7, [0] * SEQ, 1)], SEQ, False,
                         False)
    with pytest.raises(BertTF1Error, match="is_regression=True"):
        input_fn_builder([good, InputFeatures([1] * SEQ, [1] * SEQ, [0] * SEQ, 0.5)], SEQ,
                         False, False)


def test_features_without_is_real_example_count_as_real():
    class GoogleStyleFeatures(object):  # e.g. built by hand without the attribute
        def __init__(self, label_id):
            self.input_ids, self.input_mask, self.segment_ids = [1] * SEQ, [1] * SEQ, [0] * SEQ
            self.label_id = label_id

    batches, _ = run(input_fn_builder([GoogleStyleFeatures(0), GoogleStyleFeatures(2)], SEQ,
                                      False, False, batch_size=2))
    assert rows(batches, "is_real_example") == [1, 1]
    assert rows(batches, "label_ids") == [0, 2]


def test_plain_estimator_passes_params_batch_size(written, tmp_path):
    """The Google colab's way: Estimator(params={"batch_size": N}) and input_fn(params)."""
    feats, path = written

    def model_fn(features, labels, mode, params):
        del labels, params
        step = tf.compat.v1.train.get_or_create_global_step()
        return tf.estimator.EstimatorSpec(
            mode, predictions={"label_ids": features["label_ids"],
                               "is_real": features["is_real_example"]},
            loss=tf.constant(0.0), train_op=tf.compat.v1.assign_add(step, 1))

    estimator = tf.estimator.Estimator(model_fn, model_dir=str(tmp_path / "model"),
                                       params={"batch_size": 2})
    for input_fn in (input_fn_builder(feats, SEQ, False, False),
                     file_based_input_fn_builder(path, SEQ, False, False)):
        predictions = list(estimator.predict(input_fn, yield_single_examples=True))
        assert [int(p["label_ids"]) for p in predictions] == [0, 1, 2, 0, 1]


def test_doctests():
    results = doctest.testmod(inputs)
    assert results.failed == 0 and results.attempted >= 1


# ---------------------------------------------------------------------------------------------
# Dynamic padding and length buckets
# ---------------------------------------------------------------------------------------------

LONG_SEQ = 40


def varied_examples(count):
    """Examples of 1 to 30 words (lengths 3 to 32 with [CLS]/[SEP]), in a mixed order."""
    return [InputExample("v-%d" % i,
                         " ".join("w%d" % ((i + j) % 30) for j in range(1 + i * 7 % 30)),
                         None, LABELS[i % 3]) for i in range(count)]


@pytest.fixture(scope="module")
def varied(tokenizer, tmp_path_factory):
    examples = varied_examples(37)
    path = str(tmp_path_factory.mktemp("varied") / "eval.tf_record")
    file_based_convert_examples_to_features(examples, LABELS, LONG_SEQ, tokenizer, path,
                                            show_progress=False)
    feats = convert_examples_to_features(examples, LABELS, LONG_SEQ, tokenizer,
                                         show_progress=False)
    return feats, path


def real_length(row):
    return int(np.max(np.nonzero(row)[0])) + 1


@pytest.mark.parametrize("source", ["file", "memory"])
def test_dynamic_batches_are_the_static_batches_trimmed_to_a_multiple_of_8(varied, source):
    feats, path = varied

    def build(**kwargs):
        if source == "file":
            return file_based_input_fn_builder(path, LONG_SEQ, False, False, batch_size=5,
                                               **kwargs)
        return input_fn_builder(feats, LONG_SEQ, False, False, batch_size=5, **kwargs)

    static, _ = run(build())
    dynamic, dataset = run(build(dynamic_padding=True))
    assert dataset.output_shapes["input_ids"].as_list() == [None, None]
    assert len(static) == len(dynamic) == 8
    widths = set()
    for full, trimmed in zip(static, dynamic):
        width = trimmed["input_ids"].shape[1]
        widths.add(width)
        longest = max(real_length(row) for row in full["input_mask"])
        assert width == min(LONG_SEQ, -(-longest // 8) * 8)  # multiple of 8, capped
        for key in ("input_ids", "input_mask", "segment_ids"):
            assert trimmed[key].shape == (len(full["label_ids"]), width)
            np.testing.assert_array_equal(trimmed[key], full[key][:, :width])
            assert not full[key][:, width:].any()  # only padding was cut
        for key in ("label_ids", "is_real_example"):
            np.testing.assert_array_equal(trimmed[key], full[key])
    assert len(widths) >= 2 and max(widths) < LONG_SEQ  # several widths, all below 40


def test_trim_batch_keeps_masks_with_holes_and_padding_only_batches():
    with tf.Graph().as_default(), tf.compat.v1.Session() as session:
        mask = tf.constant([[1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]] * 2)
        batch = {"input_ids": mask, "input_mask": mask, "segment_ids": mask}
        assert session.run(inputs.sequence_lengths(mask)).tolist() == [3, 3]
        assert session.run(inputs.trim_batch(batch, 12)["input_ids"]).shape == (2, 8)
        assert session.run(inputs.trim_batch(batch, 5)["input_ids"]).shape == (2, 5)
        zeros = {key: tf.zeros([2, 12], tf.int32) for key in batch}
        assert session.run(inputs.trim_batch(zeros, 12)["input_mask"]).shape == (2, 1)


def bucket_of(length, bounds):
    return sum(length > bound for bound in bounds)


def test_length_buckets_in_eval_mode_yield_every_example_once_per_bucket(varied):
    _, path = varied
    batches, _ = run(file_based_input_fn_builder(path, LONG_SEQ, False, False, batch_size=4,
                                                 dynamic_padding=True, length_buckets="10,20"))
    seen = []
    for batch in batches:
        lengths = [real_length(row) for row in batch["input_mask"]]
        assert len({bucket_of(length, [10, 20]) for length in lengths}) == 1
        assert batch["input_ids"].shape[1] == min(LONG_SEQ, -(-max(lengths) // 8) * 8)
        seen.extend(tuple(row[:real_length(row)]) for row in batch["input_ids"])
    feats, _ = varied
    expected = [tuple(f.input_ids[:sum(f.input_mask)]) for f in feats]
    assert sorted(seen) == sorted(expected) and seen != expected  # all, once, regrouped


@pytest.mark.parametrize("source", ["file", "memory"])
def test_length_buckets_in_training_are_seeded(varied, source):
    feats, path = varied

    def order(seed):
        if source == "file":
            fn = file_based_input_fn_builder(path, LONG_SEQ, True, True, batch_size=4, seed=seed,
                                             dynamic_padding=True, length_buckets=[12, 24])
        else:
            fn = input_fn_builder(feats, LONG_SEQ, True, True, batch_size=4, seed=seed,
                                  dynamic_padding=True, length_buckets=[12, 24])
        batches, dataset = run(fn, max_batches=6)
        assert dataset.output_shapes["input_ids"].as_list() == [4, None]
        for batch in batches:
            assert len({bucket_of(real_length(r), [12, 24]) for r in batch["input_mask"]}) == 1
        return [batch["input_ids"].tolist() for batch in batches]

    assert order(3) == order(3)
    assert order(3) != order(4)


@pytest.mark.parametrize("buckets, dynamic, message", [
    ("10,x", True, "'x'"), ("0", True, "[1, 40)"), ([40], True, "[1, 40)"),
    ("10", False, "needs dynamic_padding=True")])
def test_bad_length_buckets_fail_when_the_input_fn_is_built(varied, buckets, dynamic, message):
    feats, path = varied
    with pytest.raises(BertTF1Error, match="length_buckets") as error:
        file_based_input_fn_builder(path, LONG_SEQ, True, True, batch_size=4,
                                    dynamic_padding=dynamic, length_buckets=buckets)
    assert message in str(error.value)
    with pytest.raises(BertTF1Error, match="length_buckets"):
        input_fn_builder(feats, LONG_SEQ, True, True, batch_size=4, dynamic_padding=dynamic,
                         length_buckets=buckets)


def batch_mean_of_means(batches):
    """Estimator's eval `loss` of a per-example value (here: the mean token id): the mean over
    batches of each batch's mean."""
    means = [np.mean([row[:real_length(row)].mean() for row in batch["input_ids"]])
             for batch in batches]
    return float(np.mean(means))


def test_length_sorted_eval_keeps_batch_sizes_windows_and_the_last_batch(varied, monkeypatch):
    """Windows of 2 batches of 4 (8 examples) sorted by length; 37 = 4 x 8 + 5, so the last
    window is one batch of 4 plus the file order's partial batch of 1, left in place."""
    _, path = varied
    monkeypatch.setattr(inputs, "SORT_WINDOW_BATCHES", 2)
    plain, _ = run(file_based_input_fn_builder(path, LONG_SEQ, False, False, batch_size=4,
                                               dynamic_padding=True))
    ordered, dataset = run(file_based_input_fn_builder(
        path, LONG_SEQ, False, False, batch_size=4, dynamic_padding=True, sort_by_length=True))
    assert dataset.output_shapes["input_ids"].as_list() == [None, None]
    assert [len(b["label_ids"]) for b in ordered] == [len(b["label_ids"]) for b in plain] == \
        [4] * 9 + [1]
    for key in ("input_ids", "label_ids", "is_real_example"):
        np.testing.assert_array_equal(ordered[-1][key], plain[-1][key])

    def examples(batches):
        return [(tuple(row[:real_length(row)]), int(label)) for batch in batches
                for row, label in zip(batch["input_ids"], batch["label_ids"])]

    for start in range(0, 10, 2):  # window by window: the same examples, sorted by length
        window = examples(ordered[start:start + 2])
        assert sorted(window) == sorted(examples(plain[start:start + 2]))
        whole = window[:len(window) - len(window) % 4]
        assert [len(ids) for ids, _ in whole] == sorted(len(ids) for ids, _ in whole)
    for batch in ordered:
        longest = max(real_length(row) for row in batch["input_mask"])
        assert batch["input_ids"].shape[1] == min(LONG_SEQ, -(-longest // 8) * 8)
    assert sum(b["input_ids"].size for b in ordered) < sum(b["input_ids"].size for b in plain)
    # Same batch sizes, same partial batch: Estimator's mean of batch means is unchanged ...
    assert batch_mean_of_means(ordered) == pytest.approx(batch_mean_of_means(plain), abs=1e-12)
    # ... which per-bucket partial batches change.
    bucketed, _ = run(file_based_input_fn_builder(path, LONG_SEQ, False, False, batch_size=4,
                                                  dynamic_padding=True, length_buckets="10,20"))
    assert abs(batch_mean_of_means(bucketed) - batch_mean_of_means(plain)) > 1e-3


@pytest.mark.parametrize("kwargs", [dict(drop_remainder=True), dict(length_buckets="10"),
                                    dict(dynamic_padding=False),
                                    dict(is_training=True, drop_remainder=True,
                                         length_buckets="10"),
                                    dict(is_training=True, drop_remainder=True,
                                         dynamic_padding=False)])
def test_length_sorting_needs_dynamic_padding_no_buckets_and_in_eval_partial_batches(varied,
                                                                                     kwargs):
    _, path = varied
    arguments = dict(is_training=False, drop_remainder=False, dynamic_padding=True)
    arguments.update(kwargs)
    with pytest.raises(BertTF1Error, match="sort_by_length needs dynamic_padding=True"):
        file_based_input_fn_builder(path, LONG_SEQ, batch_size=4, sort_by_length=True,
                                    **arguments)


def test_length_sorted_training_groups_windows_and_shuffles_their_batches(varied, monkeypatch):
    """Training with sort_by_length: windows of 3 batches of the seeded shuffled stream, each
    window's examples sorted by length and cut into full batches, which then come in shuffled
    order; the examples seen per window are the unsorted stream's, and the order is seeded."""
    _, path = varied
    monkeypatch.setattr(inputs, "SORT_WINDOW_BATCHES", 3)

    def stream(seed, sort, count=12):
        fn = file_based_input_fn_builder(path, LONG_SEQ, True, True, batch_size=4, seed=seed,
                                         dynamic_padding=True, sort_by_length=sort)
        batches, dataset = run(fn, max_batches=count)
        assert dataset.output_shapes["input_ids"].as_list() == [4, None]
        return batches

    def examples(batches):
        return collections.Counter((tuple(row[:real_length(row)]), int(label))
                                   for batch in batches
                                   for row, label in zip(batch["input_ids"], batch["label_ids"]))

    plain, grouped = stream(3, False, count=15), stream(3, True)
    # The batch shuffle draws from a buffer of 3 batches: the first 12 batches out come from
    # the first 15 batches (5 windows) of the unsorted stream.
    assert not examples(grouped) - examples(plain)
    plain = plain[:12]
    spans = [max(real_length(r) for r in b["input_mask"]) -
             min(real_length(r) for r in b["input_mask"]) for b in grouped]
    plain_spans = [max(real_length(r) for r in b["input_mask"]) -
                   min(real_length(r) for r in b["input_mask"]) for b in plain]
    assert sum(spans) < sum(plain_spans) / 2
    for batch in grouped:
        longest = max(real_length(row) for row in batch["input_mask"])
        assert batch["input_ids"].shape[1] == min(LONG_SEQ, -(-longest // 8) * 8)
    assert sum(b["input_ids"].size for b in grouped) < sum(b["input_ids"].size for b in plain)
    widths = [b["input_ids"].shape[1] for b in grouped]
    assert any(a > b for a, b in zip(widths, widths[1:]))  # not shortest first throughout

    def ids(batches):
        return [b["input_ids"].tolist() for b in batches]

    assert ids(stream(3, True)) == ids(grouped)
    assert ids(stream(4, True)) != ids(grouped)


def test_length_sorted_training_windows_span_at_most_one_pass_of_the_data(varied, monkeypatch):
    """The window is sized from the sidecar's example count (37 examples, batches of 4: at
    most 9 batches), so a small data set's copies do not end up in the same batches."""
    _, path = varied
    asked = []

    def window(num_examples, batch_size):
        asked.append((num_examples, batch_size))
        return inputs.SORT_WINDOW_BATCHES

    monkeypatch.setattr(inputs, "training_sort_window", window)
    run(file_based_input_fn_builder(path, LONG_SEQ, True, True, batch_size=4, seed=1,
                                    dynamic_padding=True, sort_by_length=True), max_batches=1)
    assert asked == [(37, 4)]
    monkeypatch.undo()
    assert inputs.training_sort_window(37, 4) == 9


@pytest.mark.parametrize("regrouping", [{}, dict(sort_by_length=True),
                                        dict(length_buckets="10,20")])
def test_example_index_is_each_records_file_position_before_regrouping(varied, monkeypatch,
                                                                       regrouping):
    """37 records; windows of 2 batches of 4 and parse chunks of 8, so several windows and
    chunks are numbered: every example carries its own position, each position once."""
    feats, path = varied
    monkeypatch.setattr(inputs, "SORT_WINDOW_BATCHES", 2)
    monkeypatch.setattr(inputs, "_PARSE_CHUNK", 8)
    batches, dataset = run(file_based_input_fn_builder(
        path, LONG_SEQ, False, False, batch_size=4, dynamic_padding=True,
        with_example_index=True, **regrouping))
    assert dataset.output_types[outputs.EXAMPLE_INDEX] == tf.int32
    assert dataset.output_shapes[outputs.EXAMPLE_INDEX].as_list() == [None]
    positions = rows(batches, outputs.EXAMPLE_INDEX)
    assert sorted(positions) == list(range(len(feats)))
    for batch in batches:
        assert batch[outputs.EXAMPLE_INDEX].shape == batch["label_ids"].shape
        for index, ids, label in zip(batch[outputs.EXAMPLE_INDEX], batch["input_ids"],
                                     batch["label_ids"]):
            length = real_length(ids)
            assert ids[:length].tolist() == feats[index].input_ids[:length]
            assert sum(feats[index].input_mask) == length and label == feats[index].label_id
    if not regrouping:
        assert positions == list(range(len(feats)))  # file order, numbered in order
    else:
        assert positions != list(range(len(feats)))  # regrouped, and still numbered by file
    if regrouping.get("sort_by_length"):
        # Window w holds the file's records 8w .. 8w + 7, its whole batches sorted by length.
        for start in range(0, len(positions), 8):
            window = positions[start:start + 8]
            assert sorted(window) == list(range(start, min(start + 8, len(feats))))
            whole = window[:len(window) - len(window) % 4]
            lengths = [sum(feats[i].input_mask) for i in whole]
            assert lengths == sorted(lengths)
        assert positions[-1] == len(feats) - 1  # the file's partial batch stays last


def test_example_index_is_added_only_when_asked_and_never_in_training(varied):
    _, path = varied
    _, dataset = run(file_based_input_fn_builder(path, LONG_SEQ, False, False, batch_size=4,
                                                 dynamic_padding=True, sort_by_length=True),
                     max_batches=1)
    assert outputs.EXAMPLE_INDEX not in dataset.output_shapes
    with pytest.raises(BertTF1Error, match="with_example_index .* not with is_training"):
        file_based_input_fn_builder(path, LONG_SEQ, True, True, batch_size=4,
                                    with_example_index=True)


def test_static_padding_stays_the_default_of_the_builders(varied):
    _, path = varied
    _, dataset = run(file_based_input_fn_builder(path, LONG_SEQ, True, True, batch_size=4),
                     max_batches=1)
    assert dataset.output_shapes["input_ids"].as_list() == [4, LONG_SEQ]


@pytest.mark.parametrize("regrouping", [{}, dict(length_buckets=[12, 24]),
                                        dict(sort_by_length=True)])
def test_resumed_training_input_continues_where_the_restored_step_stopped(varied, regrouping):
    """skip_examples = steps * batch: the resumed stream is the uninterrupted one from that
    step on, with length buckets too (they hold examples back in partly filled windows) and
    with length-sorted windows."""
    _, path = varied

    def batches(skip, count):
        fn = file_based_input_fn_builder(path, LONG_SEQ, True, True, batch_size=4, seed=5,
                                         dynamic_padding=True, skip_examples=skip,
                                         **regrouping)
        return [batch["input_ids"].tolist() for batch in run(fn, max_batches=count)[0]]

    uninterrupted = batches(0, 9)
    assert batches(3 * 4, 6) == uninterrupted[3:]
    assert batches(0, 6) != uninterrupted[3:]  # the skip is what aligns them
