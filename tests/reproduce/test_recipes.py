"""Recipes: every built-in one loads and yields valid run settings; bad recipes fail clearly."""
import json

import pytest

from bert_tf1 import data
from bert_tf1.classifier.pipeline import ClassifierRunSettings
from bert_tf1.errors import BertTF1Error
from bert_tf1.reproduce import recipes
from bert_tf1.reproduce.runner import parse_overrides

# The experiments issue 4 names; each must exist as a built-in recipe.
REQUIRED = ("tfhub-imdb-notebook", "annotated-bert-imdb", "tl4nlp-imdb-frozen", "quora-insincere",
            "civil-email", "bert-paper-glue-mrpc", "sun2019-imdb", "minilm-imdb-cpu")


def test_the_named_experiments_are_built_in():
    assert set(REQUIRED) <= set(recipes.recipe_names())


@pytest.mark.parametrize("name", recipes.recipe_names())
def test_every_recipe_loads_and_every_variant_makes_valid_settings(name):
    recipe = recipes.load_recipe(name)
    assert recipe.name == name and recipe.label == "%s@v%d" % (name, recipe.version)
    assert recipe.title and recipe.data
    data.get_task(recipe.task)
    for variant in recipe.variants:
        settings = ClassifierRunSettings(**recipe.variant_settings(variant))
        assert settings.task_name == recipe.task
        assert settings.max_seq_length <= 512
    for reference in recipe.references:
        assert reference["source"] and isinstance(reference["value"], (int, float))
    # A recipe without a reference number says why in its notes.
    assert recipe.references or "no reference" in recipe.notes.lower() \
        or "no published reference" in recipe.notes.lower()


def test_the_tf_hub_notebook_recipe_pins_the_notebook_settings():
    recipe = recipes.load_recipe("tfhub-imdb-notebook")
    values = recipe.variant_settings("main")
    assert (values["train_examples"], values["eval_examples"], values["max_seq_length"],
            values["train_batch_size"], values["learning_rate"], values["num_train_epochs"],
            values["warmup_proportion"]) == (5000, 5000, 128, 32, 2e-5, 3.0, 0.1)
    assert recipes.load_recipe("annotated-bert-imdb").settings["num_train_epochs"] == 2.0
    sun = recipes.load_recipe("sun2019-imdb")
    assert sun.variant_settings("head+tail")["truncation"] == "head+tail:128"
    assert sun.settings["max_seq_length"] == 512
    assert recipes.load_recipe("tl4nlp-imdb-frozen").settings["head"] == "frozen_mlp"


def test_variant_then_command_line_override_the_recipe():
    recipe = recipes.load_recipe("minilm-imdb-cpu")
    values = recipe.variant_settings("head+tail", {"num_train_epochs": 1, "truncation": "tail"})
    assert values["num_train_epochs"] == 1 and values["truncation"] == "tail"
    assert recipe.variant_settings("head+tail")["truncation"] == "head+tail:32"
    with pytest.raises(BertTF1Error, match="no variant 'middle'.*head, head\\+tail"):
        recipe.variant_settings("middle")


def test_unknown_recipe_lists_the_known_ones():
    with pytest.raises(BertTF1Error) as error:
        recipes.load_recipe("imdb-nope")
    assert "unknown recipe 'imdb-nope'" in str(error.value)
    assert "tfhub-imdb-notebook" in str(error.value) and "sun2019-imdb" in str(error.value)
    with pytest.raises(BertTF1Error, match="does not exist"):
        recipes.load_recipe("/nowhere/recipe.json")


def _write(tmp_path, **changes):
    values = recipes.load_recipe("tfhub-imdb-notebook").to_dict()
    values.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del values[key]
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(values))
    return str(path)


def test_a_user_recipe_file_loads(tmp_path):
    recipe = recipes.load_recipe(_write(tmp_path, name="mine", version=3))
    assert recipe.label == "mine@v3"


@pytest.mark.parametrize("changes, message", [
    (dict(version=None), "missing field\\(s\\): version"),
    (dict(version="1"), "field 'version': expected a positive integer"),
    (dict(flavour="x"), "field 'flavour': unknown field"),
    (dict(settings={"learning_rat": 1e-5}), "field 'settings.learning_rat': not a run setting"),
    (dict(settings={"output_dir": "/tmp/x"}), "settings.output_dir': belongs to the command"),
    (dict(variants={"a": {"use_tpu": True}}), "variants.a.use_tpu': belongs to the command"),
    (dict(references=[{"metric": "f1", "value": "high", "model": "m", "source": "s"}]),
     "references\\[0\\].value': expected a number"),
    (dict(references=[{"metric": "f1", "value": 0.9}]), "references\\[0\\]': missing model"),
    (dict(task="imbd"), "unknown task 'imbd'"),
])
def test_bad_recipe_files_name_the_file_and_field(tmp_path, changes, message):
    path = _write(tmp_path, **changes)
    with pytest.raises(BertTF1Error, match=message) as error:
        recipes.load_recipe(path)
    assert str(error.value).startswith(path) or "unknown task" in str(error.value)


def test_a_recipe_file_that_is_not_json_names_its_path(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{name: ")
    with pytest.raises(BertTF1Error, match="broken.json: not valid JSON"):
        recipes.load_recipe(str(path))


def test_overrides_parse_as_json_values_or_strings():
    assert parse_overrides(["num_train_epochs=1", "head=mean", "deterministic=true",
                            "truncation=head+tail:32"]) == {
        "num_train_epochs": 1, "head": "mean", "deterministic": True,
        "truncation": "head+tail:32"}
    with pytest.raises(BertTF1Error, match="expected NAME=VALUE"):
        parse_overrides(["epochs"])
