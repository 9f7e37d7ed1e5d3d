"""Predictor: an export reproduces its run's predictions.jsonl, for every head and a pair task."""
import threading

import numpy as np
import pytest
from serving_helpers import assert_same_predictions

from bert_tf1.classifier import features
from bert_tf1.data.examples import InputExample
from bert_tf1.errors import BertTF1Error
from bert_tf1.serving import Predictor

pytestmark = pytest.mark.e2e


def inputs_of(rows, form):
    """The texts of predictions.jsonl rows in one of the accepted input forms."""
    if form == "dict":
        return [dict({"text": r["text_a"]}, **({"text_b": r["text_b"]} if "text_b" in r else {}))
                for r in rows]
    if "text_b" in rows[0]:
        return [(r["text_a"], r["text_b"]) for r in rows]
    return [r["text_a"] for r in rows]


@pytest.mark.parametrize("name", ["pooled", "mean", "frozen_mlp", "pair", "regression"])
def test_predictor_reproduces_the_runs_predictions(trained, name):
    rows = trained.predictions(name)
    with Predictor(trained.export(name), batch_size=3) as predictor:
        # batch_size 3 over 12 texts: sorted by length into 4 batches, returned in input order.
        assert_same_predictions(predictor.predict(inputs_of(rows, "plain")), rows)
        assert_same_predictions(predictor.predict(inputs_of(rows, "dict"), batch_size=64), rows)
        if name == "pair":
            assert predictor.predict([{"text_a": "a", "text_b": "b"}]) == \
                predictor.predict([["a", "b"]])


def test_features_equal_the_runs_for_every_truncation(trained):
    """Unpadded ids are convert_single_example's (the run's features) without the padding."""
    text = " ".join("word%d" % i for i in range(30))
    with Predictor(trained.export("frozen_mlp")) as predictor:
        for truncation in ("head", "tail", "head+tail:4"):
            predictor.truncation = truncation
            for example in (InputExample("a", text), InputExample("b", text, "short second")):
                expected = features.convert_single_example(0, example, ["0", "1"], 16,
                                                           predictor.tokenizer, truncation)
                encoded = predictor.encode_example(example)
                assert len(encoded) == 16
                assert encoded.input_ids == expected.input_ids
                assert encoded.segment_ids == expected.segment_ids


def test_batches_are_padded_to_their_longest_sequence(trained, monkeypatch):
    with Predictor(trained.export("pooled"), batch_size=2) as predictor:
        widths = []
        original = predictor.run_batch

        def recording(arrays):
            widths.append(arrays["input_ids"].shape)
            return original(arrays)

        monkeypatch.setattr(predictor, "run_batch", recording)
        texts = ["good", "a much longer text about the film", "bad"]
        longest = len(predictor.encode(texts[1:2])[0])
        results = predictor.predict(texts)
    assert 3 < longest < 16
    assert widths == [(2, 3), (1, longest)]  # [CLS] x [SEP] twice, then the long one alone
    assert [sorted(r["probabilities"]) for r in results] == [["0", "1"]] * 3


def test_thread_safe(trained):
    rows = trained.predictions("pooled")
    texts = inputs_of(rows, "plain")
    with Predictor(trained.export("pooled"), batch_size=4) as predictor:
        results, errors = {}, []

        def work(index):
            try:
                order = texts[index:] + texts[:index]
                results[index] = predictor.predict(order)
            except Exception as error:  # pylint: disable=broad-except
                errors.append(error)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors
    for index, found in results.items():
        assert_same_predictions(found, rows[index:] + rows[:index])


@pytest.mark.parametrize("texts, message", [
    ([1], "input 0: expected a string, a [text_a, text_b] pair or an object with 'text'"),
    (["ok", {"body": "x"}], "input 1: expected an object with a 'text_a' or 'text' string, "
                            "found keys body"),
    ([{"text": None}], "input 0: text_a must be a string, found NoneType None"),
    ([["a", 2]], "input 0: text_b must be a string or null, found int 2"),
    ("one string", "expected a list of inputs, found one str"),
])
def test_bad_inputs_are_named(trained, texts, message):
    with Predictor(trained.export("pooled")) as predictor:
        with pytest.raises(BertTF1Error, match=message.replace("[", r"\[").replace("]", r"\]")):
            predictor.predict(texts)


def test_not_an_export_is_one_clear_error(tmp_path):
    with pytest.raises(BertTF1Error, match="%s: no saved_model.pb there" % tmp_path):
        Predictor(str(tmp_path))


def test_probabilities_match_padding_to_max_seq_length(trained):
    """Padding to the batch's longest sequence instead of max_seq_length changes nothing."""
    with Predictor(trained.export("mean")) as predictor:
        encoded = predictor.encode(["good film", "a longer and rather bad film indeed"])
        short = predictor.run_batch({"input_ids": np.array([encoded[0].input_ids]),
                                     "input_mask": np.ones([1, len(encoded[0])], np.int32),
                                     "segment_ids": np.array([encoded[0].segment_ids])})
        padded = np.zeros([1, 16], np.int32)
        padded[0, :len(encoded[0])] = encoded[0].input_ids
        mask = (padded > 0).astype(np.int32)
        full = predictor.run_batch({"input_ids": padded, "input_mask": mask,
                                    "segment_ids": np.zeros([1, 16], np.int32)})
    np.testing.assert_allclose(short, full, atol=1e-6)
