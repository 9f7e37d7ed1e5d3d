"""reproduce.py end to end on the tiny BERT, and same-seed determinism of a classification run."""
import json
import os

import pytest
from support import run_python

from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.cli import reproduce
from bert_tf1.data import fixtures
from bert_tf1.reproduce import recipes

pytestmark = pytest.mark.e2e

TINY = dict(max_seq_length=32, train_batch_size=4, eval_batch_size=8, num_train_epochs=1.0,
            learning_rate=1e-4)


def tiny_recipe(tmp_path):
    """A two-variant IMDB recipe sized for the tiny BERT and the imdb fixture."""
    values = recipes.load_recipe("minilm-imdb-cpu").to_dict()
    values.update(name="tiny-imdb", version=2, settings=dict(
        values["settings"], train_examples=0, eval_examples=8, **TINY))
    values["variants"] = {"head": {"truncation": "head"},
                          "head+tail": {"truncation": "head+tail:4"}}
    path = tmp_path / "tiny-imdb.json"
    path.write_text(json.dumps(values))
    return str(path)


def test_reproduce_runs_every_variant_then_reuses_finished_runs(tiny_hub_module, tmp_path,
                                                                capsys, monkeypatch):
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=6)
    out = str(tmp_path / "out")
    args = ["--recipe", tiny_recipe(tmp_path), "--hub_module", tiny_hub_module,
            "--data_dir", data_dir, "--output_dir", out]
    # The first run names the data by a relative path from tmp_path ...
    monkeypatch.chdir(str(tmp_path))
    assert reproduce.main(args[:5] + [os.path.relpath(data_dir)] + args[6:]) == 0
    printed = capsys.readouterr().out
    assert "# Reproduction report: tiny-imdb@v2" in printed

    with open(os.path.join(out, "report", "report.json")) as handle:
        built = json.load(handle)
    assert [run["variant"] for run in built["runs"]] == ["head", "head+tail"]
    for run in built["runs"]:
        with open(os.path.join(out, run["variant"], "eval_results.json")) as handle:
            results = json.load(handle)
        assert run["eval_results"] == results
        # The plots use predictions of exactly the evaluated (sampled: 8 of 12) examples.
        assert run["recomputed"]["examples"] == results["num_eval_examples"] == 8
        assert run["recomputed"]["accuracy"] == pytest.approx(results["eval_accuracy"], abs=1e-6)
        assert run["settings"]["truncation"] == {"head": "head", "head+tail": "head+tail:4"}[
            run["variant"]]
    assert {"loss", "roc", "confusion_head", "confusion_head_tail"} == set(built["plots"])

    # Same command again: nothing is retrained.
    checkpoint = os.path.join(out, "head", "checkpoint")
    before = os.path.getmtime(checkpoint)
    assert reproduce.main(args) == 0
    assert "finished run found" in capsys.readouterr().out
    assert os.path.getmtime(checkpoint) == before
    # ... and is recognised from another working directory by another relative path.
    os.makedirs(str(tmp_path / "elsewhere"))
    monkeypatch.chdir(str(tmp_path / "elsewhere"))
    relative = ["--recipe", tiny_recipe(tmp_path), "--hub_module", tiny_hub_module,
                "--data_dir", os.path.relpath(data_dir), "--output_dir", os.path.relpath(out)]
    assert reproduce.main(relative) == 0
    assert capsys.readouterr().out.count("finished run found") == 2
    assert os.path.getmtime(checkpoint) == before

    # Different settings into the same folders: refused, not mixed.
    assert reproduce.main(args + ["--set", "learning_rate=0.001"]) == 2
    assert "different settings (learning_rate)" in capsys.readouterr().err
    # The report alone can be rebuilt with overrides that only change inference batching.
    assert reproduce.main(args + ["--report_only", "--set", "eval_batch_size=4"]) == 0


def test_list_names_every_recipe_with_its_version(capsys):
    assert reproduce.main(["--list"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == recipes.recipe_names()
    assert any(line.split()[1] == "v2" for line in printed if line.startswith("minilm-imdb-cpu"))


def test_missing_data_and_bad_variant_fail_before_any_run(tiny_hub_module, tmp_path):
    out = str(tmp_path / "out")
    result = run_python(["reproduce.py", "--recipe", "tfhub-imdb-notebook", "--hub_module",
                         tiny_hub_module, "--data_dir", str(tmp_path / "empty"),
                         "--output_dir", out], check=False)
    assert result.returncode == 2
    assert "recipe tfhub-imdb-notebook@v1 needs the imdb data" in result.stderr
    assert "How to get it: IMDB: `bert-tf1-get-data imdb" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_python(["reproduce.py", "--recipe", "sun2019-imdb", "--variant", "middle",
                         "--hub_module", tiny_hub_module, "--data_dir", str(tmp_path),
                         "--output_dir", out], check=False)
    assert result.returncode == 2 and "no variant 'middle'" in result.stderr
    assert not os.path.exists(out)


def _run(hub, data_dir, output_dir, seed):
    return run_classifier(ClassifierRunSettings(
        task_name="imdb", data_dir=data_dir, output_dir=output_dir, bert_hub_module_handle=hub,
        do_train=True, do_eval=True, do_predict=True, eval_split="test", seed=seed,
        deterministic=True, show_progress=False, **dict(TINY, max_seq_length=24,
                                                        num_train_epochs=2.0)))


def test_same_seed_gives_identical_metrics_and_predictions(tiny_hub_module, tmp_path):
    data_dir = fixtures.write_fixture("imdb", str(tmp_path / "data"), per_label=6)
    runs = [_run(tiny_hub_module, data_dir, str(tmp_path / name), seed)
            for name, seed in (("a", 3), ("b", 3), ("c", 4))]
    assert runs[0]["eval_results"] == runs[1]["eval_results"]
    tsv = [open(str(tmp_path / name / "test_results.tsv")).read() for name in "abc"]
    assert tsv[0] == tsv[1]
    # The seed does reach the run: another seed trains differently.
    assert tsv[2] != tsv[0]
