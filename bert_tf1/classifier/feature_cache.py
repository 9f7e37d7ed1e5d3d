"""A content-addressed cache of classifier TFRecords, shared by every output_dir.

Converting 25,000 IMDB reviews takes minutes; a second run on the same data (another seed,
learning rate or output_dir) needs the very same records. Each record written by
features.file_based_convert_examples_to_features is also stored under a key that covers
everything its bytes depend on:

  sha256(cache format, features.META_FORMAT, the examples' guid/texts/labels in order, the
         tokenizer's vocab and casing, max_seq_length, truncation, label list / regression)

so a hit can never be stale: any change of data, vocab, do_lower_case, length, truncation,
labels or feature format gives another key. The cheap check left is that the entry is whole:
its sidecar must match the key's settings and its size the recorded byte count (an entry is
written atomically, record first, sidecar last, so an interrupted store is never trusted).

Location: `cache_dir` argument (--feature_cache_dir), else $BERT_TF1_CACHE, else
~/.cache/bert_tf1/features; "none" turns the cache off. Entries are `<dir>/<key[:2]>/<key>
.tf_record` plus `.meta.json`; delete the directory to reclaim the space.

    >>> ensure_cached_tfrecord(examples, ["neg", "pos"], 128, tokenizer,
    ...                        "out/train.tf_record")  # doctest: +SKIP
    {'status': 'reused', 'source': '/root/.cache/bert_tf1/features/3f/3f...tf_record', ...}
"""
import hashlib
import json
import os

import tensorflow as tf

from bert_tf1.classifier import features as features_lib
from bert_tf1.runtime import atomic_io

CACHE_ENV = "BERT_TF1_CACHE"
DEFAULT_CACHE_DIR = os.path.join("~", ".cache", "bert_tf1", "features")
#: Bump when the cache layout changes (the record format has features.META_FORMAT).
CACHE_FORMAT = "bert_tf1.classifier.feature_cache/1"
DISABLED = ("none", "off", "false", "0")


def resolve_cache_dir(cache_dir=None):
    """The cache directory to use, or None when the cache is off.

    Args:
      cache_dir: a path (local, gs://, s3://), "none" (off), or None: then $BERT_TF1_CACHE
        (which may also be "none"), else ~/.cache/bert_tf1/features.

    >>> resolve_cache_dir("none") is None
    True
    """
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or DEFAULT_CACHE_DIR
    if not cache_dir or cache_dir.strip().lower() in DISABLED:
        return None
    return cache_dir if "://" in cache_dir else os.path.expanduser(cache_dir)


def cache_key(examples, label_list, max_seq_length, tokenizer, truncation="head"):
    """The entry's key (sha256 hex), or None when the tokenizer cannot be fingerprinted.

    Args: as features.file_based_convert_examples_to_features.
    """
    return _key(features_lib.expected_meta(label_list, max_seq_length, tokenizer, truncation),
                lambda: features_lib.examples_fingerprint(examples))


def _key(expected, examples_sha256):
    """cache_key from the expected sidecar fields and a function giving the examples' sha256
    (not called when the tokenizer cannot be fingerprinted)."""
    if expected["tokenizer_sha256"] is None:
        return None
    content = dict(expected, cache_format=CACHE_FORMAT, examples_sha256=examples_sha256())
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def entry_path(cache_dir, key):
    """Path of the cached TFRecord of `key` (its sidecar is features.meta_path of it)."""
    return os.path.join(cache_dir, key[:2], key + ".tf_record")


def _entry_is_whole(path, expected):
    meta = features_lib.read_tfrecord_meta(path)
    if meta is None or any(meta.get(name) != value for name, value in expected.items()):
        return None
    try:
        if tf.io.gfile.stat(path).length != meta.get("record_bytes"):
            return None
    except tf.errors.OpError:
        return None
    return meta


def _copy_with_sidecar(source, target, meta):
    """Copies a record, then writes its sidecar: both atomically, sidecar last."""
    parent = os.path.dirname(target)
    if parent and "://" not in target and not tf.io.gfile.exists(parent):
        tf.io.gfile.makedirs(parent)
    atomic_io.remove_if_exists(features_lib.meta_path(target))
    with atomic_io.replaced_on_success(target) as temporary:
        tf.io.gfile.copy(source, temporary, overwrite=True)
    atomic_io.write_text_atomically(features_lib.meta_path(target),
                                    json.dumps(meta, indent=2, sort_keys=True))


def ensure_cached_tfrecord(examples, label_list, max_seq_length, tokenizer, output_file,
                           truncation="head", show_progress=True, num_workers=1, cache_dir=None):
    """features.ensure_tfrecord through the shared cache.

    1. output_file is current (features.tfrecord_is_current): nothing to do.
    2. The cache holds a whole entry for these arguments: it is copied to output_file (with
       its sidecar) and one INFO line says it was reused and from where.
    3. Otherwise the examples are converted into output_file (num_workers processes) and the
       result is stored in the cache (a failure to store is a warning, not an error).

    Args: as features.file_based_convert_examples_to_features, plus
      cache_dir: see resolve_cache_dir ("none": steps 1 and 3 only, nothing stored).

    Returns:
      dict: status ("current", "reused" or "converted"), source (the cache entry read or
      written, or None), key (or None).
    """
    examples = list(examples)  # hashed (once), then converted
    if features_lib.tfrecord_is_current(examples, label_list, max_seq_length, tokenizer,
                                        output_file, truncation):
        return {"status": "current", "source": None, "key": None}
    directory = resolve_cache_dir(cache_dir)
    expected = features_lib.expected_meta(label_list, max_seq_length, tokenizer, truncation)
    fingerprint = []  # the examples' sha256 once computed: the writer needs it too

    def examples_sha256():
        fingerprint.append(features_lib.examples_fingerprint(examples))
        return fingerprint[0]

    key = _key(expected, examples_sha256) if directory else None
    if key:
        entry = entry_path(directory, key)
        meta = _entry_is_whole(entry, expected)
        if meta is not None and meta.get("num_examples") == len(examples):
            _copy_with_sidecar(entry, output_file, meta)
            tf.compat.v1.logging.info("features: reused %s (%d examples, cache key %s...) for "
                                      "%s: no conversion", entry, len(examples), key[:12],
                                      output_file)
            return {"status": "reused", "source": entry, "key": key}
    meta = features_lib.write_tfrecord(
        examples, label_list, max_seq_length, tokenizer, output_file, truncation,
        show_progress, num_workers, expected, fingerprint[0] if fingerprint else None)
    if not key:
        return {"status": "converted", "source": None, "key": None}
    try:
        _copy_with_sidecar(output_file, entry, meta)
    except (OSError, tf.errors.OpError) as error:
        tf.compat.v1.logging.warning("features: could not store %s in the cache %s: %s",
                                     output_file, directory, error)
        return {"status": "converted", "source": None, "key": key}
    return {"status": "converted", "source": entry, "key": key}
