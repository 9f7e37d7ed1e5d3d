"""input_fn builders for tf.estimator.Estimator and TPUEstimator (TF 1.15 tf.data).

Same public names and leading arguments as google-research/bert's run_classifier.py
(`input_fn_builder`, `file_based_input_fn_builder`); every added argument is a keyword.

Every input_fn yields a dict of Tensors (batch dimension `B` is static when drop_remainder):
  input_ids:       int32 [B, seq_length]
  input_mask:      int32 [B, seq_length]
  segment_ids:     int32 [B, seq_length]
  label_ids:       int32 [B] (float32 [B] when is_regression)
  is_real_example: int32 [B], 0 for padding examples (weight metrics with it)
  example_index:   int32 [B], each record's position in the file (0-based); only from the
                   file-based builder with with_example_index=True (predict regrouped by length)
All integers are int32 because TPUs support only int32 (tf.train.Example stores int64).

Batch size: TPUEstimator passes params["batch_size"] (per shard on a TPU) and reserves that key;
plain tf.estimator.Estimator passes the user's `params`. Give the builder `batch_size=` or put
"batch_size" in the Estimator's params (the Google colab's way); if both are given they must be
equal, which catches a global batch size given where TPUEstimator wants its per-shard one.

Differences from Google's builders (defects fixed):
- The in-memory builder includes is_real_example (Google's silently dropped it, so padded
  eval/predict batches counted padding as real) and by default shuffles over the whole data set
  instead of a 100-example buffer (a label-sorted list stayed nearly sorted).
- Shuffles take a `seed`, so training order is reproducible.
- Records are parsed a batch at a time (vectorised) and the pipeline prefetches.

Dynamic padding (`dynamic_padding=True`; off by default here, as Google's builders, on by
default in run_classifier on CPU/GPU): records stay padded to max_seq_length as before (so old
records, Google's included, still read), and each batch is sliced to its longest example rounded
up to a multiple of PAD_MULTIPLE, i.e. `seq_length` above becomes the batch's own
L <= max_seq_length (static shape None). An example's length is read from its input_mask (one
past its last 1), so nothing real is ever cut: the dropped columns are padding, which BERT's
attention mask already gives exactly zero weight, so outputs equal the fixed-padding ones up to
float summation order. `length_buckets` (boundaries, e.g. [32, 64]) also groups examples of
similar length into the same batch (seeded shuffle first, so the order stays reproducible).
TPUs need static shapes: keep dynamic_padding False there.

Length-sorted training (`sort_by_length=True` with is_training, opt-in: it changes which examples
share a batch): the repeated, shuffled stream is read in windows of SORT_WINDOW_BATCHES batches
(fewer for a data set smaller than that: training_sort_window),
each window is sorted by length and cut into batches, and the batches are shuffled (seeded) so
that a window's short and long batches come in random order, not shortest first. Batches hold
examples of nearly the same length, as with buckets, without boundaries to choose (the grouping
of length-grouped samplers such as Hugging Face's `group_by_length`).

Length-sorted evaluation and prediction (`sort_by_length=True`, file-based builder, not training):
the records are read in windows of SORT_WINDOW_BATCHES batches and each window is sorted by length
(stable) before it is cut into batches, so every batch holds examples of nearly the same length and
is padded only to them. The batch sizes stay those of the file order: every window but the last
holds whole batches, and the last window's final partial batch (examples N - N % B .. N - 1) stays
as it is. So eval metrics, which are sums over examples, are unchanged, and so is Estimator's
`loss` key (a mean of per-batch means: with equal batch sizes and the same partial batch,
regrouping the full batches leaves it unchanged), up to float summation order. Buckets, instead,
leave a partial batch per bucket and shift `loss`. The order of examples changes, so a predict
input_fn also asks for `with_example_index=True`: each example then carries its position in the
file (numbered before sorting), the model_fn passes it through to the predictions, and
runtime.outputs.real_predictions puts the predictions back in file order by it.
"""
import numpy as np
import tensorflow as tf

from bert_tf1.classifier.features import read_tfrecord_meta
from bert_tf1.errors import BertTF1Error
from bert_tf1.runtime.outputs import EXAMPLE_INDEX

_AUTOTUNE = tf.data.experimental.AUTOTUNE

#: Dynamic padding rounds each batch's length up to a multiple of this (tensor-core and
#: vector-unit friendly, and fewer distinct shapes to compile kernels for).
PAD_MULTIPLE = 8

#: The feature keys holding one value per token.
SEQUENCE_KEYS = ("input_ids", "input_mask", "segment_ids")

# Records are parsed this many at a time before bucketing (vectorised parse, then unbatch).
_PARSE_CHUNK = 256

#: Length-sorted evaluation and prediction sort windows of this many batches (64 x 32 = 2,048
#: examples, ~3 MB of int32 at 128): wide enough that each batch's examples have nearly one
#: length, small enough to keep the first batch's wait and the memory small.
SORT_WINDOW_BATCHES = 64


def positive_int(name, value):
    """`value` as an int if it is a positive integer, else BertTF1Error naming `name`."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BertTF1Error("%s: expected a positive integer, found %r" % (name, value))
    return int(value)


def resolve_batch_size(batch_size, params):
    """Returns the batch size from the builder's `batch_size` or from `params["batch_size"]`.

    >>> resolve_batch_size(None, {"batch_size": 8}), resolve_batch_size(4, {})
    (8, 4)
    """
    from_params = None
    if params is not None and "batch_size" in params:
        from_params = params["batch_size"]
    if batch_size is None and from_params is None:
        raise BertTF1Error(
            "input_fn: no batch size. Pass batch_size=... to the input_fn builder (plain "
            "tf.estimator.Estimator), put 'batch_size' in the Estimator's params, or use "
            "TPUEstimator with train/eval/predict_batch_size (it sets params['batch_size'])")
    if batch_size is not None and from_params is not None and from_params != batch_size:
        raise BertTF1Error(
            "input_fn: batch_size=%r given to the builder but params['batch_size']=%r (under "
            "TPUEstimator that is the per-shard size): give only one" % (batch_size, from_params))
    if batch_size is None:
        return positive_int("params['batch_size']", from_params)
    return positive_int("batch_size", batch_size)


def parse_length_buckets(length_buckets, max_seq_length):
    """Bucket boundaries as a sorted list of ints, or [] (no bucketing).

    Args:
      length_buckets: None, "", a comma-separated string ("32,64") or a list of ints/strings:
        upper bounds (inclusive) of every bucket but the last, which takes the rest up to
        max_seq_length. Each must be in [1, max_seq_length).

    >>> parse_length_buckets("64,32", 128), parse_length_buckets(None, 128)
    ([32, 64], [])
    """
    if length_buckets is None or length_buckets == "":
        return []
    items = length_buckets.split(",") if isinstance(length_buckets, str) else \
        list(length_buckets)
    bounds = []
    for item in items:
        text = str(item).strip()
        if not text.isdigit() or not 1 <= int(text) < max_seq_length:
            raise BertTF1Error("length_buckets: expected comma-separated integers in [1, %d) "
                               "(max_seq_length %d), found %r in %r"
                               % (max_seq_length, max_seq_length, item, length_buckets))
        bounds.append(int(text))
    return sorted(set(bounds))


def sequence_lengths(input_mask):
    """Per-example length: one past the position of the last nonzero mask value (0 if none).

    Args:
      input_mask: int Tensor of shape [batch_size, seq_length] (or [seq_length]).

    Returns:
      int32 Tensor of shape [batch_size] (or a scalar).
    """
    mask = tf.cast(tf.not_equal(input_mask, 0), tf.int32)
    positions = tf.range(1, tf.shape(input_mask)[-1] + 1, dtype=tf.int32)
    return tf.reduce_max(mask * positions, axis=-1)


def _graph_code(function):
    """`function` for tf.data as written: it is plain graph code (no Python control flow on
    tensors), so AutoGraph need not convert it. Converting reads its source and scans every
    loaded module, which imports tf.contrib (~1 s CPU at start-up; issue 11)."""
    return tf.autograph.experimental.do_not_convert(function)


def trim_batch(batch, max_seq_length, multiple=PAD_MULTIPLE):
    """Slices a batch's sequence features to its longest example, rounded up to `multiple`.

    Args:
      batch: dict of Tensors; input_ids, input_mask, segment_ids of shape [B, max_seq_length].
      max_seq_length: int, the records' length (the trimmed length never exceeds it).

    Returns:
      a new dict: those three of shape [B, L] with L = min(max_seq_length, multiple *
      ceil(longest / multiple)) (static shape [B, None]); other keys unchanged.
    """
    longest = tf.reduce_max(sequence_lengths(batch["input_mask"]))
    length = tf.minimum((longest + multiple - 1) // multiple * multiple, max_seq_length)
    length = tf.maximum(length, 1)  # an all-padding batch (TPU-style padding rows) keeps a column
    trimmed = dict(batch)
    for key in SEQUENCE_KEYS:
        trimmed[key] = batch[key][:, :length]
    return trimmed


def _bucketed_batches(dataset, bounds, size, drop_remainder):
    """Groups single examples into batches of `size` of one length bucket each."""
    def bucket_of(example):
        boundaries = tf.constant(bounds, dtype=tf.int32)
        length = sequence_lengths(example["input_mask"])
        return tf.reduce_sum(tf.cast(length > boundaries, tf.int64))

    return dataset.apply(tf.data.experimental.group_by_window(
        key_func=_graph_code(bucket_of),
        reduce_func=_graph_code(
            lambda _, window: window.batch(size, drop_remainder=drop_remainder)),
        window_size=size))


def _sort_window(batch, size):
    """Sorts a window of parsed examples by length (stable), keeping its final partial batch.

    Args:
      batch: dict of Tensors with a leading dimension n (a window of the file, in order);
        input_mask int32 [n, seq_length].
      size: the batch size B.

    Returns:
      the same dict, rows reordered: the first n - n % B rows by ascending length, the last
      n % B rows (the file's final partial batch; none in a full window) in place.
    """
    count = tf.shape(batch["input_mask"])[0]
    whole = count - count % size
    lengths = sequence_lengths(batch["input_mask"][:whole])
    order = tf.concat([tf.argsort(lengths, stable=True), tf.range(whole, count)], axis=0)
    return {key: tf.gather(value, order) for key, value in batch.items()}


def _with_example_index(dataset, chunk):
    """Numbers the records of a dataset of parsed chunks by their position in the file.

    Args:
      dataset: tf.data.Dataset of dicts of Tensors, element k holding records k * chunk ..
        k * chunk + n - 1 of the file, in order (n = chunk for every element but the last);
        input_mask int32 [n, seq_length].
      chunk: int, the records per element (the `batch()` size that cut the file).

    Returns:
      the dataset with EXAMPLE_INDEX added to each element: int32 [n], k * chunk + [0 .. n-1].
    """
    def add(number, batch):
        count = tf.shape(batch["input_mask"])[0]
        indexed = dict(batch)
        indexed[EXAMPLE_INDEX] = tf.cast(number, tf.int32) * chunk + tf.range(count,
                                                                              dtype=tf.int32)
        return indexed

    return dataset.enumerate().map(_graph_code(add))


def _check_padding_args(dynamic_padding, length_buckets, seq_length):
    bounds = parse_length_buckets(length_buckets, seq_length)
    if bounds and not dynamic_padding:
        raise BertTF1Error("length_buckets=%r needs dynamic_padding=True (static shapes, e.g. "
                           "on a TPU, pad every batch to max_seq_length)" % (length_buckets,))
    return bounds


def name_to_features(seq_length, is_regression=False):
    """The tf.io parsing spec of the records written by features.file_based_convert_...()."""
    return {
        "input_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "input_mask": tf.io.FixedLenFeature([seq_length], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([seq_length], tf.int64),
        "label_ids": tf.io.FixedLenFeature([], tf.float32 if is_regression else tf.int64),
        "is_real_example": tf.io.FixedLenFeature([], tf.int64),
    }


def _features_to_arrays(features, seq_length, is_regression):
    features = list(features)
    if not features:
        raise BertTF1Error("input_fn_builder: features is empty")
    arrays = {}
    for key, attr in (("input_ids", "input_ids"), ("input_mask", "input_mask"),
                      ("segment_ids", "segment_ids")):
        rows = [getattr(f, attr) for f in features]
        for index, row in enumerate(rows):
            if len(row) != seq_length:
                raise BertTF1Error("input_fn_builder: feature %d has %s of length %d, expected "
                                   "seq_length %d" % (index, attr, len(row), seq_length))
        arrays[key] = np.asarray(rows, dtype=np.int32).reshape([len(features), seq_length])
    labels = [f.label_id for f in features]
    if is_regression:
        arrays["label_ids"] = np.asarray(labels, dtype=np.float32)
    else:
        for index, label in enumerate(labels):
            if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
                if not (isinstance(label, (float, np.floating)) and float(label).is_integer()):
                    raise BertTF1Error(
                        "input_fn_builder: feature %d has label_id %r, expected an integer "
                        "class index (pass is_regression=True for float labels)" % (index, label))
        arrays["label_ids"] = np.asarray(labels, dtype=np.int32)
    # Features built by Google's code or by hand may lack is_real_example: they are real.
    arrays["is_real_example"] = np.asarray(
        [int(bool(getattr(f, "is_real_example", True))) for f in features], dtype=np.int32)
    return arrays


def input_fn_builder(features, seq_length, is_training, drop_remainder, is_regression=False,
                     batch_size=None, shuffle_buffer_size=None, seed=None, dynamic_padding=False,
                     length_buckets=None):
    """Creates an `input_fn(params)` over a list of InputFeatures held in memory.

    The data become graph constants, so this suits small sets (GraphDefs are limited to 2 GB);
    use `file_based_input_fn_builder` for large ones.

    Args:
      features: list of features.InputFeatures (or any objects with the same attributes).
      seq_length: int, length of input_ids / input_mask / segment_ids.
      is_training: bool; True repeats forever and shuffles.
      drop_remainder: bool; True drops a final partial batch (needed on TPU).
      is_regression: bool; label_ids float32 instead of int32.
      batch_size: int or None (then params["batch_size"] is used; see module docstring).
      shuffle_buffer_size: int, or None for the whole data set (a true uniform shuffle).
      seed: int or None, the shuffle's op-level seed (same seed -> same order).
      dynamic_padding: bool; slice each batch to its longest example rounded up to
        PAD_MULTIPLE (see module docstring). False: every batch is [B, seq_length].
      length_buckets: bucket boundaries (see parse_length_buckets) to batch examples of
        similar length together; needs dynamic_padding. Changes the order of examples: not
        for predict.

    Returns:
      input_fn(params=None) -> tf.data.Dataset of dicts (see module docstring for keys).

    >>> input_fn = input_fn_builder(features, 128, True, True, batch_size=32, seed=1)
    ... # doctest: +SKIP
    """
    seq_length = positive_int("seq_length", seq_length)
    bounds = _check_padding_args(dynamic_padding, length_buckets, seq_length)
    arrays = _features_to_arrays(features, seq_length, is_regression)
    num_examples = len(arrays["label_ids"])
    buffer_size = num_examples if shuffle_buffer_size is None else \
        positive_int("shuffle_buffer_size", shuffle_buffer_size)
    if batch_size is not None:
        positive_int("batch_size", batch_size)

    def input_fn(params=None):
        """The input_fn: `params` as passed by (TPU)Estimator."""
        size = resolve_batch_size(batch_size, params)
        dataset = tf.data.Dataset.from_tensor_slices(
            {key: tf.constant(value, name=key) for key, value in arrays.items()})
        if is_training:
            dataset = dataset.repeat()
            dataset = dataset.shuffle(buffer_size=buffer_size, seed=seed)
        if bounds:
            dataset = _bucketed_batches(dataset, bounds, size, drop_remainder)
        else:
            dataset = dataset.batch(size, drop_remainder=drop_remainder)
        if dynamic_padding:
            dataset = dataset.map(_graph_code(lambda batch: trim_batch(batch, seq_length)))
        return dataset.prefetch(_AUTOTUNE)

    return input_fn


def _check_against_meta(input_file, seq_length, is_regression):
    """Returns the sidecar of `input_file` (None without one), checked against the arguments."""
    if not isinstance(input_file, str):
        return None
    meta = read_tfrecord_meta(input_file)
    if meta is None:  # e.g. a record written by Google's code: nothing to check against
        return None
    if meta.get("max_seq_length") != seq_length:
        raise BertTF1Error("%s: written with max_seq_length %r, but seq_length=%d was given"
                           % (input_file, meta.get("max_seq_length"), seq_length))
    if bool(meta.get("is_regression")) != bool(is_regression):
        raise BertTF1Error("%s: written for a %s task, but is_regression=%r was given"
                           % (input_file, "regression" if meta.get("is_regression") else
                              "classification", is_regression))
    return meta


def training_sort_window(num_examples, batch_size):
    """Batches per length-sorted training window: SORT_WINDOW_BATCHES, but no more than one pass
    over the data when its size is known. A window spanning several passes of a small data set
    holds several copies of each example, and sorting puts the copies (same length) into the
    same batches: with 320 examples in a 64-batch window (6.4 passes), 10 MiniLM steps then
    predicted one class for a whole dev set (52.1% twice; 57-61% with this bound).

    >>> [training_sort_window(count, 32) for count in (320, 100000, 20, None)]
    [10, 64, 1, 64]
    """
    if not num_examples:
        return SORT_WINDOW_BATCHES
    return max(1, min(SORT_WINDOW_BATCHES, num_examples // batch_size))


def file_based_input_fn_builder(input_file, seq_length, is_training, drop_remainder,
                                is_regression=False, batch_size=None, shuffle_buffer_size=100,
                                seed=None, dynamic_padding=False, length_buckets=None,
                                skip_examples=0, sort_by_length=False,
                                with_example_index=False):
    """Creates an `input_fn(params)` reading a TFRecord written by
    features.file_based_convert_examples_to_features (or by Google's function of that name).

    When the record has a `.meta.json` sidecar, seq_length and is_regression are checked against
    it now, instead of failing inside a session with a parse error.

    Args:
      input_file: path (local, gs://, s3://) or list of paths of TFRecord files.
      seq_length: int, the max_seq_length the records were written with.
      is_training: bool; True repeats forever and shuffles. Otherwise the order is the file's.
      drop_remainder: bool; True drops a final partial batch (needed on TPU).
      is_regression: bool; label_ids stored and returned as float.
      batch_size: int or None (then params["batch_size"] is used; see module docstring).
      shuffle_buffer_size: int, records held by the shuffle buffer (Google's 100). A buffer
        much smaller than the file does not mix a sorted file: shuffle the training examples
        before writing them, or raise this.
      seed: int or None, the shuffle's op-level seed (same seed -> same order).
      dynamic_padding, length_buckets: as in input_fn_builder.
      skip_examples: training only: drop this many records of the repeated, shuffled stream
        first (a resumed run skips what its restored global step consumed, so it sees the
        batches an uninterrupted run would; bert_tf1.runtime.exact_resume). With length
        buckets, skip_examples // batch size whole batches of the bucketed stream.
      sort_by_length: batch examples of similar length together by sorting windows of
        SORT_WINDOW_BATCHES batches (needs dynamic_padding; not with length_buckets).
        Evaluation and prediction (not drop_remainder): with the batch sizes of the file order
        (see module docstring); this changes the order of examples: predict with
        with_example_index=True and restore the file order from it. Training: windows of the
        shuffled stream, then the batches of each window shuffled (seeded); with
        skip_examples, skip_examples // batch size whole batches of that stream.
      with_example_index: not for training (a repeated, shuffled stream has no file
        positions): add EXAMPLE_INDEX, int32 [B], each record's 0-based position in the file,
        numbered before any regrouping (sort_by_length, length_buckets).

    Returns:
      input_fn(params=None) -> tf.data.Dataset of dicts (see module docstring for keys).

    >>> input_fn = file_based_input_fn_builder("out/train.tf_record", 128, True, True)
    ... # doctest: +SKIP
    """
    seq_length = positive_int("seq_length", seq_length)
    buffer_size = positive_int("shuffle_buffer_size", shuffle_buffer_size)
    if batch_size is not None:
        positive_int("batch_size", batch_size)
    bounds = _check_padding_args(dynamic_padding, length_buckets, seq_length)
    if sort_by_length and (bounds or not dynamic_padding or drop_remainder and not is_training):
        raise BertTF1Error("sort_by_length needs dynamic_padding=True and no length_buckets "
                           "(and, in evaluation and prediction, no drop_remainder)")
    if with_example_index and is_training:
        raise BertTF1Error("with_example_index numbers the records of one pass over the file "
                           "in order: not with is_training (repeated and shuffled)")
    meta = _check_against_meta(input_file, seq_length, is_regression)
    spec = name_to_features(seq_length, is_regression)
    regrouped = bool(bounds) or sort_by_length

    def _decode_batch(records):
        parsed = tf.io.parse_example(records, spec)
        return {name: tf.cast(tensor, tf.int32) if tensor.dtype == tf.int64 else tensor
                for name, tensor in parsed.items()}

    def input_fn(params=None):
        """The input_fn: `params` as passed by (TPU)Estimator."""
        size = resolve_batch_size(batch_size, params)
        dataset = tf.data.TFRecordDataset(input_file)
        if is_training:
            dataset = dataset.repeat()
            dataset = dataset.shuffle(buffer_size=buffer_size, seed=seed)
            if skip_examples and not regrouped:
                dataset = dataset.skip(skip_examples)
        if bounds:
            # Parse in chunks (vectorised), then regroup single examples by length.
            dataset = dataset.batch(_PARSE_CHUNK)
            dataset = dataset.map(_graph_code(_decode_batch), num_parallel_calls=_AUTOTUNE)
            if with_example_index:
                dataset = _with_example_index(dataset, _PARSE_CHUNK)
            dataset = dataset.apply(tf.data.experimental.unbatch())
            dataset = _bucketed_batches(dataset, bounds, size, drop_remainder)
        elif sort_by_length:
            # Parse a window at once, sort it by length, then cut it into batches. In eval and
            # predict a window holds whole batches of the file, so the batch boundaries are the
            # file order's; in training the windows come from the shuffled stream.
            window_batches = (training_sort_window((meta or {}).get("num_examples"), size)
                              if is_training else SORT_WINDOW_BATCHES)
            dataset = dataset.batch(size * window_batches)
            dataset = dataset.map(_graph_code(_decode_batch), num_parallel_calls=_AUTOTUNE)
            if with_example_index:  # numbered in file order, then sorted with the rest
                dataset = _with_example_index(dataset, size * window_batches)
            dataset = dataset.map(_graph_code(lambda window: _sort_window(window, size)))
            dataset = dataset.apply(tf.data.experimental.unbatch())
            dataset = dataset.batch(size, drop_remainder=drop_remainder)
            if is_training:
                # Shortest-first within every window would tie a step's length to its position.
                dataset = dataset.shuffle(window_batches,
                                          seed=None if seed is None else seed + 1)
        else:
            # Batch, then parse the whole batch at once (vectorised; order is kept).
            dataset = dataset.batch(size, drop_remainder=drop_remainder)
            dataset = dataset.map(_graph_code(_decode_batch), num_parallel_calls=_AUTOTUNE)
            if with_example_index:
                dataset = _with_example_index(dataset, size)
        if is_training and skip_examples and regrouped:
            # Regrouping holds examples back (buckets in partly filled windows, sorting a whole
            # window), so after k steps more than k * size records were read: skip the k
            # batches themselves (the regrouped stream is deterministic for a seeded shuffle).
            dataset = dataset.skip(skip_examples // size)
        if dynamic_padding:
            dataset = dataset.map(_graph_code(lambda batch: trim_batch(batch, seq_length)),
                                  num_parallel_calls=_AUTOTUNE)
        return dataset.prefetch(_AUTOTUNE)

    return input_fn
