"""run_classifier_hub.py's flag handling: typed --task_option values, generic-task flags, --task.

Command lines are parsed by absl into a fresh FlagValues (the global FLAGS stay untouched), then
turned into ClassifierRunSettings exactly as main() does.
"""
import os

import pytest
from absl import flags
from support import REPO_ROOT, run_python

from bert_tf1.cli import run_classifier_hub as cli
from bert_tf1.data import fixtures, load_examples, tasks
from bert_tf1.errors import BertTF1Error


def parse(*args):
    """argv (without the program name) -> flag values dict, as FLAGS.flag_values_dict()."""
    values = flags.FlagValues()
    cli.define_flags(values)
    values(["run_classifier_hub.py"] + list(args))
    return values.flag_values_dict()


def options(*args):
    return cli.task_options_from_flags(parse(*args))


@pytest.mark.parametrize("arg, expected", [
    ("skip_empty=false", {"skip_empty": False}),  # the string "false" would be truthy
    ("skip_empty=True", {"skip_empty": True}),
    ("skip_malformed=no", {"skip_malformed": False}),
    ("header=1", {"header": True}),
    ("email=true", {"email": True}),
    ("email=auto", {"email": "auto"}),
    ("text_a=2", {"text_a": 2}),
    ("text_a=-1", {"text_a": -1}),
    ("text_a=review", {"text_a": "review"}),
    ("text_a=--1", {"text_a": "--1"}),  # not an index: a column name
    ("text_a=\u00b2", {"text_a": "\u00b2"}),  # '²' is a digit to str.isdigit, not to int()
    ("text_b=none", {"text_b": None}),
    ("labels=neg,pos", {"labels": ["neg", "pos"]}),
    ('labels=["a,b", "c"]', {"labels": ["a,b", "c"]}),
    ("labels=regression", {"labels": "regression"}),
    ("label_range=0,5", {"label_range": [0.0, 5.0]}),
    ("label_map=n:neg,p:pos", {"label_map": {"n": "neg", "p": "pos"}}),
    ('label_map={"1": "pos"}', {"label_map": {"1": "pos"}}),
    ("class_dirs=spam:spam|junk,ham:ham", {"class_dirs": {"spam": ["spam", "junk"],
                                                          "ham": ["ham"]}}),
    ("delimiter=tab", {"delimiter": "\t"}),
    ("delimiter=\\t", {"delimiter": "\t"}),
    ("delimiter=;", {"delimiter": ";"}),
    ("quoting=none", {"quoting": "none"}),
    ("dev_file=elsewhere/dev.csv", {"dev_file": "elsewhere/dev.csv"}),
])
def test_task_option_values_are_typed(arg, expected):
    assert options("--task=csv", "--task_option=" + arg) == expected


def test_params_take_the_type_of_their_default_and_filters_add_up():
    assert options("--task=xnli", "--task_option=language=de") == {"language": "de"}
    assert options("--task=imdb", "--task_option=filter=source:imdb|rt",
                   "--task_option=filter=2:x") == {"filter": {"source": ["imdb", "rt"],
                                                              2: ["x"]}}


@pytest.mark.parametrize("arg, message", [
    ("skip_empty=maybe", "--task_option skip_empty=maybe: option 'skip_empty': expected a "
                         "boolean"),
    ("email=sometimes", "expected true, false or auto, found 'sometimes'"),
    ("label_range=0", "option 'label_range': expected low,high"),
    ("label_range=5,0", "option 'label_range'"),
    ("delimiter=;;", "option 'delimiter': expected one character"),
    ("label_map=oops", "option 'label_map': expected raw:name pairs"),
    ("labels={\"a\": 1}", "option 'labels': expected comma-separated label names"),
    ("filter=source", "option 'filter': expected column:value|value"),
    ("text_a=", "option 'text_a': expected a column index"),
    ("colour=blue", "unknown option 'colour' for task 'csv'; accepted options: class_dirs"),
    ("no_equals_sign", "--task_option 'no_equals_sign': expected key=value"),
])
def test_bad_task_option_values_are_clear_errors(arg, message):
    with pytest.raises(BertTF1Error) as error:
        options("--task=csv", "--task_option=" + arg)
    assert message in str(error.value)


def test_generic_task_flags_become_options():
    assert options("--task=tsv", "--text_a_column=1", "--text_b_column=question",
                   "--label_column=0", "--label_list=neg,pos", "--noheader",
                   "--train_file=a.tsv", "--dev_file=b.tsv", "--test_file=c.tsv") == {
        "text_a": 1, "text_b": "question", "label": 0, "labels": ["neg", "pos"],
        "header": False, "train_file": "a.tsv", "dev_file": "b.tsv", "test_file": "c.tsv"}
    assert options("--task=tsv") == {}
    assert options("--task=tsv", "--header")["header"] is True
    with pytest.raises(BertTF1Error, match="--text_a_column=: option 'text_a': expected a "
                                           "column index"):
        options("--task=tsv", "--text_a_column=")


def test_typed_options_read_the_data_as_meant(tmp_path):
    """skip_empty=false must keep failing on an empty text; skip_empty=true drops it."""
    data_dir = str(tmp_path)
    with open(os.path.join(data_dir, "train.csv"), "w") as handle:
        handle.write("text,label\nfine,a\n,b\nok,b\n")
    for arg, expect_error in (("false", True), ("true", False)):
        task_options = options("--task=csv", "--task_option=skip_empty=" + arg)
        if expect_error:
            with pytest.raises(BertTF1Error, match="empty text"):
                load_examples("csv", data_dir, "train", **task_options)
        else:
            assert len(load_examples("csv", data_dir, "train", **task_options)) == 2


def test_task_and_task_name_must_agree():
    with pytest.raises(BertTF1Error, match="--task=imdb and --task_name=cola disagree"):
        cli.settings_from_flags(parse("--task=imdb", "--task_name=cola"))
    # Case does not matter (Google's scripts lower-case the task name); either flag alone works.
    assert cli.settings_from_flags(parse("--task=IMDB", "--task_name=imdb")).task_name == "imdb"
    assert cli.settings_from_flags(parse("--task_name=MRPC")).task_name == "mrpc"
    assert cli.settings_from_flags(parse("--task=sst2")).task_name == "sst2"
    assert cli.settings_from_flags(parse()).task_name is None


def test_settings_carry_the_typed_options():
    settings = cli.settings_from_flags(parse(
        "--task=spam", "--task_option=skip_empty=false", "--dev_fraction=0.25", "--use_tpu"))
    assert settings.task_options == {"skip_empty": False}
    assert settings.dev_fraction == 0.25 and settings.use_tpu is True


def test_unknown_task_leaves_options_untyped_for_the_pipeline_to_report():
    assert options("--task=nosuchtask", "--task_option=x=1") == {"x": "1"}


def test_cli_reports_a_bad_task_option_without_traceback(tmp_path):
    data_dir = fixtures.write_fixture("spam", str(tmp_path / "data"), per_label=2)
    result = run_python([os.path.join(REPO_ROOT, "run_classifier_hub.py"), "--task=spam",
                         "--do_train", "--data_dir=%s" % data_dir,
                         "--output_dir=%s" % (tmp_path / "out"),
                         "--bert_hub_module_handle=/nonexistent",
                         "--task_option=skip_empty=perhaps"], check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "--task_option skip_empty=perhaps: option 'skip_empty': expected a boolean" \
        in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_list_tasks_prints_every_task_with_its_files_and_columns():
    result = run_python(["run_classifier_hub.py", "--list_tasks"])
    blocks = {block.split()[0]: block for block in result.stdout.strip().split("\n\n")}
    assert {"cola", "mrpc", "imdb", "spam", "csv", "tsv", "jsonl", "folder"} <= set(blocks)
    assert "train train.csv" in " ".join(blocks["csv"].split())
    assert "dev   dev.csv (optional: carved from train when absent)" in blocks["csv"]
    assert "columns: text_a=text, label=label, header row" in blocks["csv"]
    assert result.stdout == tasks.tasks_help()  # the same text as docs/tasks.md


def test_encoding_flag_becomes_the_task_option_and_defaults_to_the_tasks():
    assert options("--task_name=csv", "--encoding=cp1252") == {"encoding": "cp1252"}
    assert "encoding" not in options("--task_name=csv")


def test_padding_and_feature_flags_reach_the_settings():
    from bert_tf1.classifier import pipeline

    defaults = cli.settings_from_flags(parse())
    assert defaults.dynamic_padding is True and defaults.length_buckets is None
    assert defaults.train_length_splits == 0  # automatic (pipeline.train_length_splits)
    assert pipeline.uses_dynamic_padding(defaults)
    assert cli.settings_from_flags(parse("--train_length_splits=3")).train_length_splits == 3
    settings = cli.settings_from_flags(parse(
        "--nodynamic_padding", "--length_buckets=32,64", "--feature_workers=3",
        "--feature_cache_dir=none"))
    assert (settings.dynamic_padding, settings.length_buckets, settings.feature_workers,
            settings.feature_cache_dir) == (False, ["32", "64"], 3, "none")
    # A TPU keeps static shapes whatever --dynamic_padding says.
    tpu = cli.settings_from_flags(parse("--use_tpu"))
    assert tpu.dynamic_padding and not pipeline.uses_dynamic_padding(tpu)


@pytest.mark.parametrize("args, full_batches, expected", [
    ((), False, (True, None)),                              # the default: sorted eval
    (("--length_buckets=32",), False, (True, None)),        # sorting replaces buckets
    (("--noeval_length_sort", "--length_buckets=32"), False, (False, ["32"])),
    (("--noeval_length_sort",), False, (False, None)),
    (("--use_tpu",), True, (False, None)),                  # static shapes, file order
    ((), True, (False, None)),                              # --pad_batches
    (("--nodynamic_padding",), False, (False, None))])
def test_eval_sorts_by_length_by_default_but_never_with_static_shapes(args, full_batches,
                                                                      expected):
    from bert_tf1.classifier import pipeline

    settings = cli.settings_from_flags(parse(*args))
    assert pipeline.inference_regrouping(settings, full_batches, settings.length_buckets,
                                         settings.eval_length_sort) == expected


@pytest.mark.parametrize("args, full_batches, expected", [
    ((), False, True),                                      # the default: sorted predict
    (("--nopredict_length_sort",), False, False),
    (("--noeval_length_sort",), False, True),               # each flag its own action
    (("--use_tpu",), True, False),                          # static shapes, file order
    ((), True, False),                                      # --pad_batches
    (("--nodynamic_padding",), False, False)])
def test_predict_sorts_by_length_by_default_but_never_with_static_shapes(args, full_batches,
                                                                         expected):
    from bert_tf1.classifier import pipeline

    settings = cli.settings_from_flags(parse(*args))
    assert pipeline.inference_regrouping(settings, full_batches, None,
                                         settings.predict_length_sort) == (expected, None)


@pytest.mark.parametrize("args", [("--length_buckets=32", "--use_tpu"),
                                  ("--length_buckets=32", "--nodynamic_padding")])
def test_length_buckets_need_dynamic_padding(args):
    from bert_tf1.classifier import pipeline

    settings = cli.settings_from_flags(parse(
        "--task_name=imdb", "--data_dir=d", "--output_dir=o", "--do_train",
        "--bert_hub_module_handle=h", *args))
    with pytest.raises(BertTF1Error, match="--length_buckets needs dynamic padding"):
        pipeline.validate_settings(settings)


@pytest.mark.parametrize("args", [("--use_tpu",), ("--nodynamic_padding",),
                                  ("--length_buckets=32",)])
def test_train_length_sort_needs_dynamic_padding_and_replaces_buckets(args):
    from bert_tf1.classifier import pipeline

    base = ("--task_name=imdb", "--data_dir=d", "--output_dir=o", "--do_train",
            "--bert_hub_module_handle=h")
    settings = cli.settings_from_flags(parse(*base))
    assert settings.train_length_sort is False  # opt-in: it changes the training batches
    pipeline.validate_settings(cli.settings_from_flags(parse(*base + ("--train_length_sort",))))
    settings = cli.settings_from_flags(parse(*base + ("--train_length_sort",) + args))
    with pytest.raises(BertTF1Error, match="--train_length_sort needs dynamic padding"):
        pipeline.validate_settings(settings)
