"""Flag groups shared by several commands, each defined once.

absl groups (google-research/bert's flag names, for run_classifier_hub.py and run_pretraining.py)
take their defaults from the library's settings class, so a default lives in one place: the
library (ClassifierRunSettings.DEFAULTS, PretrainingSettings.DEFAULTS). tests/cli/test_flags.py
checks every flag's default against it. argparse groups serve the kit's own commands.
"""
import argparse
import inspect
import math

from absl import flags

# google-research/bert's TPU flags, with its help texts.
TPU_FLAGS = (
    ("bool", "use_tpu", "Whether to use TPU or GPU/CPU."),
    ("string", "tpu_name", "The Cloud TPU to use for training."),
    ("string", "tpu_zone", "GCE zone where the Cloud TPU is located in."),
    ("string", "gcp_project", "Project name for the Cloud TPU-enabled project."),
    ("string", "master", "[Optional] TensorFlow master URL."),
    ("integer", "num_tpu_cores", "Only used if `use_tpu` is True. Total number of TPU cores "
                                 "to use."),
    ("integer", "iterations_per_loop", "How many steps to make in each estimator call."),
)

# Training flags both training CLIs share (google-research/bert's names and help texts, plus the
# kit's checkpoint and logging flags).
TRAINING_FLAGS = (
    ("bool", "do_train", "Whether to run training."),
    ("bool", "do_eval", "Whether to run eval on the dev set."),
    ("integer", "train_batch_size", "Total batch size for training."),
    ("integer", "eval_batch_size", "Total batch size for eval."),
    ("float", "learning_rate", "The initial learning rate for Adam."),
    ("integer", "save_checkpoints_steps", "How often to save the model checkpoint."),
    ("integer", "keep_checkpoint_max", "Checkpoints to keep."),
    ("integer", "log_every_n_steps", "Log loss, steps/s and ETA this often (a run of fewer "
                                     "than 10x this many steps logs about 10 times)."),
)


# CPU speed settings (docs/speed.md has what each measured on 2 cores).
SESSION_FLAGS = (
    ("bool", "xla_jit", "XLA auto-clustering (global_jit_level ON_1); on CPU TF 1.15 also "
                        "needs TF_XLA_FLAGS=--tf_xla_cpu_global_jit in the environment."),
    ("integer", "intra_op_threads", "Threads inside one op (0: TensorFlow's choice, the CPU "
                                    "count)."),
    ("integer", "inter_op_threads", "Ops run in parallel (0: TensorFlow's choice)."),
)

# Batch padding flags of run_classifier_hub (bert_tf1.classifier.inputs, "Dynamic padding").
PADDING_FLAGS = (
    ("bool", "dynamic_padding", "Pad each batch only to its longest example (rounded up to a "
                                "multiple of 8) instead of max_seq_length: same outputs, fewer "
                                "tokens computed. Ignored with --use_tpu (static shapes)."),
    ("list", "length_buckets", "Comma-separated length boundaries, e.g. 32,64: training (and "
                               "eval with --noeval_length_sort) batches examples of similar "
                               "length together (seeded order; not in predict). Needs "
                               "--dynamic_padding."),
    ("bool", "train_length_sort", "Training batches examples of similar length together "
                                  "without boundaries to choose: windows of 64 batches (at most "
                                  "one pass of the data) of the shuffled stream sorted by "
                                  "length, the batches then shuffled (seeded). Opt-in (the "
                                  "batches change, not the examples seen). Needs "
                                  "--dynamic_padding; not with --length_buckets."),
    ("integer", "train_length_splits", "Run BERT on each training batch in this many parts "
                                       "of length-sorted examples, each padded to its own "
                                       "longest: the same examples and loss, fewer tokens "
                                       "computed. 0: 2 with --dynamic_padding and the default "
                                       "batching, 1 (off) with --length_buckets, "
                                       "--train_length_sort, --use_tpu or --nodynamic_padding."),
    ("bool", "eval_length_sort", "Eval batches examples of similar length together (windows "
                                 "of 64 batches sorted by length; the batch sizes, and so "
                                 "every eval result, stay those of the file order). Replaces "
                                 "--length_buckets in eval. Needs --dynamic_padding; ignored "
                                 "with --use_tpu."),
    ("bool", "predict_length_sort", "Predict batches examples of similar length together "
                                    "(windows of 64 batches sorted by length) and writes "
                                    "test_results.tsv and predictions.jsonl in input order, "
                                    "as without it (probabilities equal to float rounding). "
                                    "Needs --dynamic_padding; ignored with --use_tpu and "
                                    "--pad_batches."),
)

# Feature conversion flags of run_classifier_hub (bert_tf1.classifier.feature_cache).
FEATURE_FLAGS = (
    ("integer", "feature_workers", "Processes converting examples to features (0: one per "
                                   "CPU, but one per 1,000 examples at most, as a worker costs "
                                   "more than it saves on fewer; 1: this process only); the "
                                   "features are the same."),
    ("string", "feature_cache_dir", "Cache of converted features shared by every output_dir, "
                                    "keyed by data, vocab, casing, max_seq_length, truncation "
                                    "and labels (default $BERT_TF1_CACHE, else "
                                    "~/.cache/bert_tf1/features; 'none' turns it off)."),
)

# The start-over flag of the output_dir contract (bert_tf1.runtime.run_contract).
OUTPUT_DIR_FLAGS = (
    ("bool", "overwrite_output_dir", "Start over: when --output_dir holds a run with other "
                                     "data, model or flags, remove its checkpoints, records "
                                     "and results (only the kit's own files) instead of "
                                     "stopping with the list of what changed."),
)


class FlagDefiner(object):
    """Defines absl flags in one FlagValues with defaults read from a settings DEFAULTS dict.

    >>> define = FlagDefiner(flags.FlagValues(), {"seed": 0})
    >>> define("integer", "seed", "Random seed.")  # default 0, from the dict
    """

    def __init__(self, flag_values, defaults):
        self.flag_values = flag_values
        self.defaults = defaults

    def __call__(self, kind, name, help_text, **kwargs):
        """Defines --name; its default is defaults[name] (a flag the library lacks has none)."""
        default = kwargs.pop("default", self.defaults.get(name))
        getattr(flags, "DEFINE_" + kind)(name=name, default=default, help=help_text,
                                         flag_values=self.flag_values, **kwargs)
        if kind == "float":
            require_finite(name, self.flag_values)

    def group(self, definitions):
        """Defines each (kind, name, help) of a group such as TPU_FLAGS."""
        for kind, name, help_text in definitions:
            self(kind, name, help_text)


def _is_finite(value):
    return value is None or math.isfinite(value)


def require_finite(name, flag_values):
    """Refuses --name=nan / inf / -inf at parse time (absl's float parser accepts them).

    --learning_rate=nan otherwise trains until NanLossDuringTrainingError, after output_dir is
    written; absl prints the message and exits 1 before anything runs.
    """
    flags.register_validator(name, _is_finite, message="--%s must be a finite number (not nan "
                             "or inf)" % name, flag_values=flag_values)


def finite_float(text):
    """argparse `type=` for float options: like float() but nan / inf are refused.

    >>> finite_float("2e-5")
    2e-05
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number, found %r" % text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("expected a finite number (not nan or inf), found %r"
                                         % text)
    return value


def add_casing_arguments(parser, what="do_lower_case"):
    """--do_lower_case / --nodo_lower_case (Google's flag spelling) on an argparse parser.

    The value is None when neither is given: the callers then infer the casing from the
    vocabulary (convert.hub_export.infer_do_lower_case).
    """
    casing = parser.add_mutually_exclusive_group()
    casing.add_argument("--do_lower_case", dest="do_lower_case", action="store_const",
                        const=True, default=None,
                        help="%s=true (default: inferred from the vocabulary)" % what)
    casing.add_argument("--nodo_lower_case", dest="do_lower_case", action="store_const",
                        const=False, help="%s=false (cased models)" % what)
    return casing


def signature_defaults(function):
    """{parameter: default} of a library function: argparse defaults are read from it, so the
    library's signature is the one place each default is written."""
    return {name: parameter.default
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.default is not inspect.Parameter.empty}
