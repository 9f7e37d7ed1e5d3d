"""Recipes: named, versioned configurations of published BERT classification experiments.

A recipe pins everything a run depends on (task, data sampling, max_seq_length, batch size,
learning rate, epochs, warm-up, truncation, head, seed) and carries the numbers its source reported,
with the source, so `bert_tf1.reproduce.runner` can put measured and reference figures side by side.

Built-in recipes are JSON files in bert_tf1/resources/recipes/; `load_recipe` also takes the path
of a user's own JSON file with the same fields:

    {"name": "my-imdb", "version": 1, "title": "...", "task": "imdb",
     "data": "how to get the data (shown when data_dir lacks it)",
     "settings": {"max_seq_length": 128, "learning_rate": 2e-5, ...},   # ClassifierRunSettings
     "variants": {"head": {}, "head+tail": {"truncation": "head+tail:32"}},    # optional
     "references": [{"metric": "eval_accuracy", "value": 0.87, "model": "BERT-Base uncased",
                     "source": "paper / notebook and where in it", "note": "..."}],
     "notes": "..."}

Like BertConfig, a Recipe is a small plain object with from_dict / from_json_file / to_dict.
"""
import json
import os

from bert_tf1 import data
from bert_tf1.classifier.pipeline import ClassifierRunSettings
from bert_tf1.errors import BertTF1Error, located
from bert_tf1.paths import RESOURCES_DIR

RECIPE_DIR = os.path.join(RESOURCES_DIR, "recipes")

# Settings a recipe may not fix: they belong to the machine or the invocation, not the experiment.
_PER_RUN_SETTINGS = ("data_dir", "output_dir", "bert_hub_module_handle", "init_checkpoint",
                     "bert_config_file", "vocab_file", "do_train", "do_eval", "do_predict",
                     "use_tpu", "tpu_name", "tpu_zone", "gcp_project", "master", "tpu_job_name",
                     "show_progress")
_REQUIRED = ("name", "version", "title", "task", "data", "settings", "references")
_OPTIONAL = ("variants", "notes", "model")
_REFERENCE_FIELDS = ("metric", "value", "model", "source")


class Recipe(object):
    """One experiment: run settings, optional variants and the reference numbers to compare."""

    def __init__(self, name, version, title, task, data, settings, references, variants=None,
                 notes="", model=""):
        self.name = name
        self.version = version
        self.title = title
        self.task = task
        self.data = data
        self.settings = dict(settings)
        self.references = [dict(r) for r in references]
        self.variants = dict(variants or {"main": {}})
        self.notes = notes
        self.model = model

    @classmethod
    def from_dict(cls, values, origin="recipe"):
        """Builds and validates a Recipe; errors name `origin` (a file) and the field."""
        _validate(values, origin)
        return cls(**{key: values[key] for key in _REQUIRED + _OPTIONAL if key in values})

    @classmethod
    def from_json_file(cls, path):
        try:
            with open(path, "r", encoding="utf-8") as handle:
                values = json.load(handle)
        except ValueError as error:
            raise BertTF1Error(located(path, "not valid JSON (%s)" % error))
        return cls.from_dict(values, origin=path)

    def to_dict(self):
        return {"name": self.name, "version": self.version, "title": self.title,
                "task": self.task, "data": self.data, "settings": dict(self.settings),
                "variants": {k: dict(v) for k, v in self.variants.items()},
                "references": [dict(r) for r in self.references], "notes": self.notes,
                "model": self.model}

    @property
    def label(self):
        """name@vVERSION, the identifier written into reports and manifests."""
        return "%s@v%s" % (self.name, self.version)

    def variant_settings(self, variant, overrides=None):
        """Run settings of one variant: recipe settings, then the variant's, then `overrides`.

        Returns a dict of ClassifierRunSettings values (task_name included; paths excluded).
        """
        if variant not in self.variants:
            raise BertTF1Error("recipe %s has no variant '%s'; its variants: %s"
                               % (self.name, variant, ", ".join(self.variants)))
        values = dict(self.settings)
        values.update(self.variants[variant])
        values.update(overrides or {})
        values["task_name"] = self.task
        return values


def _validate(values, origin):
    """Raises BertTF1Error naming `origin` and the first field that is missing or wrong."""

    def fail(field, message):
        raise BertTF1Error(located(origin, message, field=field))

    if not isinstance(values, dict):
        raise BertTF1Error(located(origin, "expected a JSON object, found %s"
                                   % type(values).__name__))
    missing = [key for key in _REQUIRED if key not in values]
    if missing:
        raise BertTF1Error(located(origin, "missing field(s): %s" % ", ".join(missing)))
    unknown = sorted(set(values) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        fail(unknown[0], "unknown field; expected fields: %s"
             % ", ".join(_REQUIRED + _OPTIONAL))
    if not isinstance(values["name"], str) or not values["name"].strip():
        fail("name", "expected a non-empty string")
    if not isinstance(values["version"], int) or isinstance(values["version"], bool) \
            or values["version"] < 1:
        fail("version", "expected a positive integer, found %r" % (values["version"],))
    settings_sources = [("settings", values["settings"])]
    variants = values.get("variants", {"main": {}})
    if not isinstance(variants, dict) or not variants:
        fail("variants", "expected an object {variant name: {setting: value}}")
    settings_sources += [("variants.%s" % name, v) for name, v in variants.items()]
    known = set(ClassifierRunSettings.DEFAULTS) - {"task_name"}
    for field, settings in settings_sources:
        if not isinstance(settings, dict):
            fail(field, "expected an object of run settings, found %r" % (settings,))
        for key in settings:
            if key in _PER_RUN_SETTINGS:
                fail("%s.%s" % (field, key), "belongs to the command line, not to a recipe")
            if key not in known:
                fail("%s.%s" % (field, key), "not a run setting; known: %s"
                     % ", ".join(sorted(known - set(_PER_RUN_SETTINGS))))
    references = values["references"]
    if not isinstance(references, list):
        fail("references", "expected a list of {metric, value, model, source}")
    for index, reference in enumerate(references):
        field = "references[%d]" % index
        if not isinstance(reference, dict):
            fail(field, "expected an object")
        absent = [key for key in _REFERENCE_FIELDS if key not in reference]
        if absent:
            fail(field, "missing %s" % ", ".join(absent))
        if not isinstance(reference["value"], (int, float)) or isinstance(reference["value"],
                                                                          bool):
            fail(field + ".value", "expected a number, found %r" % (reference["value"],))

    data.get_task(values["task"])


def recipe_names():
    """Sorted names of the built-in recipes."""
    return sorted(name[:-len(".json")] for name in os.listdir(RECIPE_DIR)
                  if name.endswith(".json"))


def load_recipe(name_or_path):
    """A built-in recipe by name, or a recipe JSON file by path.

    >>> load_recipe("tfhub-imdb-notebook").settings["learning_rate"]
    2e-05
    """
    if name_or_path.endswith(".json") or os.sep in name_or_path:
        if not os.path.isfile(name_or_path):
            raise BertTF1Error("recipe file %s does not exist" % name_or_path)
        return Recipe.from_json_file(name_or_path)
    path = os.path.join(RECIPE_DIR, name_or_path + ".json")
    if not os.path.isfile(path):
        raise BertTF1Error("unknown recipe '%s'; known recipes: %s (or give the path of a "
                           "recipe .json file)" % (name_or_path, ", ".join(recipe_names())))
    recipe = Recipe.from_json_file(path)
    if recipe.name != name_or_path:
        raise BertTF1Error(located(path, "name is '%s' but the file is named '%s'"
                                   % (recipe.name, name_or_path), field="name"))
    return recipe
