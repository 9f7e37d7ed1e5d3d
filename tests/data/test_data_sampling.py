"""Seeded sampling and dev splits: determinism, label shares, original order, errors."""
import collections

import pytest

from bert_tf1.data import InputExample, sample_examples, stratified_split
from bert_tf1.errors import BertTF1Error


def pool(counts):
    """Examples with labels in blocks, e.g. {"0": 30, "1": 70} (guids train-0..)."""
    labels = [label for label, count in sorted(counts.items()) for _ in range(count)]
    return [InputExample("train-%d" % i, "text %d" % i, label=label)
            for i, label in enumerate(labels)]


def guids(examples):
    return [example.guid for example in examples]


def counts(examples):
    return dict(collections.Counter(example.label for example in examples))


def test_sampling_is_deterministic_for_a_seed_and_keeps_order():
    examples = pool({"0": 500, "1": 500})
    first = sample_examples(examples, 50, seed=3)
    assert guids(first) == guids(sample_examples(examples, 50, seed=3))
    assert guids(first) != guids(sample_examples(examples, 50, seed=4))
    assert len(first) == 50
    order = [int(guid.split("-")[1]) for guid in guids(first)]
    assert order == sorted(order)


def test_sampling_more_than_available_returns_everything():
    examples = pool({"0": 3})
    assert sample_examples(examples, 10) == examples


def test_stratified_sampling_keeps_label_shares():
    examples = pool({"0": 300, "1": 700})
    sample = sample_examples(examples, 100, seed=0, stratify=True)
    assert counts(sample) == {"0": 30, "1": 70}
    assert guids(sample) == guids(sample_examples(examples, 100, seed=0, stratify=True))


def test_balanced_sampling_takes_equal_shares():
    examples = pool({"a": 11, "b": 50, "c": 40})
    assert counts(sample_examples(examples, 31, seed=1, balance=True)) == {"a": 11, "b": 10,
                                                                          "c": 10}
    with pytest.raises(BertTF1Error, match="balanced sampling of n=60 needs 20 examples of "
                                           "label 'a', found 11"):
        sample_examples(examples, 60, balance=True)


def test_stratified_split_shares_disjoint_and_complete():
    examples = pool({"neg": 120, "pos": 80})
    train, dev = stratified_split(examples, dev_fraction=0.1, seed=7)
    assert counts(dev) == {"neg": 12, "pos": 8} and counts(train) == {"neg": 108, "pos": 72}
    assert sorted(guids(train) + guids(dev)) == sorted(guids(examples))
    assert (guids(train), guids(dev)) == tuple(
        guids(part) for part in stratified_split(examples, dev_fraction=0.1, seed=7))
    _, dev = stratified_split(examples, dev_size=50, seed=7)
    assert counts(dev) == {"neg": 30, "pos": 20}


def test_unstratified_split_for_regression_labels():
    examples = [InputExample("train-%d" % i, "t", label=i / 10.0) for i in range(20)]
    train, dev = stratified_split(examples, dev_size=5, seed=0, stratify=False)
    assert len(dev) == 5 and len(train) == 15
    with pytest.raises(BertTF1Error, match="stratified split needs class labels; found numeric"):
        stratified_split(examples, dev_size=5)


@pytest.mark.parametrize("call, expected", [
    (lambda e: sample_examples(e, 0), "sample size n must be a positive integer, found 0"),
    (lambda e: sample_examples(e, 2, stratify=True, balance=True), "choose stratify or balance"),
    (lambda e: stratified_split(e), "give exactly one of dev_fraction or dev_size"),
    (lambda e: stratified_split(e, dev_fraction=1.5), "dev_fraction must be between 0 and 1"),
    (lambda e: stratified_split(e, dev_size=10),
     "dev size must leave at least one example in each part: expected 1..9 for 10 examples"),
    (lambda e: stratified_split(e + [InputExample("x", "t")], dev_size=2),
     "stratified split needs labelled examples; 1 of 11 have label None"),
    (lambda e: stratified_split(e + [InputExample("x", "t", label="rare")], dev_size=2,
                                source="train split of data/train.csv"),
     "stratified split of 2 from 11 examples (train split of data/train.csv): class 'rare' has "
     "only one example, and a stratified choice needs at least 2 of each class; add examples of "
     "it, remove it, or pass stratify=False"),
    (lambda e: sample_examples(e + [InputExample("x", "t", label="rare")], 3, stratify=True),
     "stratified sampling of 3 from 11 examples: class 'rare' has only one example"),
    (lambda e: stratified_split(e, dev_size=1),
     "stratified split of 1 from 10 examples: the chosen part would hold 1 examples, fewer than "
     "the 2 classes, so it cannot hold one of each; choose a size between 2 and 8"),
])
def test_sampling_errors(call, expected):
    with pytest.raises(BertTF1Error) as info:
        call(pool({"0": 5, "1": 5}))
    assert expected in str(info.value)


def test_split_source_names_a_carved_split_without_looking_for_its_file(tmp_path):
    # quora has no dev split: --eval_examples on it names the carved split (was a KeyError).
    from bert_tf1.data import fixtures, loading

    data_dir = fixtures.write_fixture("quora", str(tmp_path / "quora"), per_label=2)
    assert loading.split_source("quora", data_dir, "dev") == (
        "dev split carved from the train split of %s" % data_dir)
    assert loading.split_source("quora", data_dir, "train").startswith("train split of " +
                                                                       data_dir)
