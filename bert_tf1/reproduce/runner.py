"""Runs a recipe end to end and writes its reproduction report.

    reproduce.py --recipe tfhub-imdb-notebook --hub_module PATH --data_dir DATA --output_dir OUT

For each variant of the recipe (most have one; minilm-imdb-cpu compares head-only with head+tail
truncation) this fine-tunes in OUT/<variant>, evaluates on the recipe's eval split and predicts the
same examples (for the ROC and confusion plots), then writes OUT/report/report.md with the measured
metrics beside the recipe's reference numbers. A variant whose folder already holds a finished run
with the same settings is not run again (delete the folder to re-run); --report_only never trains.
"""
import json
import os
import platform

import tensorflow as tf

from bert_tf1 import data
from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.data import loading
from bert_tf1.data.fileio import is_remote
from bert_tf1.errors import BertTF1Error
from bert_tf1.reproduce import report as report_lib
from bert_tf1.runtime import outputs

REPORT_SUBDIR = "report"


def parse_overrides(items):
    """['num_train_epochs=1', 'head=mean'] -> {'num_train_epochs': 1, 'head': 'mean'}.

    Values are read as JSON when they parse (numbers, true/false), else kept as strings.
    """
    overrides = {}
    for item in items or []:
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise BertTF1Error("--set %r: expected NAME=VALUE" % item)
        try:
            overrides[key.strip()] = json.loads(value)
        except ValueError:
            overrides[key.strip()] = value
    return overrides


def run_settings(recipe, variant, data_dir, output_dir, model_flags, overrides=None):
    """ClassifierRunSettings for one variant: train, evaluate, and predict the evaluated examples.

    model_flags: {"bert_hub_module_handle": ...} or the checkpoint flags (init_checkpoint,
    bert_config_file, vocab_file, do_lower_case).
    """

    values = recipe.variant_settings(variant, overrides)
    _check_settings_names(values)
    # Local paths are recorded absolute, so a later run from another working directory still
    # recognises its finished runs (_finished_with).
    values.update({name: _absolute(path) for name, path in model_flags.items()})
    values.update(data_dir=_absolute(data_dir), output_dir=os.path.join(output_dir, variant),
                  do_train=True, do_eval=True, do_predict=True)
    values.setdefault("eval_split", "dev")
    values.setdefault("predict_batch_size", values.get("eval_batch_size", 8))
    # Predict exactly the evaluated examples: the report's plots are computed from them.
    values["predict_split"] = values["eval_split"]
    values["predict_examples"] = values.get("eval_examples", 0)
    return ClassifierRunSettings(**values)


def _check_settings_names(values):
    unknown = sorted(set(values) - set(ClassifierRunSettings.DEFAULTS))
    if unknown:
        raise BertTF1Error("--set %s: not a run setting; known: %s"
                           % (unknown[0], ", ".join(sorted(ClassifierRunSettings.DEFAULTS))))


def check_data(recipe, settings):
    """Fails before any model is built when data_dir lacks a split the recipe needs."""

    try:
        spec = data.resolve_task(settings.task_name, settings.data_dir,
                                 **settings.task_options)
        needed = ["train"]
        if settings.eval_split != "dev" or "dev" in spec.splits:
            needed.append(settings.eval_split)
        for split in needed:
            if split not in spec.files:
                raise BertTF1Error("task %s has no '%s' split (it has %s)"
                                   % (spec.name, split, ", ".join(spec.splits)))
            loading.locate(spec.for_split(split), settings.data_dir, split)
    except BertTF1Error as error:
        raise BertTF1Error("recipe %s needs the %s data in --data_dir=%s: %s\nHow to get it: %s"
                           % (recipe.label, recipe.task, settings.data_dir, error, recipe.data))


def _finished_with(settings):
    """True when settings.output_dir holds a finished run made with the same settings."""

    path = os.path.join(settings.output_dir, outputs.MANIFEST_JSON)
    if settings.overwrite_output_dir or not tf.io.gfile.exists(path):
        return False  # overwrite_output_dir: the run starts over (pipeline's rerun contract)
    with tf.io.gfile.GFile(path, "r") as handle:
        try:
            manifest = json.load(handle)
        except ValueError:
            return False
    done = manifest.get("status") == "finished" and tf.io.gfile.exists(
        os.path.join(settings.output_dir, outputs.EVAL_RESULTS_JSON))
    if not done:
        return False
    recorded = manifest.get("flags", {})
    # Settings that change how a run is logged or batched at inference, not its numbers.
    # output_dir is where the run lives, not what it did (a finished run may have been moved).
    # Speed settings whose outputs are tested equal (dynamic padding, feature workers and
    # cache, tokenizer implementation, session settings) do not make a finished run stale.
    ignored = ("show_progress", "log_every_n_steps", "save_checkpoints_steps",
               "keep_checkpoint_max", "eval_batch_size", "predict_batch_size", "output_dir",
               "xla_jit", "intra_op_threads", "inter_op_threads", "dynamic_padding",
               "eval_length_sort", "predict_length_sort", "feature_workers",
               "feature_cache_dir", "tokenizer", "export_dir", "overwrite_output_dir")
    differing = sorted(name for name, value in settings.to_dict().items()
                       if name not in ignored and name in recorded
                       and _comparable(recorded[name]) != _comparable(value))
    if differing:
        raise BertTF1Error("%s holds a finished run with different settings (%s); give another "
                           "--output_dir or delete that folder" % (settings.output_dir,
                                                                   ", ".join(differing)))
    return True


def _absolute(value):
    """A local path made absolute; URLs (gs://, s3://, http...), non-strings as they are."""

    if isinstance(value, str) and value and not is_remote(value):
        return os.path.abspath(value)
    return value


def _comparable(value):
    """An existing local path as its real path (symlinks and ../ resolved), so the same folder
    named two ways compares equal; anything else (URLs, numbers) as it is."""

    if isinstance(value, str) and value and not is_remote(value) and os.path.exists(value):
        return os.path.realpath(value)
    return value


def environment_line():
    """One line naming the machine and the software versions that produced the numbers."""

    versions = outputs.package_versions()
    return "%s, Python %s, %d CPU(s), %s" % (
        platform.platform(), platform.python_version(), os.cpu_count() or 0,
        ", ".join("%s %s" % item for item in sorted(versions.items())))


def reproduce(recipe, data_dir, output_dir, model_flags, overrides=None, variants=None,
              report_only=False, log=print):
    """Runs (or, with report_only, only reads) every requested variant and writes the report.

    Returns:
      the report dict (see bert_tf1.reproduce.report.build_report).
    """

    variants = list(variants or recipe.variants)
    for variant in variants:
        recipe.variant_settings(variant)  # unknown variant -> error naming the known ones
    runs = []
    for variant in variants:
        settings = run_settings(recipe, variant, data_dir, output_dir, model_flags, overrides)
        if not report_only:
            if _finished_with(settings):
                log("%s: finished run found in %s, not re-running" % (variant,
                                                                      settings.output_dir))
            else:
                check_data(recipe, settings)
                log("%s: running in %s" % (variant, settings.output_dir))
                run_classifier(settings)
        runs.append(report_lib.read_run(settings.output_dir, variant))
    model = model_flags.get("bert_hub_module_handle") or model_flags.get("init_checkpoint", "")
    return report_lib.build_report(recipe, runs, os.path.join(output_dir, REPORT_SUBDIR),
                                   overrides=overrides, environment=environment_line(),
                                   model=model)
