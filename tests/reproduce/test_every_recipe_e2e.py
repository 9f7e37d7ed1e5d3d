"""Every shipped recipe end to end, shrunk: the "common test" over the recipe registry.

Each recipe runs its last variant (the variants differ in one setting; test_reproduce_e2e runs
every variant of one recipe) on its task's fixture with the tiny BERT, sized down with --set
style overrides (batch, epochs, max_seq_length), all in one process to pay TensorFlow's start-up
once. Checked per recipe: the run finished, eval metrics and predictions of the evaluated
examples agree, and the report names the recipe and its references.
"""
import json
import os

import pytest

from bert_tf1.data import fixtures
from bert_tf1.reproduce import recipes, runner

pytestmark = pytest.mark.e2e

# The recipe's own max_seq_length is kept when a truncation rule needs more (sun2019's
# head+tail:128 keeps 128 tail tokens); everything else shrinks.
SHRUNK = dict(train_batch_size=8, eval_batch_size=16, num_train_epochs=1.0, max_seq_length=24)


def shrunk_overrides(recipe, variant):
    overrides = dict(SHRUNK)
    truncation = recipe.variant_settings(variant).get("truncation") or ""
    if truncation.startswith("head+tail:"):
        overrides["max_seq_length"] = int(truncation.split(":")[1]) + 8
    return overrides


def test_every_recipe_runs_end_to_end_on_the_tiny_bert(tiny_hub_module, tmp_path):
    names = recipes.recipe_names()
    assert len(names) == 16  # README says 16 recipes
    failures = []
    for name in names:
        recipe = recipes.load_recipe(name)
        variant = list(recipe.variants)[-1]
        data_dir = fixtures.write_fixture(recipe.task, str(tmp_path / name / "data"), per_label=4)
        out = str(tmp_path / name / "out")
        try:
            report = runner.reproduce(
                recipe, data_dir, out, {"bert_hub_module_handle": tiny_hub_module},
                overrides=shrunk_overrides(recipe, variant), variants=[variant],
                log=lambda message: None)
        except Exception as error:  # collect all, so one failing recipe does not hide others
            failures.append("%s: %s: %s" % (name, type(error).__name__, error))
            continue
        (run,) = report["runs"]
        with open(os.path.join(out, run["variant"], "run_manifest.json")) as handle:
            assert json.load(handle)["status"] == "finished", name
        results = run["eval_results"]
        assert results["num_eval_examples"] > 0, name
        if "eval_accuracy" in results:
            assert run["recomputed"]["accuracy"] == pytest.approx(results["eval_accuracy"],
                                                                  abs=1e-6), name
        with open(os.path.join(out, "report", "report.md")) as handle:
            text = handle.read()
        assert recipe.name in text, name
    assert not failures, "\n".join(failures)
