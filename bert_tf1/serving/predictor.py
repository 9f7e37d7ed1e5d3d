"""Predictor: a warm session over an export of bert_tf1.serving.export.

    >>> from bert_tf1.serving import Predictor
    >>> predictor = Predictor("runs/imdb_export")  # doctest: +SKIP
    >>> predictor.predict(["a gripping film", ("premise", "hypothesis")])  # doctest: +SKIP
    [{'predicted_label': '1', 'probabilities': {'0': 0.08, '1': 0.92}}, ...]

Why it is fast: the graph and variables are loaded once (the IMDB notebook's getPrediction
pattern builds an Estimator graph and restores the checkpoint on every call), and each batch is
padded to its own longest sequence rather than max_seq_length (the attention mask makes the
padding irrelevant, so the probabilities are the run's; short sentences cost a fraction of 128
positions). Inputs are sorted by length before batching, so a batch holds similar lengths, and
results are returned in input order.

Why it is exact: features are made by classifier.features.convert_single_example with the run's
max_seq_length, truncation (head / tail / head+tail:N; pairs longest-first) and label list, and
the tokenizer is bert's FullTokenizer on the exported vocabulary and casing, or the kit's fast
tokenizer where it provably gives the same WordPieces (bert_tf1.modeling.tokenization).

Thread safety: tokenizers keep no state between calls; session.run is serialised by a lock
(TF's Session.run is thread-safe, but two batches at once only contend for the same cores).
"""
import os
import threading

import numpy as np
import tensorflow as tf
from google.protobuf import json_format

from bert_tf1 import compat
from bert_tf1.classifier import features
from bert_tf1.classifier.inputs import positive_int
from bert_tf1.data.examples import InputExample
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import tokenization as fast_tokenization
from bert_tf1.serving import export

DEFAULT_BATCH_SIZE = 32
# Keys accepted for the two texts of an input object, besides the task's own field names.
TEXT_A_KEYS = ("text_a", "text")
TEXT_B_KEYS = ("text_b",)
# convert_single_example logs its first five examples (ex_index < 5), formatting the ids eagerly;
# an index past them skips that cost on every call (the index appears in no other message here).
_UNLOGGED_INDEX = 1 << 30


class Encoded(object):
    """One input as the model sees it, before padding.

    Attributes:
      input_ids: list of int, [CLS] ... [SEP] (... [SEP]) WordPiece ids, length <= max_seq_length.
      segment_ids: list of int of the same length (0 first text, 1 second).
    """

    __slots__ = ("input_ids", "segment_ids")

    def __init__(self, input_ids, segment_ids):
        self.input_ids = input_ids
        self.segment_ids = segment_ids

    def __len__(self):
        return len(self.input_ids)


def pad_batch(encoded):
    """Pads a batch to its longest sequence.

    Args:
      encoded: list of Encoded.

    Returns:
      dict of int32 arrays input_ids, input_mask, segment_ids, each [len(encoded), longest].
    """
    width = max(len(item) for item in encoded)
    arrays = {name: np.zeros([len(encoded), width], dtype=np.int32)
              for name in export.SIGNATURE_INPUTS}
    for row, item in enumerate(encoded):
        length = len(item)
        arrays["input_ids"][row, :length] = item.input_ids
        arrays["input_mask"][row, :length] = 1
        arrays["segment_ids"][row, :length] = item.segment_ids
    return arrays


def _field_names(metadata, which, defaults):
    """Keys that may hold text `which` in an input object: the defaults, then the task's own
    field name when it is a name (GLUE TSVs name columns by index)."""
    names = list(defaults)
    field = (metadata.get("text_fields") or {}).get(which)
    if isinstance(field, str) and field not in names:
        names.append(field)
    return tuple(names)


class Predictor(object):
    """Predictions from an export directory, graph and variables loaded once.

    Args:
      export_dir: a directory written by bert-tf1-export (export_saved_model).
      batch_size: default number of inputs per session run.
      tokenizer: "auto" (fast where it gives bert's WordPieces), "fast" or "python".
      session_config: optional tf.compat.v1.ConfigProto (e.g. thread counts).

    Attributes:
      metadata: the export's bert_tf1_export.json (labels, head, max_seq_length, task, ...).
      labels: class names (None for regression).
      max_seq_length, truncation: as in the run.
      signature_def: the serving_default SignatureDef as a dict (for REST metadata).
    """

    def __init__(self, export_dir, batch_size=DEFAULT_BATCH_SIZE, tokenizer="auto",
                 session_config=None):
        compat.setup_tf1()
        self.export_dir = export_dir
        self.metadata = export.read_metadata(export_dir)
        self.labels = self.metadata["labels"]
        self.is_regression = bool(self.metadata["is_regression"])
        self.max_seq_length = int(self.metadata["max_seq_length"])
        self.truncation = self.metadata["truncation"]
        self.batch_size = positive_int("batch_size", batch_size)
        self._feature_labels = features.REGRESSION if self.is_regression else self.labels
        self._text_a_keys = _field_names(self.metadata, "text_a", TEXT_A_KEYS)
        self._text_b_keys = _field_names(self.metadata, "text_b", TEXT_B_KEYS)
        vocab = os.path.join(export_dir, "assets", self.metadata["vocab_file"])
        self.tokenizer = fast_tokenization.choose_tokenizer(
            tokenizer, vocab, do_lower_case=bool(self.metadata["do_lower_case"]))

        self._graph = tf.Graph()
        self._session = tf.compat.v1.Session(graph=self._graph, config=session_config)
        with self._graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(
                self._session, list(export.SERVING_TAGS), export_dir)
        if export.SIGNATURE_NAME not in meta_graph.signature_def:
            raise BertTF1Error("%s: no %s signature (found %s)" % (
                export_dir, export.SIGNATURE_NAME, ", ".join(sorted(meta_graph.signature_def))))
        signature = meta_graph.signature_def[export.SIGNATURE_NAME]
        self.signature_def = json_format.MessageToDict(signature)
        self._inputs = {name: self._graph.get_tensor_by_name(signature.inputs[name].name)
                        for name in export.SIGNATURE_INPUTS}
        self._output_name = "predictions" if self.is_regression else "probabilities"
        self._output = self._graph.get_tensor_by_name(signature.outputs[self._output_name].name)
        self._lock = threading.Lock()

    # ---- inputs ---------------------------------------------------------------------------

    def example(self, item, where="input 0"):
        """An InputExample from one input: a string, a (text_a, text_b) pair or an object.

        Objects take text_a from "text_a" or "text" (or the task's field name, e.g. "sentence"),
        text_b from "text_b" (or the task's); other keys are ignored.

        Args:
          item: the input.
          where: how error messages name it ("input 3", "instances[3]", "in.jsonl:4").

        Raises:
          BertTF1Error starting with `where`, saying what was expected.
        """
        text_b = None
        if isinstance(item, str):
            text_a = item
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            text_a, text_b = item
        elif isinstance(item, dict):
            key = next((key for key in self._text_a_keys if key in item), None)
            if key is None:
                raise BertTF1Error("%s: expected an object with a %s string, found keys %s"
                                   % (where, " or ".join("'%s'" % k for k in self._text_a_keys),
                                      ", ".join(sorted(map(str, item))) or "none"))
            text_a = item[key]
            text_b = next((item[key] for key in self._text_b_keys if key in item), None)
        else:
            raise BertTF1Error("%s: expected a string, a [text_a, text_b] pair or an object "
                               "with 'text' (and 'text_b'), found %s" % (where, _describe(item)))
        if not isinstance(text_a, str):
            raise BertTF1Error("%s: text_a must be a string, found %s" % (where, _describe(text_a)))
        if text_b is not None and not isinstance(text_b, str):
            raise BertTF1Error("%s: text_b must be a string or null, found %s"
                               % (where, _describe(text_b)))
        return InputExample(guid=where, text_a=text_a, text_b=text_b)

    def encode(self, items, where="input {}"):
        """Tokenizes and truncates inputs exactly as the run's features were made.

        Args:
          items: list of inputs (see `example`).
          where: format string naming input i in errors, e.g. "instances[{}]".

        Returns:
          list of Encoded, one per input (unpadded).
        """
        return [self.encode_example(self.example(item, where.format(index)))
                for index, item in enumerate(items)]

    def encode_example(self, example):
        """The Encoded of one InputExample (see `encode`)."""
        feature = features.convert_single_example(
            _UNLOGGED_INDEX, example, self._feature_labels, self.max_seq_length, self.tokenizer,
            self.truncation)
        length = sum(feature.input_mask)
        return Encoded(feature.input_ids[:length], feature.segment_ids[:length])

    # ---- predictions ----------------------------------------------------------------------

    def run_batch(self, arrays):
        """One session run.

        Args:
          arrays: dict of int32 arrays input_ids, input_mask, segment_ids, each [batch, seq].

        Returns:
          float32 array [batch, num_labels] of probabilities ([batch] predictions for
          regression).
        """
        feed = {self._inputs[name]: arrays[name] for name in export.SIGNATURE_INPUTS}
        with self._lock:
            return self._session.run(self._output, feed_dict=feed)

    def predict_encoded(self, encoded, batch_size=None):
        """Predictions for already encoded inputs, in their order (see `predict`)."""
        size = self.batch_size if batch_size is None else positive_int("batch_size", batch_size)
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        results = [None] * len(encoded)
        for start in range(0, len(order), size):
            rows = order[start:start + size]
            values = self.run_batch(pad_batch([encoded[i] for i in rows]))
            for row, value in zip(rows, values):
                results[row] = self.result(value)
        return results

    def result(self, value):
        """One prediction dict, with predictions.jsonl's keys and values.

        Args:
          value: float array [num_labels] (probabilities), or a float (regression).
        """
        if self.is_regression:
            return {"prediction": float(value)}
        probabilities = [float(p) for p in value]
        return {"predicted_label": self.labels[int(np.argmax(probabilities))],
                "probabilities": dict(zip(self.labels, probabilities))}

    def predict(self, texts, batch_size=None):
        """Predictions for `texts`, in input order.

        Args:
          texts: list of strings, (text_a, text_b) pairs or objects (see `example`).
          batch_size: inputs per session run (default: the Predictor's).

        Returns:
          list of dicts: {"predicted_label": name, "probabilities": {label: probability}}
          (regression: {"prediction": value}), as in the run's predictions.jsonl.
        """
        if isinstance(texts, (str, dict)):
            raise BertTF1Error("predict: expected a list of inputs, found one %s (wrap it in a "
                               "list)" % type(texts).__name__)
        return self.predict_encoded(self.encode(list(texts)), batch_size)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _describe(value):
    text = repr(value)
    return "%s %s" % (type(value).__name__, text if len(text) <= 60 else text[:57] + "...")
