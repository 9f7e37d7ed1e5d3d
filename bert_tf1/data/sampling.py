"""Deterministic subsets and dev splits of example lists.

The TF Hub IMDB notebook trained on 5,000 sampled reviews and evaluated on 5,000; imdb and quora
ship no dev split, and spam, civil and the generic tasks often come without one (a flat
SpamAssassin folder): the pipeline then carves dev from train with stratified_split and
--dev_fraction (bert_tf1.data.has_split decides). Both operations are seeded and keep the
examples' original order (training input functions shuffle anyway; predictions stay in file
order).
Stratified selection uses scikit-learn's train_test_split rather than a hand-written allocation.
"""
import collections
import random

from bert_tf1.errors import BertTF1Error

_PLAIN = "pass stratify=False and balance=False for a plain random choice"


def sample_examples(examples, n, seed=0, stratify=False, balance=False, source=None):
    """Returns `n` of `examples`, chosen by `seed`, in their original order.

    Args:
      examples: list of InputExample.
      n: how many to keep (int >= 1); all are returned when n >= len(examples) (and not balance).
      seed: the same seed and input always give the same subset.
      stratify: keep each label's share as in `examples` (classification labels only).
      balance: take n // k examples of each of the k labels (the first n % k labels in sorted
        order take one more); raises if a label has too few.
      source: where the examples come from (e.g. "train split of data/train.csv"), named in
        errors.

    >>> from bert_tf1.data.examples import InputExample
    >>> pool = [InputExample("train-%d" % i, "text", label=str(i % 2)) for i in range(10)]
    >>> [e.guid for e in sample_examples(pool, 4, seed=1, balance=True)] == \\
    ...     [e.guid for e in sample_examples(pool, 4, seed=1, balance=True)]
    True
    """
    examples = list(examples)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise BertTF1Error("sample size n must be a positive integer, found %r" % (n,))
    if stratify and balance:
        raise BertTF1Error("sample_examples: choose stratify or balance, not both")
    if balance:
        return _balanced(examples, n, seed, source)
    if n >= len(examples):
        return examples
    if stratify:
        chosen, _ = _stratified(examples, n, seed, "stratified sampling", source)
        return chosen
    keep = set(random.Random(seed).sample(range(len(examples)), n))
    return [example for index, example in enumerate(examples) if index in keep]


def stratified_split(examples, dev_fraction=None, dev_size=None, seed=0, stratify=True,
                     source=None):
    """Splits `examples` into (train, dev), each in original order, for tasks without a dev split.

    Args:
      examples: list of InputExample (labelled, unless stratify=False).
      dev_fraction: share of examples for dev, in (0, 1). Give this or dev_size.
      dev_size: number of examples for dev, in [1, len(examples) - 1].
      seed: the same seed and input always give the same split.
      stratify: keep label shares equal in both parts; False for regression or unlabelled data.
      source: where the examples come from, named in errors (see sample_examples).

    >>> from bert_tf1.data.examples import InputExample
    >>> pool = [InputExample("train-%d" % i, "text", label=str(i % 2)) for i in range(10)]
    >>> train, dev = stratified_split(pool, dev_fraction=0.2, seed=0)
    >>> len(train), sorted(e.label for e in dev)
    (8, ['0', '1'])
    """
    examples = list(examples)
    if (dev_fraction is None) == (dev_size is None):
        raise BertTF1Error("stratified_split: give exactly one of dev_fraction or dev_size")
    if dev_fraction is not None:
        if not 0 < dev_fraction < 1:
            raise BertTF1Error("dev_fraction must be between 0 and 1 (exclusive), found %r"
                               % (dev_fraction,))
        dev_size = int(round(dev_fraction * len(examples)))
    if isinstance(dev_size, bool) or not isinstance(dev_size, int) or \
            not 1 <= dev_size <= len(examples) - 1:
        raise BertTF1Error("dev size must leave at least one example in each part: expected "
                           "1..%d for %d examples, found %r" % (len(examples) - 1,
                                                                 len(examples), dev_size))
    if stratify:
        dev, train = _stratified(examples, dev_size, seed, "stratified split", source)
        return train, dev
    keep = set(random.Random(seed).sample(range(len(examples)), dev_size))
    return ([example for index, example in enumerate(examples) if index not in keep],
            [example for index, example in enumerate(examples) if index in keep])


def _where(source):
    return " (%s)" % source if source else ""


def _stratified(examples, n, seed, purpose, source=None):
    """(n examples keeping label shares, the others), both in original order."""
    # scikit-learn (~1 s to import) only when a split is made: the data layer stays light.
    from sklearn.model_selection import train_test_split

    labels = _class_labels(examples, purpose, source)
    # scikit-learn's own messages name neither the class nor the file: check its two
    # preconditions here and say which class, where, and what to do.
    counts = collections.Counter(labels)
    rare = sorted(label for label, count in counts.items() if count < 2)
    if rare:
        raise BertTF1Error(
            "%s of %d from %d examples%s: class %s %s only one example, and a stratified "
            "choice needs at least 2 of each class; add examples of %s, remove %s, or %s"
            % (purpose, n, len(examples), _where(source), ", ".join(repr(r) for r in rare),
               "has" if len(rare) == 1 else "each have", "it" if len(rare) == 1 else "them",
               "it" if len(rare) == 1 else "them", _PLAIN))
    for part, size in (("the chosen part", n), ("the rest", len(examples) - n)):
        if size < len(counts):
            raise BertTF1Error(
                "%s of %d from %d examples%s: %s would hold %d examples, fewer than the %d "
                "classes, so it cannot hold one of each; choose a size between %d and %d"
                % (purpose, n, len(examples), _where(source), part, size, len(counts),
                   len(counts), len(examples) - len(counts)))
    try:
        chosen, _ = train_test_split(list(range(len(examples))), train_size=n,
                                     random_state=seed, stratify=labels)
    except ValueError as err:  # e.g. a label with a single example, or n < number of labels
        raise BertTF1Error("%s of %d from %d examples%s: %s" % (purpose, n, len(examples),
                                                                _where(source), err))
    keep = set(chosen)
    return ([example for index, example in enumerate(examples) if index in keep],
            [example for index, example in enumerate(examples) if index not in keep])


def _balanced(examples, n, seed, source=None):
    by_label = collections.defaultdict(list)
    for index, label in enumerate(_class_labels(examples, "balanced sampling", source)):
        by_label[label].append(index)
    labels = sorted(by_label)
    rng = random.Random(seed)
    keep = set()
    for position, label in enumerate(labels):
        quota = n // len(labels) + (1 if position < n % len(labels) else 0)
        if quota > len(by_label[label]):
            raise BertTF1Error("balanced sampling of n=%d%s needs %d examples of label %r, "
                               "found %d" % (n, _where(source), quota, label,
                                             len(by_label[label])))
        keep.update(rng.sample(by_label[label], quota))
    return [example for index, example in enumerate(examples) if index in keep]


def _class_labels(examples, purpose, source=None):
    labels = [example.label for example in examples]
    unlabelled = sum(label is None for label in labels)
    if unlabelled:
        raise BertTF1Error("%s%s needs labelled examples; %d of %d have label None (%s)"
                           % (purpose, _where(source), unlabelled, len(labels), _PLAIN))
    if any(not isinstance(label, str) for label in labels):
        raise BertTF1Error("%s%s needs class labels; found numeric (regression) labels (%s)"
                           % (purpose, _where(source), _PLAIN))
    return labels
