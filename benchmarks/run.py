#!/usr/bin/env python
"""One benchmark command: the kit against google-research/bert's own code, side by side.

    python benchmarks/run.py [--quick] [--repeats N] [--cases features,train_short,...]
        [--hub_module DIR] [--work_dir DIR] [--json benchmarks/results/latest.json]

Prints ONE table (case | baseline | ours | unit | ratio | outputs identical?) and writes the same
rows to benchmarks/results/latest.json as a list of {name, baseline, ours, unit, ratio,
identical} (plus `note`), with the machine it ran on. Every case runs baseline and ours in the
same invocation, interleaved (baseline, ours, ours, baseline, ...), and reports medians.

Baselines are Google's code from the installed `bert` package (bert-tensorflow 1.0.4):
  features      bert.run_classifier.convert_examples_to_features vs the kit's conversion (its
                default tokenizer), in this process; identical = every feature equal.
  train_short / train_long / eval_short / startup
                `python -m bert.run_classifier_with_tfhub` vs `python -m
                bert_tf1.cli.run_classifier_hub`, subprocesses with the same flags, data (CoLA
                layout, which Google's hub script reads) and hub module. Times come from the log
                lines both print (read as they appear, PYTHONUNBUFFERED):
                  start-up = process start -> the first "global_step/sec" line, printed after
                    the second step (flags, data, features, graph, session, variables and the
                    one-off graph optimisation of the first step: until training runs at speed);
                  training examples/s = (steps - 2) * batch / (first "global_step/sec" -> final
                    checkpoint), i.e. steady state, the two warm-up steps excluded;
                  eval examples/s = examples / ("Starting evaluation" -> "Finished evaluation").
                identical (eval_short): the kit evaluates Google's fine-tuned checkpoint
                (--init_checkpoint) and must report the same accuracy and loss (1e-5).
  mfu           model FLOP utilisation on long texts: achieved training FLOP/s (6 * parameters *
                tokens + attention, from train_long's examples/s) over the FLOP/s of a large
                float32 matmul measured in this process; baseline = Google's run's figure.
  serving       benchmarks/serving_speed.py's cases (its baseline is Estimator.predict, the
                notebook's and run_classifier_hub.py's path, not a Google script).

Model: --hub_module (e.g. MiniLM exported by `bert-tf1-get-weights minilm`), default a random
tiny BERT (L2 H128 A2) built and exported here. Data: synthetic texts over the tiny vocabulary
(no dataset is downloaded): short = 8-45 words (~27 WordPieces with [CLS]/[SEP], like
rotten_tomatoes), long = 150-400 words (fill max_seq_length, like IMDB).
--quick: fewer examples and steps, 2 repeats (a few minutes on 2 cores).
"""
import argparse
import csv
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DEFAULT_JSON = os.path.join(REPO, "benchmarks", "results", "latest.json")
CASES = ("features", "train_short", "eval_short", "startup", "train_long", "mfu", "serving")

# Sizes per mode: (full, quick).
SIZES = {
    "features_examples": (5000, 1000),
    "train_steps": (150, 22),
    "eval_examples": (4000, 640),
    "batch_size": (32, 32),
    "repeats": (3, 2),
    "serving_sentences": (1000, 160),
}

# Log lines both scripts print (TPUEstimator off TPU logs the step rate after every step from
# the second on), and what they mark.
STEP_RATE = "global_step/sec:"
LAST_CHECKPOINT = "Saving checkpoints for %d into"
EVAL_START = "Starting evaluation at"
EVAL_END = "Finished evaluation at"


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


def write_cola_dir(path, train_texts, dev_texts):
    """train.tsv / dev.tsv in GLUE CoLA's layout (no header; source, label, mark, sentence):
    the layout both Google's run_classifier_with_tfhub.py and the kit's `cola` task read."""
    os.makedirs(path, exist_ok=True)
    for name, texts in (("train.tsv", train_texts), ("dev.tsv", dev_texts)):
        with open(os.path.join(path, name), "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_NONE,
                                quotechar=None, lineterminator="\n")
            for index, text in enumerate(texts):
                writer.writerow(["bench", index % 2, "", text])
    return path


def tiny_hub_module(work):
    from bert_tf1.convert import hub_export, tiny_bert

    module = os.path.join(work, "tiny_hub")
    if not os.path.exists(os.path.join(module, "tfhub_module.pb")):
        bert_dir = os.path.join(work, "tiny_bert")
        tiny_bert.make_tiny_bert(bert_dir, seed=1, overwrite=True)
        hub_export.export_hub_module(bert_dir, module, overwrite=True)
    return module


# ---------------------------------------------------------------- subprocess runs

def timed_run(command, cwd, env=None, marks=(), log_file=None):
    """Runs `command`, timestamping each output line as it arrives.

    Returns (seconds to exit, {mark: seconds after start of its first line}, output text).
    The output is also kept in `log_file` when given.
    Raises RuntimeError with the output's tail when the command fails.
    """
    environment = dict(os.environ, PYTHONUNBUFFERED="1", **(env or {}))
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, universal_newlines=True, bufsize=1)
    seen, lines = {}, []
    for line in process.stdout:
        now = time.perf_counter() - started
        lines.append(line)
        for mark in marks:
            if mark not in seen and mark in line:
                seen[mark] = now
    process.wait()
    total = time.perf_counter() - started
    if log_file:
        with open(log_file, "w", encoding="utf-8") as handle:
            handle.write("".join(lines))
    if process.returncode != 0:
        raise RuntimeError("%s failed (exit %d):\n%s" % (" ".join(command[:3]),
                                                        process.returncode,
                                                        "".join(lines[-30:])))
    return total, seen, "".join(lines)


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
    """One train + eval run; returns its startup s, train ex/s, eval ex/s and output_dir."""
    output_dir = tempfile.mkdtemp(prefix="%s_%s_" % (side, tag), dir=work)
    marks = (STEP_RATE, LAST_CHECKPOINT % steps, EVAL_START, EVAL_END)
    command = classifier_command(side, python, data_dir, module, output_dir, seq, batch, steps,
                                 train_examples, do_eval=eval_examples > 0, extra=extra)
    total, seen, _ = timed_run(command, REPO, marks=marks,
                               log_file=output_dir.rstrip("/") + ".log")
    missing = [mark for mark in marks[:2] + ((marks[2], marks[3]) if eval_examples else ())
               if mark not in seen]
    if missing:
        raise RuntimeError("%s run in %s printed no %s" % (side, output_dir, missing))
    result = {"startup": seen[STEP_RATE], "total": total, "output_dir": output_dir,
              "train": (steps - 2) * batch / (seen[LAST_CHECKPOINT % steps] - seen[STEP_RATE])}
    if eval_examples:
        result["eval"] = eval_examples / (seen[EVAL_END] - seen[EVAL_START])
    log("  %s %s: start-up %.1f s, train %.0f ex/s%s, total %.1f s" % (
        side, tag, result["startup"], result["train"],
        ", eval %.0f ex/s" % result["eval"] if eval_examples else "", total))
    return result


def interleaved(repeats, sides, run):
    """run(side) for each repeat, alternating which side goes first; {side: [results]}."""
    results = {side: [] for side in sides}
    for repeat in range(repeats):
        order = sides if repeat % 2 == 0 else tuple(reversed(sides))
        for side in order:
            results[side].append(run(side))
    return results


def eval_same_checkpoint(python, data_dir, module, work, seq, batch, google_dir):
    """The kit's eval of Google's fine-tuned checkpoint vs Google's own eval_results.txt."""
    output_dir = tempfile.mkdtemp(prefix="ours_eval_of_google_", dir=work)
    checkpoint = _latest_checkpoint(google_dir)
    command = classifier_command("ours", python, data_dir, module, output_dir, seq, batch, 1, 1,
                                 do_train=False, do_eval=True,
                                 extra=["--init_checkpoint=" + checkpoint])
    timed_run(command, REPO)
    google, ours = read_eval_results(google_dir), read_eval_results(output_dir)
    differences = {key: abs(google[key] - ours[key]) for key in ("eval_accuracy", "eval_loss")
                   if key in google and key in ours}
    same = len(differences) == 2 and max(differences.values()) <= 1e-5
    log("  same checkpoint: Google %s, ours %s -> %s" % (
        {k: google.get(k) for k in differences}, {k: ours.get(k) for k in differences},
        "identical" if same else "DIFFERENT"))
    return same, differences


def _latest_checkpoint(directory):
    with open(os.path.join(directory, "checkpoint"), encoding="utf-8") as handle:
        first = handle.readline()
    name = first.split(":", 1)[1].strip().strip('"')
    return name if os.path.isabs(name) else os.path.join(directory, name)


# ---------------------------------------------------------------- cases

def case_features(args, work, module):
    """Feature conversion, Google's vs the kit's, same examples, identical check."""
    import classifier_features_speed as features_speed

    count = args.size("features_examples")
    texts = synthetic_texts(count, LONG[0], LONG[1], seed=3)
    pairs = [(text, str(index % 2)) for index, text in enumerate(texts)]
    vocab = os.path.join(module, "assets", "vocab.txt")
    sides = {
        "google": lambda: features_speed.convert_google(pairs, ["0", "1"], 128, vocab),
        "ours": lambda: features_speed.convert_ours(pairs, ["0", "1"], 128, vocab, "fast"),
    }
    outputs = {}

    def run(side):
        started = time.perf_counter()
        outputs[side] = features_speed.as_rows(sides[side]())
        return count / (time.perf_counter() - started)

    rates = interleaved(args.repeats, ("google", "ours"), run)
    same = outputs["google"] == outputs["ours"]
    return [make_row("features: %d long texts, max_seq_length 128" % count,
                     median(rates["google"]), median(rates["ours"]), "examples/s", same,
                     "bert.run_classifier.convert_examples_to_features vs the kit's fast "
                     "tokenizer path")]


class ClassifierCases(object):
    """train_short, eval_short, startup (short texts) and train_long (+ mfu), run once each."""

    def __init__(self, args, work, module):
        self.args, self.work, self.module = args, work, module
        self.cache = {}

    def short(self):
        if "short" not in self.cache:
            args = self.args
            batch, steps = args.size("batch_size"), args.size("train_steps")
            train = synthetic_texts(batch * steps, SHORT[0], SHORT[1], seed=5)
            dev = synthetic_texts(args.size("eval_examples"), SHORT[0], SHORT[1], seed=6)
            data_dir = write_cola_dir(os.path.join(self.work, "short_data"), train, dev)
            results = interleaved(args.repeats, ("google", "ours"), lambda side: classifier_round(
                side, args.python, data_dir, self.module, self.work, 128, batch, steps,
                len(train), len(dev), "short"))
            same = eval_same_checkpoint(args.python, data_dir, self.module, self.work, 128,
                                        batch, results["google"][-1]["output_dir"])
            self.cache["short"] = (results, same)
        return self.cache["short"]

    def long(self):
        if "long" not in self.cache:
            args = self.args
            batch, steps = args.size("batch_size"), max(10, args.size("train_steps") // 3)
            train = synthetic_texts(batch * steps, LONG[0], LONG[1], seed=7)
            data_dir = write_cola_dir(os.path.join(self.work, "long_data"), train, train[:8])
            results = interleaved(args.repeats, ("google", "ours"), lambda side: classifier_round(
                side, args.python, data_dir, self.module, self.work, 128, batch, steps,
                len(train), 0, "long"))
            self.cache["long"] = results
        return self.cache["long"]

    def train_short(self):
        results, _ = self.short()
        steps, batch = self.args.size("train_steps"), self.args.size("batch_size")
        return [make_row("fine-tuning, short texts (~27 WordPieces), 128, batch %d" % batch,
                         median([r["train"] for r in results["google"]]),
                         median([r["train"] for r in results["ours"]]), "examples/s", None,
                         "%d steps, steady state (2 warm-up steps excluded)" % steps)]

    def eval_short(self):
        results, (same, differences) = self.short()
        return [make_row("eval, short texts, 128, batch %d" % self.args.size("batch_size"),
                         median([r["eval"] for r in results["google"]]),
                         median([r["eval"] for r in results["ours"]]), "examples/s", same,
                         "identical: the kit's eval of Google's checkpoint, |diff| %s"
                         % json.dumps({k: float("%.2g" % v) for k, v in differences.items()}))]

    def startup(self):
        results, _ = self.short()
        return [make_row("start-up to the first training step (short texts)",
                         median([r["startup"] for r in results["google"]]),
                         median([r["startup"] for r in results["ours"]]), "s", None,
                         "process start -> training at speed (2 steps done); ratio = "
                         "Google's s / ours",
                         higher_is_better=False)]

    def train_long(self):
        results = self.long()
        batch = self.args.size("batch_size")
        return [make_row("fine-tuning, long texts (fill 128), batch %d" % batch,
                         median([r["train"] for r in results["google"]]),
                         median([r["train"] for r in results["ours"]]), "examples/s", None,
                         "steady state (2 warm-up steps excluded)")]

    def mfu(self):
        results = self.long()
        flops_per_example = training_flops_per_example(self.module, 128)
        peak = matmul_flops_per_second()
        google = median([r["train"] for r in results["google"]]) * flops_per_example / peak
        ours = median([r["train"] for r in results["ours"]]) * flops_per_example / peak
        return [make_row("model FLOP utilisation, long-text fine-tuning", 100 * google,
                         100 * ours, "% of matmul", None,
                         "%.2f GFLOP per example; float32 matmul %.1f GFLOP/s here"
                         % (flops_per_example / 1e9, peak / 1e9))]


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
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(product)
            best = None
            for _ in range(repeats):
                started = time.perf_counter()
                session.run(product)
                seconds = time.perf_counter() - started
                best = seconds if best is None else min(best, seconds)
    return 2.0 * size ** 3 / best


def case_serving(args, work, module):
    """benchmarks/serving_speed.py's cases (baseline: Estimator.predict)."""
    import serving_speed

    found = serving_speed.measure(serving_speed.parse_args([
        "--hub_module", module, "--sentences", str(args.size("serving_sentences")),
        "--repeats", str(args.repeats), "--one_sentence_calls", "2",
        "--work_dir", os.path.join(work, "serving")]))
    n = found["sentences"]
    note = "baseline: Estimator.predict (the notebook's / --do_predict path)"
    return [
        make_row("serving: one sentence per call", found["estimator_one"],
                 found["predictor_one"], "s", found["identical"], note, higher_is_better=False),
        make_row("serving: %d sentences, batch 32" % n, n / found["estimator_n"],
                 n / found["predictor_n"], "sentences/s", found["identical"], note),
        make_row("serving: REST, %d clients, one sentence per request" % found["clients"],
                 n / found["estimator_n"], n / found["rest_n"], "sentences/s", None, note),
    ]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated subset of: %s" % ", ".join(CASES))
    parser.add_argument("--hub_module", default=None, help="default: a tiny BERT built here")
    parser.add_argument("--work_dir", default=None)
    parser.add_argument("--json", default=DEFAULT_JSON)
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the subprocess runs (both sides)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.cases.split(",")) - set(CASES))
    if unknown:
        parser.error("unknown case(s) %s; known: %s" % (", ".join(unknown), ", ".join(CASES)))
    args.size = lambda name: SIZES[name][1 if args.quick else 0]
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


def main(argv=None):
    args = parse_args(argv)
    from bert_tf1 import compat

    compat.setup_tf1()
    work = args.work_dir or tempfile.mkdtemp(prefix="bert_tf1_bench_")
    os.makedirs(work, exist_ok=True)
    module = args.hub_module or tiny_hub_module(work)
    classifier = ClassifierCases(args, work, module)
    available = {
        "features": lambda: case_features(args, work, module),
        "train_short": classifier.train_short, "eval_short": classifier.eval_short,
        "startup": classifier.startup, "train_long": classifier.train_long,
        "mfu": classifier.mfu, "serving": lambda: case_serving(args, work, module),
    }
    meta = {"machine": machine(), "quick": args.quick, "repeats": args.repeats,
            "model": args.hub_module or "random tiny BERT (L2 H128 A2), synthetic texts",
            "started_utc": datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
    started = time.perf_counter()
    rows = run_cases(args, [(name, available[name]) for name in args.cases.split(",")])
    meta["seconds"] = round(time.perf_counter() - started, 1)
    meta["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(format_table(rows))
    print("\n%s, %d CPUs, Python %s; %s; %d repeats (medians), %s; %.0f s; load %.2f -> %.2f"
          % (meta["machine"]["cpu"], meta["machine"]["cpus"], meta["machine"]["python"],
             meta["model"], args.repeats, "quick" if args.quick else "full", meta["seconds"],
             meta["machine"]["load_average_1m"], meta["load_average_1m_after"]))
    write_results(args.json, rows, meta)
    print("wrote %s" % args.json)
    return 0 if all(row["identical"] is not False for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
