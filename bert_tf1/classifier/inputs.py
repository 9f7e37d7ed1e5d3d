"""input_fn builders for tf.estimator.Estimator and TPUEstimator (TF 1.15 tf.data).

Same public names and leading arguments as google-research/bert's run_classifier.py
(`input_fn_builder`, `file_based_input_fn_builder`); every added argument is a keyword.

Every input_fn yields a dict of Tensors (batch dimension `B` is static when drop_remainder):
  input_ids:       int32 [B, seq_length]
  input_mask:      int32 [B, seq_length]
  segment_ids:     int32 [B, seq_length]
  label_ids:       int32 [B] (float32 [B] when is_regression)
  is_real_example: int32 [B], 0 for padding examples (weight metrics with it)
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
"""
import numpy as np
import tensorflow as tf

from bert_tf1.classifier.features import read_tfrecord_meta
from bert_tf1.errors import BertTF1Error

_AUTOTUNE = tf.data.experimental.AUTOTUNE


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
                     batch_size=None, shuffle_buffer_size=None, seed=None):
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

    Returns:
      input_fn(params=None) -> tf.data.Dataset of dicts (see module docstring for keys).

    >>> input_fn = input_fn_builder(features, 128, True, True, batch_size=32, seed=1)
    ... # doctest: +SKIP
    """
    seq_length = positive_int("seq_length", seq_length)
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
        dataset = dataset.batch(size, drop_remainder=drop_remainder)
        return dataset.prefetch(_AUTOTUNE)

    return input_fn


def _check_against_meta(input_file, seq_length, is_regression):
    if not isinstance(input_file, str):
        return
    meta = read_tfrecord_meta(input_file)
    if meta is None:  # e.g. a record written by Google's code: nothing to check against
        return
    if meta.get("max_seq_length") != seq_length:
        raise BertTF1Error("%s: written with max_seq_length %r, but seq_length=%d was given"
                           % (input_file, meta.get("max_seq_length"), seq_length))
    if bool(meta.get("is_regression")) != bool(is_regression):
        raise BertTF1Error("%s: written for a %s task, but is_regression=%r was given"
                           % (input_file, "regression" if meta.get("is_regression") else
                              "classification", is_regression))


def file_based_input_fn_builder(input_file, seq_length, is_training, drop_remainder,
                                is_regression=False, batch_size=None, shuffle_buffer_size=100,
                                seed=None, skip_examples=0):
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
      skip_examples: training only: drop this many records of the repeated, shuffled stream
        first (a resumed run skips what its restored global step consumed, so it sees the
        batches an uninterrupted run would; bert_tf1.runtime.exact_resume).

    Returns:
      input_fn(params=None) -> tf.data.Dataset of dicts (see module docstring for keys).

    >>> input_fn = file_based_input_fn_builder("out/train.tf_record", 128, True, True)
    ... # doctest: +SKIP
    """
    seq_length = positive_int("seq_length", seq_length)
    buffer_size = positive_int("shuffle_buffer_size", shuffle_buffer_size)
    if batch_size is not None:
        positive_int("batch_size", batch_size)
    _check_against_meta(input_file, seq_length, is_regression)
    spec = name_to_features(seq_length, is_regression)

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
            if skip_examples:
                dataset = dataset.skip(skip_examples)
        # Batch, then parse the whole batch at once (vectorised; order is kept).
        dataset = dataset.batch(size, drop_remainder=drop_remainder)
        dataset = dataset.map(_decode_batch, num_parallel_calls=_AUTOTUNE)
        return dataset.prefetch(_AUTOTUNE)

    return input_fn
