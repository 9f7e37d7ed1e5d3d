"""Flag groups shared by several commands, each defined once.

absl groups (google-research/bert's flag names, for run_classifier_hub.py and run_pretraining.py)
take their defaults from the library's settings class, so a default lives in one place: the
library (ClassifierRunSettings.DEFAULTS, PretrainingSettings.DEFAULTS). tests/cli/test_flags.py
checks every flag's default against it. argparse groups serve the kit's own commands.
"""
import inspect

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
    ("integer", "log_every_n_steps", "Log loss, steps/s and ETA this often."),
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

    def group(self, definitions):
        """Defines each (kind, name, help) of a group such as TPU_FLAGS."""
        for kind, name, help_text in definitions:
            self(kind, name, help_text)


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
