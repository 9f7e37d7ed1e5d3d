#!/usr/bin/env python
"""Feature conversion speed for classification: Google's run_classifier vs ours with bert's
Python tokenizer vs ours with HuggingFace tokenizers (one process, then --num_workers
processes), measured side by side in one run.

    python benchmarks/classifier_features_speed.py [--csv train.csv] [--vocab_file vocab.txt]
        [--examples 2000] [--max_seq_length 128] [--repeats 2] [--num_workers 0]

`measure(pairs, labels, max_seq_length, vocab_file, repeats, num_workers)` returns this table's
rows and whether every configuration's features are identical to Google's; `load_pairs(csv,
vocab_file, examples)` gives the examples (synthetic when no CSV is given). benchmarks/run.py's
features case uses `convert_google`, `convert_pipeline` (the conversion run_classifier_hub.py
runs), `read_tfrecord_rows` and `default_feature_workers`.

Input: a CSV with columns text,label (e.g. what `bert-tf1-get-data imdb` writes; default
runs/minilm-imdb/imdb/train.csv when it exists) and a WordPiece vocabulary (default MiniLM's
bert-base-uncased vocab under runs/minilm-imdb when it exists); without them, synthetic reviews
over the tiny BERT's vocabulary. Every configuration converts the same examples in this process;
the table gives the fastest of --repeats rounds, and the script checks that all three produced
identical features (input_ids, input_mask, segment_ids, label_id) before printing. Ratio = the
configuration's examples/s over Google's. Times exclude TensorFlow start-up.
"""
import argparse
import csv
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CSV = os.path.join(REPO, "runs", "minilm-imdb", "imdb", "train.csv")
DEFAULT_VOCAB = os.path.join(REPO, "runs", "minilm-imdb", "minilm", "bert", "vocab.txt")


def read_examples(path, limit):
    """(text, label) pairs from a text,label CSV, the first `limit` of them."""
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [(row["text"], row["label"]) for row in csv.DictReader(handle)]
    return rows[:limit]


def synthetic_examples(limit, seed=0):
    """Review-length texts (150-400 words) over the tiny vocabulary, labels 0/1."""
    from bert_tf1.convert import tiny_bert

    words = [token for token in tiny_bert.tiny_vocab_tokens() if token.isalpha()]
    rng = random.Random(seed)
    return [(" ".join(rng.choice(words) for _ in range(rng.randint(150, 400))).capitalize()
             + ".", str(index % 2)) for index in range(limit)]


def convert_google(pairs, labels, max_seq_length, vocab_file):
    from bert import run_classifier, tokenization

    tokenizer = tokenization.FullTokenizer(vocab_file=vocab_file, do_lower_case=True)
    examples = [run_classifier.InputExample(guid=str(i), text_a=text, label=label)
                for i, (text, label) in enumerate(pairs)]
    return run_classifier.convert_examples_to_features(examples, labels, max_seq_length,
                                                       tokenizer)


def convert_ours(pairs, labels, max_seq_length, vocab_file, kind, num_workers=1):
    from bert_tf1.classifier import features
    from bert_tf1.data.examples import InputExample
    from bert_tf1.modeling import tokenization as fast_tokenization

    tokenizer = fast_tokenization.choose_tokenizer(kind, vocab_file, do_lower_case=True)
    assert fast_tokenization.tokenizer_name(tokenizer) == kind, kind
    examples = [InputExample(str(i), text, None, label) for i, (text, label) in enumerate(pairs)]
    return features.convert_examples_to_features(examples, labels, max_seq_length, tokenizer,
                                                 show_progress=False, num_workers=num_workers)


def as_rows(converted):
    return [(f.input_ids, f.input_mask, f.segment_ids, f.label_id) for f in converted]


def default_feature_workers(num_examples):
    """(run_classifier_hub.py's --feature_workers default, the processes it resolves to for
    `num_examples` here), e.g. (0, 2) for 5,000 examples on 2 CPUs: the default is read from
    the settings the CLI's flags come from and resolved as pipeline.ensure_features does."""
    from bert_tf1.classifier import pipeline
    from bert_tf1.runtime.workers import workers_worth_forking

    flag = pipeline.ClassifierRunSettings.DEFAULTS["feature_workers"]
    return flag, workers_worth_forking(flag, num_examples,
                                       pipeline.MIN_EXAMPLES_PER_FEATURE_WORKER)


def convert_pipeline(pairs, labels, max_seq_length, vocab_file, feature_workers, cache_dir,
                     output_file):
    """The kit's conversion as run_classifier_hub.py does it with --vocab_file: the settings'
    defaults (--tokenizer=auto, truncation head), pipeline.make_tokenizer, then
    pipeline.ensure_features (the feature cache, then file_based_convert_examples_to_features
    writing the TFRecord, then storing it in the cache). `cache_dir` should be new and empty,
    so this is a cold conversion. Returns the tokenizer's name ("fast" or "python")."""
    from bert_tf1.classifier import pipeline
    from bert_tf1.data.examples import InputExample
    from bert_tf1.modeling import tokenization as fast_tokenization

    settings = pipeline.ClassifierRunSettings(
        vocab_file=vocab_file, max_seq_length=max_seq_length, feature_workers=feature_workers,
        feature_cache_dir=cache_dir, show_progress=False)
    tokenizer = pipeline.make_tokenizer(settings)
    examples = [InputExample(str(i), text, None, label) for i, (text, label) in enumerate(pairs)]
    status = pipeline.ensure_features(settings, examples, labels, tokenizer, output_file)
    assert status["status"] == "converted", status
    return fast_tokenization.tokenizer_name(tokenizer)


def read_tfrecord_rows(path):
    """as_rows() of the features a classifier TFRecord holds, in order."""
    import tensorflow as tf

    rows = []
    for record in tf.compat.v1.io.tf_record_iterator(path):
        feature = tf.train.Example.FromString(record).features.feature
        lists = [list(feature[key].int64_list.value)
                 for key in ("input_ids", "input_mask", "segment_ids", "label_ids")]
        rows.append(tuple(lists[:3]) + (lists[3][0],))
    return rows


def load_pairs(csv_path, vocab_file, examples):
    """(pairs, labels, vocab_file, source): the CSV's first `examples` rows with vocab_file, or
    synthetic reviews over the tiny BERT's vocabulary when either is missing."""
    from bert_tf1.convert import tiny_bert

    if csv_path and vocab_file:
        pairs, source = read_examples(csv_path, examples), csv_path
    else:
        pairs, source = synthetic_examples(examples), "synthetic reviews"
        vocab_file = os.path.join(REPO, "runs", "benchmark_tiny_vocab.txt")
        os.makedirs(os.path.dirname(vocab_file), exist_ok=True)
        with open(vocab_file, "w", encoding="utf-8") as handle:
            handle.write("".join(token + "\n" for token in tiny_bert.tiny_vocab_tokens()))
    return pairs, sorted({label for _, label in pairs}), vocab_file, source


def measure(pairs, labels, max_seq_length, vocab_file, repeats=2, num_workers=0):
    """Converts `pairs` with Google's code and ours, `repeats` interleaved rounds.

    Returns:
      (rows, identical): rows = [{"name", "seconds" (fastest round), "examples_per_s",
      "ratio" (to Google's)}], identical = every configuration's features equal Google's.
    """
    from bert_tf1.runtime.workers import resolve_num_workers

    workers = resolve_num_workers(num_workers)
    runs = [("google run_classifier", lambda: convert_google(pairs, labels, max_seq_length,
                                                             vocab_file)),
            ("ours, --tokenizer=python", lambda: convert_ours(pairs, labels, max_seq_length,
                                                              vocab_file, "python")),
            ("ours, --tokenizer=fast", lambda: convert_ours(pairs, labels, max_seq_length,
                                                            vocab_file, "fast")),
            ("ours, fast, %d workers" % workers,
             lambda: convert_ours(pairs, labels, max_seq_length, vocab_file, "fast", workers))]
    best, outputs = {}, {}
    for _ in range(repeats):  # rounds interleave the configurations: fairer under drift
        for name, run in runs:
            started = time.time()
            outputs[name] = as_rows(run())
            seconds = time.time() - started
            best[name] = min(seconds, best.get(name, seconds))
    reference = outputs[runs[0][0]]
    identical = all(outputs[name] == reference for name, _ in runs)
    base = len(pairs) / best[runs[0][0]]
    rows = [{"name": name, "seconds": best[name], "examples_per_s": len(pairs) / best[name],
             "ratio": len(pairs) / best[name] / base} for name, _ in runs]
    return rows, identical


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=DEFAULT_CSV if os.path.exists(DEFAULT_CSV) else None)
    parser.add_argument("--vocab_file",
                        default=DEFAULT_VOCAB if os.path.exists(DEFAULT_VOCAB) else None)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--num_workers", type=int, default=0, help="0: one per CPU")
    args = parser.parse_args(argv)

    from bert_tf1 import compat

    compat.setup_tf1()  # also marks absl flags parsed, which bert's tokenizer needs
    pairs, labels, vocab_file, source = load_pairs(args.csv, args.vocab_file, args.examples)
    print("%d examples from %s, vocab %s, max_seq_length %d, %d CPUs, load average %.1f"
          % (len(pairs), source, vocab_file, args.max_seq_length, os.cpu_count(),
             os.getloadavg()[0]))
    rows, same = measure(pairs, labels, args.max_seq_length, vocab_file, args.repeats,
                         args.num_workers)
    print("")
    print("| conversion | seconds | examples/s | ratio to Google's |")
    print("|---|---|---|---|")
    for row in rows:
        print("| %s | %.2f | %.0f | %.2f |" % (row["name"], row["seconds"],
                                                row["examples_per_s"], row["ratio"]))
    print("\nfeatures: %s (fastest of %d round%s; load average %.1f after)" % (
        "identical in all four" if same else "DIFFERENT", args.repeats,
        "" if args.repeats == 1 else "s", os.getloadavg()[0]))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
