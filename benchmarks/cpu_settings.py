#!/usr/bin/env python
"""CPU builds and settings for run_classifier_hub.py: which ones are faster, same outputs?

    python benchmarks/cpu_settings.py [--quick] [--repeats N] [--intel_python PATH]
        [--hub_module DIR] [--work_dir DIR] [--json benchmarks/results/cpu_settings.json]

Variants of the kit's own run (short texts, the same data and hub module as benchmarks/run.py):
  stock                  TensorFlow 1.15.5, Estimator's default session config
  xla_jit                --xla_jit with TF_XLA_FLAGS=--tf_xla_cpu_global_jit (auto-clustering)
  intra1 / inter1        --intra_op_threads=1 / --inter_op_threads=1 (TF's default: CPU count)
  intel                  intel-tensorflow==1.15.2 (oneDNN) via --intel_python, a venv holding
                         requirements-tf1-intel.txt (skipped without it)
Each run trains, evaluates and predicts with --deterministic, so every variant computes the same
numbers up to float rounding: `max |diff|` is the largest difference of the predicted
probabilities against `stock`, `identical` means <= 1e-4. Interleaved repeats, medians; the
train and eval rates are measured as in benchmarks/run.py (log line timestamps).
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run as bench  # noqa: E402  (benchmarks/run.py: the shared measuring code)

DEFAULT_JSON = os.path.join(bench.REPO, "benchmarks", "results", "cpu_settings.json")
XLA_ENV = {"TF_XLA_FLAGS": "--tf_xla_cpu_global_jit"}


def variants(intel_python):
    """name -> (python, extra flags, environment)."""
    found = {
        "stock": (sys.executable, [], {}),
        "xla_jit": (sys.executable, ["--xla_jit"], XLA_ENV),
        "intra1": (sys.executable, ["--intra_op_threads=1"], {}),
        "inter1": (sys.executable, ["--inter_op_threads=1"], {}),
    }
    if intel_python:
        found["intel"] = (intel_python, [], {"PYTHONPATH": bench.REPO})
    return found


def read_probabilities(output_dir):
    with open(os.path.join(output_dir, "test_results.tsv"), encoding="utf-8") as handle:
        return [[float(value) for value in line.split("\t")] for line in handle if line.strip()]


def one_run(name, variant, data_dir, module, work, batch, steps, train_examples, eval_examples):
    python, flags, env = variant
    output_dir = tempfile.mkdtemp(prefix="cpu_%s_" % name, dir=work)
    command = bench.classifier_command(
        "ours", python, data_dir, module, output_dir, 128, batch, steps, train_examples,
        extra=flags + ["--deterministic", "--do_predict", "--predict_split=dev",
                       "--predict_batch_size=%d" % batch])
    marks = (bench.STEP_RATE, bench.LAST_CHECKPOINT % steps, bench.EVAL_START, bench.EVAL_END)
    _, seen, _ = bench.timed_run(command, bench.REPO, env=env, marks=marks,
                                 log_file=output_dir + ".log")
    result = {
        "train": (steps - 2) * batch / (seen[marks[1]] - seen[marks[0]]),
        "eval": eval_examples / (seen[bench.EVAL_END] - seen[bench.EVAL_START]),
        "startup": seen[marks[0]],
        "probabilities": read_probabilities(output_dir),
    }
    bench.log("  %s: start-up %.1f s, train %.0f ex/s, eval %.0f ex/s" % (
        name, result["startup"], result["train"], result["eval"]))
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--intel_python", default=None)
    parser.add_argument("--variants", default=None, help="comma-separated subset")
    parser.add_argument("--hub_module", default=None)
    parser.add_argument("--work_dir", default=None)
    parser.add_argument("--json", default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    size = lambda name: bench.SIZES[name][1 if args.quick else 0]  # noqa: E731
    repeats = args.repeats or size("repeats")
    from bert_tf1 import compat

    compat.setup_tf1()
    work = args.work_dir or tempfile.mkdtemp(prefix="bert_tf1_cpu_")
    os.makedirs(work, exist_ok=True)
    module = args.hub_module or bench.tiny_hub_module(work)
    batch, steps = size("batch_size"), size("train_steps")
    train = bench.synthetic_texts(batch * steps, bench.SHORT[0], bench.SHORT[1], seed=5)
    dev = bench.synthetic_texts(size("eval_examples"), bench.SHORT[0], bench.SHORT[1], seed=6)
    data_dir = bench.write_cola_dir(os.path.join(work, "short_data"), train, dev)
    chosen = variants(args.intel_python)
    if args.variants:
        chosen = {name: chosen[name] for name in args.variants.split(",")}
    names = list(chosen)
    results = {name: [] for name in names}
    for repeat in range(repeats):
        for name in (names if repeat % 2 == 0 else list(reversed(names))):
            results[name].append(one_run(name, chosen[name], data_dir, module, work, batch,
                                         steps, len(train), len(dev)))
    reference = results[names[0]][0]["probabilities"]
    rows = []
    for name in names:
        diff = max(abs(a - b) for runs in results[name] for row, ref in
                   zip(runs["probabilities"], reference) for a, b in zip(row, ref))
        for what in ("train", "eval"):
            rows.append(bench.make_row(
                "%s: %s, short texts" % (name, "fine-tuning" if what == "train" else "eval"),
                bench.median([r[what] for r in results[names[0]]]),
                bench.median([r[what] for r in results[name]]), "examples/s", diff <= 1e-4,
                "baseline: %s; max |diff| of probabilities %.1e" % (names[0], diff)))
    print(bench.format_table(rows))
    meta = {"machine": bench.machine(), "quick": args.quick, "repeats": repeats,
            "variants": {name: {"flags": chosen[name][1], "env": chosen[name][2],
                                "python": chosen[name][0]} for name in names}}
    bench.write_results(args.json, rows, meta)
    print("wrote %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
