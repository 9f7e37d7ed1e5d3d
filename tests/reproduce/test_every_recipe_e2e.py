"""Every shipped recipe, shrunk: the "common test" over the recipe registry.

RUN_END_TO_END recipes run their last variant (the variants differ in one setting;
test_reproduce_e2e runs every variant of one recipe) on their task's fixture with the tiny BERT,
sized down with --set style overrides (batch, epochs, max_seq_length), in one test to pay
TensorFlow's start-up once: together with test_reproduce_e2e (mean head, head and head+tail
truncation) and test_pipeline_e2e (every task's reader) each head, truncation, task type and
data layout the recipes use. Checked per recipe: the run finished, the metrics agree with those
recomputed from the predictions of the evaluated examples, and the report names the recipe.

minilm-imdb-cpu (mean head) runs, both variants, as the shrunk copy in test_reproduce_e2e.py.
The other recipes differ from one of those only in the task or epochs (the BERT paper's GLUE
recipes share one protocol; tfhub-imdb-notebook and annotated-bert-imdb are pooled-head IMDB
runs of 3 and 2 epochs), and every task runs end to end in
tests/classifier/test_pipeline_e2e.py: for them, test_every_other_recipe_resolves...
builds the run settings of every variant and checks the task's fixture satisfies the recipe's
data check, without training (about 10 s of training and reporting saved per recipe).
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


RUN_END_TO_END = [
    "tl4nlp-imdb-frozen",  # frozen_mlp head, aclImdb folders, binary, eval on test
    "quora-insincere",  # CSV, a dev split carved from train, sampled train/eval examples
    "bert-paper-glue-sts-b",  # regression, sentence pairs (GLUE TSV)
    "bert-paper-glue-mnli-mm",  # three classes, sentence pairs, the mismatched dev file
]
# Not run here (fast checks only), each covered elsewhere end to end:
# - sun2019-imdb (pooled head on aclImdb folders, head+tail truncation): the runner trains
#   head+tail variants in test_reproduce_e2e (minilm-imdb-cpu's head and head+tail), pooled
#   heads run in quora/sts-b/mnli-mm above, aclImdb folders in tl4nlp above; its
#   max_seq_length 136 made it the slowest recipe here.
# - civil-email (class folders, e-mail headers, pooled, binary): the civil reader trains end
#   to end in tests/classifier/test_pipeline_e2e.py (split and flat layouts), binary pooled
#   runs through the runner in quora above.


def test_recipe_registry_is_the_one_readme_describes():
    names = recipes.recipe_names()
    assert len(names) == 16  # README says 16 recipes
    assert set(RUN_END_TO_END) <= set(names)


def test_every_other_recipe_resolves_and_finds_its_data(tmp_path):
    for name in sorted(set(recipes.recipe_names()) - set(RUN_END_TO_END)):
        recipe = recipes.load_recipe(name)
        data_dir = fixtures.write_fixture(recipe.task, str(tmp_path / name / "data"), per_label=2)
        for variant in recipe.variants:
            settings = runner.run_settings(recipe, variant, data_dir, str(tmp_path / name),
                                           {"bert_hub_module_handle": "unused"})
            assert settings.task_name == recipe.task and settings.do_train, (name, variant)
            runner.check_data(recipe, settings)


def test_recipes_run_end_to_end_on_the_tiny_bert(tiny_hub_module, tmp_path):
    failures = []
    for name in RUN_END_TO_END:
        recipe = recipes.load_recipe(name)
        variant = list(recipe.variants)[-1]
        data_dir = fixtures.write_fixture(recipe.task, str(tmp_path / name / "data"),
                                          per_label=10)  # quora carves 10% dev: 2 rows
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
