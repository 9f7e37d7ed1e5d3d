"""Each flag default is defined once, in the library: the CLIs read it from there.

The absl CLIs' flag values are compared with ClassifierRunSettings.DEFAULTS,
PretrainingSettings.DEFAULTS and create_pretraining_data's signature; the argparse CLI of
further pre-training with further_pretrain's signature.
"""
import inspect

import pytest
from absl import flags

from bert_tf1.classifier.pipeline import ClassifierRunSettings
from bert_tf1.cli import create_pretraining_data as create_cli
from bert_tf1.cli import further_pretrain as further_cli
from bert_tf1.cli import run_classifier_hub, run_pretraining
from bert_tf1.cli.flags import TPU_FLAGS, TRAINING_FLAGS, signature_defaults
from bert_tf1.modeling import heads
from bert_tf1.pretraining.data import create_pretraining_data
from bert_tf1.pretraining.further import further_pretrain
from bert_tf1.pretraining.pipeline import PretrainingSettings

# Flags with no library setting behind them (CLI behaviour only).
CLI_ONLY = {"task", "list_tasks", "text_a_column", "text_b_column", "label_column",
            "label_list", "header", "train_file", "dev_file", "test_file", "task_option",
            "progress", "encoding", "input_file", "output_file", "vocab_file"}


def defined(define_flags):
    values = flags.FlagValues()
    define_flags(values)
    return {name: values[name].default for name in values}


@pytest.mark.parametrize("define_flags, defaults", [
    (run_classifier_hub.define_flags, ClassifierRunSettings.DEFAULTS),
    (run_pretraining.define_flags, PretrainingSettings.DEFAULTS),
    (create_cli.define_flags, signature_defaults(create_pretraining_data)),
], ids=["run_classifier_hub", "run_pretraining", "create_pretraining_data"])
def test_absl_flag_defaults_are_the_librarys(define_flags, defaults):
    values = defined(define_flags)
    checked = [name for name in values if name in defaults and name not in CLI_ONLY]
    assert len(checked) >= 10, checked
    wrong = {name: (values[name], defaults[name]) for name in checked
             if values[name] != defaults[name]}
    assert not wrong, wrong
    unbacked = sorted(set(values) - set(defaults) - CLI_ONLY)
    assert not unbacked, "flags without a library default: %s" % unbacked


def test_tpu_and_training_flags_are_one_group_in_both_training_clis():
    for define_flags in (run_classifier_hub.define_flags, run_pretraining.define_flags):
        values = flags.FlagValues()
        define_flags(values)
        for _, name, help_text in TPU_FLAGS + TRAINING_FLAGS:
            assert values[name].help == help_text


def test_further_pretrain_argparse_defaults_are_its_signatures():
    parser = further_cli.build_arg_parser()
    parsed = vars(parser.parse_args(["--task_name=csv", "--data_dir=d", "--output_dir=o",
                                     "--init_hub_module=m"]))
    signature = signature_defaults(further_pretrain)
    compared = [name for name in signature if name in parsed and name not in
                ("show_progress", "task_options", "do_lower_case", "init_checkpoint",
                 "init_hub_module")]
    assert len(compared) >= 15, compared
    wrong = {n: (parsed[n], signature[n]) for n in compared if parsed[n] != signature[n]}
    assert not wrong, wrong
    assert parsed["show_progress"] is True  # the CLI shows progress; the library does not


def test_further_pretrain_shares_create_pretraining_datas_data_defaults():
    """Documented differences only: dupe_factor 5 (a task's text is small) and do_lower_case None
    (inferred from the vocabulary, as bert-tf1-export-hub does)."""
    theirs = signature_defaults(create_pretraining_data)
    ours = signature_defaults(further_pretrain)
    shared = set(theirs) & set(ours) - {"show_progress", "dupe_factor", "do_lower_case"}
    assert {n: (ours[n], theirs[n]) for n in shared if ours[n] != theirs[n]} == {}
    assert ours["dupe_factor"] == 5 and theirs["dupe_factor"] == 10
    assert ours["do_lower_case"] is None and theirs["do_lower_case"] is True


def test_head_choices_come_from_the_registry():
    values = flags.FlagValues()
    run_classifier_hub.define_flags(values)
    assert values["head"].parser.enum_values == heads.head_names()
    for name in heads.head_names():
        assert heads.describe_head(name) in values["head"].help


def test_signature_defaults_reads_only_parameters_with_defaults():
    def example(a, b=2, *args, c=None, **kwargs):
        del a, args, kwargs
    assert signature_defaults(example) == {"b": 2, "c": None}
    assert inspect.signature(example).parameters["a"].default is inspect.Parameter.empty


@pytest.mark.parametrize("define_flags, name", [
    (run_classifier_hub.define_flags, "learning_rate"),
    (run_classifier_hub.define_flags, "warmup_proportion"),
    (run_classifier_hub.define_flags, "num_train_epochs"),
    (run_pretraining.define_flags, "learning_rate"),
    (create_cli.define_flags, "masked_lm_prob"),
])
@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_non_finite_float_flags_are_refused_at_parse_time(define_flags, name, text):
    values = flags.FlagValues()
    define_flags(values)
    with pytest.raises(flags.IllegalFlagValueError,
                       match="--%s must be a finite number" % name):
        values(["prog", "--%s=%s" % (name, text)])
    values(["prog", "--%s=0.5" % name])
    assert values[name].value == 0.5


def test_every_absl_float_flag_is_checked_for_finiteness():
    for define_flags in (run_classifier_hub.define_flags, run_pretraining.define_flags,
                         create_cli.define_flags):
        names = [name for name, flag in defined_flags(define_flags)._flags().items()
                 if isinstance(flag.parser, flags.FloatParser)]
        assert names
        for name in names:
            with pytest.raises(flags.IllegalFlagValueError):
                defined_flags(define_flags)(["prog", "--%s=nan" % name])


def defined_flags(define_flags):
    values = flags.FlagValues()
    define_flags(values)
    return values


def test_argparse_float_options_refuse_nan(capsys):
    parser = further_cli.build_arg_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--task_name=csv", "--data_dir=d", "--output_dir=o",
                           "--learning_rate=nan"])
    assert "expected a finite number (not nan or inf), found 'nan'" in capsys.readouterr().err
