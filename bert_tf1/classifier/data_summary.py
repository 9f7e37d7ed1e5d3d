"""The data summary every classification run logs at its start (and writes as data_summary.json).

Per split: examples, classes with counts, imbalance (largest / smallest class), and the share of
examples longer than max_seq_length in WordPieces (so truncated by the feature converter). The
lengths are measured on a seeded sample of at most LENGTH_SAMPLE (1,000) examples per split: the
converter's own pass may be skipped (a current TFRecord is reused), and tokenizing all of a
25,000-review split a second time would cost minutes with the Python tokenizer. The sampled
lengths are kept in the JSON for the report's length histogram (bert-tf1-report).

Kept apart from classifier/features.py on purpose: it reads examples and a tokenizer only.
"""
import collections
import random

from bert_tf1.runtime import atomic_io, outputs

DATA_SUMMARY_JSON = "data_summary.json"
LENGTH_SAMPLE = 1000
# Class counts listed in the log line; more classes are summarised as "+N more".
_LISTED_CLASSES = 20


def token_length(example, tokenizer):
    """WordPieces of `example` with [CLS]/[SEP] (pairs: one more [SEP]), before truncation."""
    length = len(tokenizer.tokenize(example.text_a)) + 2
    if example.text_b:
        length += len(tokenizer.tokenize(example.text_b)) + 1
    return length


def summarize_split(examples, tokenizer, max_seq_length, is_regression=False, seed=0,
                    sample=LENGTH_SAMPLE):
    """One split's summary (a JSON-able dict).

    Returns:
      dict: examples, unlabelled (count of label None), classes ({label: count}, classification)
      or label_range ([min, max], regression), imbalance (largest / smallest class count, None
      with fewer than 2 classes), lengths_measured, token_lengths (sorted sample), truncated
      (share of the sample longer than max_seq_length), length_p50/p90/max.
    """
    examples = list(examples)
    labels = [e.label for e in examples if e.label is not None]
    summary = {"examples": len(examples), "unlabelled": len(examples) - len(labels)}
    if labels and is_regression:
        summary["label_range"] = [min(labels), max(labels)]
    elif labels:
        counts = collections.Counter(labels)
        summary["classes"] = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        summary["imbalance"] = (max(counts.values()) / float(min(counts.values()))
                                if len(counts) > 1 else None)
    chosen = examples if len(examples) <= sample else random.Random(seed).sample(examples, sample)
    lengths = sorted(token_length(e, tokenizer) for e in chosen)
    if lengths:
        summary.update(
            lengths_measured=len(lengths), token_lengths=lengths,
            truncated=sum(length > max_seq_length for length in lengths) / float(len(lengths)),
            length_p50=lengths[len(lengths) // 2],
            length_p90=lengths[min(len(lengths) - 1, int(0.9 * len(lengths)))],
            length_max=lengths[-1])
    return summary


def summarize(splits, tokenizer, max_seq_length, is_regression=False, seed=0):
    """{part: summarize_split(...)} for a run's {"train"|"eval"|"predict": examples}."""
    return {"max_seq_length": max_seq_length,
            "splits": {part: summarize_split(examples, tokenizer, max_seq_length, is_regression,
                                             seed)
                       for part, examples in splits.items()}}


def _classes_text(classes):
    shown = list(classes.items())[:_LISTED_CLASSES]
    text = ", ".join("%s %d" % item for item in shown)
    if len(classes) > len(shown):
        text += ", +%d more" % (len(classes) - len(shown))
    return text


def format_summary(summary, split_names=None):
    """The summary as log lines.

    >>> s = {"max_seq_length": 8, "splits": {"train": {"examples": 4, "unlabelled": 0,
    ...      "classes": {"a": 3, "b": 1}, "imbalance": 3.0, "lengths_measured": 4,
    ...      "truncated": 0.25, "length_p50": 5, "length_p90": 9, "length_max": 9}}}
    >>> print(format_summary(s))
    data summary (max_seq_length 8):
      train: 4 examples; 2 classes: a 3, b 1; imbalance 3.0 (largest/smallest class)
      train: WordPieces median 5, p90 9, max 9; 25.0% truncated at 8
    """
    max_len = summary["max_seq_length"]
    lines = ["data summary (max_seq_length %d):" % max_len]
    for part, split in summary["splits"].items():
        name = (split_names or {}).get(part, part)
        text = "  %s: %d examples" % (name, split["examples"])
        if "classes" in split:
            text += "; %d classes: %s" % (len(split["classes"]), _classes_text(split["classes"]))
            if split.get("imbalance"):
                text += "; imbalance %.1f (largest/smallest class)" % split["imbalance"]
        elif "label_range" in split:
            text += "; scores %g to %g" % tuple(split["label_range"])
        if split["unlabelled"]:
            text += "; %s unlabelled" % ("all" if split["unlabelled"] == split["examples"]
                                         else split["unlabelled"])
        lines.append(text)
        if split.get("lengths_measured"):
            sampled = "" if split["lengths_measured"] == split["examples"] else \
                " (of a sample of %d)" % split["lengths_measured"]
            lines.append("  %s: WordPieces median %d, p90 %d, max %d; %.1f%% truncated at %d%s"
                         % (name, split["length_p50"], split["length_p90"], split["length_max"],
                            100 * split["truncated"], max_len, sampled))
    return "\n".join(lines)


def write_summary(output_dir, summary):
    """Writes data_summary.json into output_dir (atomically); returns its path."""
    path = "%s/%s" % (output_dir.rstrip("/"), DATA_SUMMARY_JSON)
    atomic_io.write_text_atomically(path, outputs.dumps_json(summary, indent=2) + "\n")
    return path
