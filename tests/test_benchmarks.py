"""benchmarks/run.py plumbing: rows, the table, the JSON file and the shared data (no timing)."""
import importlib.util
import json
import os

import pytest
from support import REPO_ROOT

from bert_tf1 import data


def load_run_module():
    spec = importlib.util.spec_from_file_location(
        "benchmarks_run", os.path.join(REPO_ROOT, "benchmarks", "run.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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
    data_dir = bench.write_cola_dir(str(tmp_path / "cola"), texts, texts[:2])
    theirs = run_classifier.ColaProcessor().get_train_examples(data_dir)
    ours = data.load_examples(data.resolve_task("cola", data_dir), data_dir, "train")
    assert [(e.text_a, e.label) for e in theirs] == [(e.text_a, e.label) for e in ours]
    assert [e.text_a for e in ours] == texts
