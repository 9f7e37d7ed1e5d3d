"""run_classifier_hub.py: fine-tune, evaluate and predict with a TF1 Hub (or checkpoint) BERT.

Its flags are a superset of google-research/bert's run_classifier.py and
run_classifier_with_tfhub.py (same names and defaults), so their command lines run unchanged;
--task is an alias of --task_name.
"""
from absl import flags

from bert_tf1 import compat
from bert_tf1.classifier.pipeline import ClassifierRunSettings, run_classifier
from bert_tf1.cli import run_absl, run_main
from bert_tf1.cli.flags import (
    FEATURE_FLAGS,
    OUTPUT_DIR_FLAGS,
    PADDING_FLAGS,
    SESSION_FLAGS,
    TPU_FLAGS,
    TRAINING_FLAGS,
    FlagDefiner,
)
from bert_tf1.data import tasks
from bert_tf1.data.fileio import DEFAULT_ENCODING
from bert_tf1.errors import BertTF1Error
from bert_tf1.modeling import heads
from bert_tf1.modeling.tokenization import TOKENIZER_CHOICES
from bert_tf1.runtime.distribution import STRATEGIES as DISTRIBUTION_STRATEGIES

FLAGS = flags.FLAGS
PROG = "run_classifier_hub.py"


def define_flags(flag_values=None):
    """Defines the flags once (importing this module twice must not redefine them).

    flag_values: an absl FlagValues to define them in (tests parse command lines into a fresh
    one); default the global FLAGS. Defaults come from ClassifierRunSettings.DEFAULTS.
    """
    fv = FLAGS if flag_values is None else flag_values
    if "task_name" in fv:
        return
    define = FlagDefiner(fv, ClassifierRunSettings.DEFAULTS)
    # --- google-research/bert's flags, same names and defaults ---
    define("string", "data_dir", "The input data dir (or file/archive, per task).")
    define("string", "bert_config_file", "bert_config.json of a checkpoint run.")
    define("string", "task_name", "The name of the task to train: a registered dataset "
           "or a generic format (csv, tsv, jsonl, folder); --list_tasks prints each with its "
           "files, columns and labels (also in docs/tasks.md).")
    define("string", "vocab_file", "WordPiece vocabulary of a checkpoint run.")
    define("string", "output_dir", "Output directory: local path, gs:// or s3://.")
    define("string", "init_checkpoint", "Initial checkpoint: a pre-trained BERT "
           "(checkpoint runs) or a fine-tuned classifier (also beside a hub module). Every "
           "trainable variable it holds with the same name and shape starts from it, the "
           "classifier head included, as in run_classifier.py.")
    define("bool", "do_lower_case", "Lower-case input (checkpoint runs; hub modules "
           "say it themselves in tokenization_info).")
    define("integer", "max_seq_length", "Maximum total input length in WordPieces.")
    define("bool", "do_predict", "Whether to run the model on the test set.")
    define("integer", "predict_batch_size", "Total batch size for predict.")
    define("float", "num_train_epochs", "Total number of training epochs.")
    define("float", "warmup_proportion", "Share of training for linear warm-up.")
    define.group(TRAINING_FLAGS)
    define.group(TPU_FLAGS)
    define.group(SESSION_FLAGS)
    define.group(OUTPUT_DIR_FLAGS)
    define("string", "tpu_job_name", "TPU worker job name (TPU pods; usually unset).")
    define("string", "bert_hub_module_handle", "TF1 Hub module handle of the BERT.")
    # --- bert_tf1's additions ---
    define("string", "task", "Alias of --task_name (see --list_tasks).")
    define("bool", "list_tasks", "Print every registered task with its files and columns, "
           "then exit.", default=False)
    define("enum", "head", "Classifier head: " + "; ".join(
        "%s = %s" % (name, heads.describe_head(name)) for name in heads.head_names()) + ".",
        enum_values=heads.head_names())
    define("float", "head_dropout", "Dropout before the output layer (training only).")
    define("string", "truncation", "head, tail or head+tail:N (first N tokens plus "
           "the last ones that fit; Sun et al. 2019 used head+tail:128 at 512).")
    define("integer", "seed", "Seed for sampling, dev split, shuffling and TF.")
    define("integer", "train_examples", "Sample this many training examples (0 = all).")
    define("integer", "eval_examples", "Sample this many eval examples (0 = all).")
    define("integer", "predict_examples", "Sample this many test examples (0 = all).")
    define("float", "dev_fraction", "Dev share carved from train (stratified, seeded) "
           "when the task has no dev split or data_dir lacks its optional dev file/folder "
           "(spam, civil, folder, csv, tsv, jsonl).")
    define("string", "eval_split", "Split evaluated by --do_eval (dev, test, train).")
    define("string", "predict_split", "Split predicted by --do_predict.")
    define("string", "text_a_column", "Generic tasks: column (index or name) of text_a.")
    define("string", "text_b_column", "Generic tasks: column of text_b (pairs).")
    define("string", "label_column", "Generic tasks: column of the label.")
    define("list", "label_list", "Label names in output order (default: the task's, "
           "or the sorted labels of the train split).")
    define("bool", "header", "Generic csv/tsv tasks: the first row is a header.")
    define("string", "train_file", "Override the train file (relative to data_dir).")
    define("string", "dev_file", "Override the dev file.")
    define("string", "test_file", "Override the test file.")
    define("string", "encoding", "Text encoding of the data files, read strictly (a bad byte "
           "is an error naming file and line), e.g. cp1252 or latin-1 (default: the task's, "
           "%s for every built-in task)." % DEFAULT_ENCODING, default=None)
    define("multi_string", "task_option", "Other task options as key=value, read as the "
           "option's type: skip_empty=false, text_a=2, labels=neg,pos, label_range=0,5, "
           "delimiter=tab, email=auto, language=de (xnli), filter=source:imdb|rt (repeatable).",
           default=[])
    define("enum", "distribution_strategy", "mirrored: synchronous data parallelism over "
           "--num_gpus GPUs of this machine; multi_worker: over the processes named by the "
           "TF_CONFIG environment variable, with tf.estimator.train_and_evaluate (start them "
           "with bert-tf1-launch-local, or see docs/distributed.md). A hub module is then "
           "loaded as a checkpoint.",
           enum_values=list(DISTRIBUTION_STRATEGIES))
    define("integer", "num_gpus", "GPUs for --distribution_strategy=mirrored (0: the "
           "CPU alone, for testing the code path).")
    define("integer", "fine_tune_top_layers", "Train only the top N encoder layers, the "
           "pooler and the head (0: all layers).")
    define("bool", "deterministic", "Same seed on the same machine -> same numbers: "
           "a hub module is loaded as a checkpoint so its dropout follows --seed.")
    define("enum", "tokenizer", "WordPiece tokenizer for feature conversion: 'fast' = "
           "HuggingFace tokenizers giving bert's exact WordPieces (texts it would split "
           "differently go to bert's tokenizer), 'python' = bert's FullTokenizer, 'auto' = fast "
           "where it can match bert here. The features are the same.",
           enum_values=list(TOKENIZER_CHOICES))
    define("string", "export_dir", "At the end of the run, export the trained model as a "
           "self-describing SavedModel here (as bert-tf1-export does; see "
           "bert_tf1/serving/export.py).")
    define.group(PADDING_FLAGS)
    define.group(FEATURE_FLAGS)
    define("bool", "pad_batches", "Pad eval/predict to full batches as on TPU (set "
           "automatically with --use_tpu; exact metrics either way).")


def _task_spec(values):
    """The registered TaskSpec named by --task_name/--task, or None (unknown: reported later)."""
    return tasks.find_task(values.get("task_name") or values.get("task"))


def _parsed(where, key, text, spec):
    """tasks.parse_option, its error prefixed with the flag that gave the value."""
    try:
        return tasks.parse_option(key, text, spec)
    except BertTF1Error as error:
        raise BertTF1Error("%s: %s" % (where, error))


def task_options_from_flags(values):
    """Collects the generic-task flags and --task_option pairs into load_examples options.

    Every value is read as its option's type (bert_tf1.data.tasks.parse_option): absl hands
    --task_option values over as strings, and "skip_empty=false" kept as the string "false"
    would be truthy, i.e. turn skipping on. Repeated filter=column:a|b options add up.

    Args:
      values: FLAGS.flag_values_dict() (or a dict with the same keys).

    Returns:
      dict of options for ClassifierRunSettings.task_options / load_examples.

    Raises:
      BertTF1Error naming the flag, e.g. "--task_option skip_empty=maybe: option 'skip_empty':
      expected a boolean (true/yes/on/1 or false/no/off/0), found 'maybe'".

    >>> task_options_from_flags(dict(text_a_column="2", text_b_column=None, label_column=None,
    ...     label_list=None, header=None, train_file=None, dev_file=None, test_file=None,
    ...     encoding=None, task_option=["skip_empty=false"], task_name="csv"))
    {'text_a': 2, 'skip_empty': False}
    """
    spec = _task_spec(values)
    options = {}
    for flag, key in (("text_a_column", "text_a"), ("text_b_column", "text_b"),
                      ("label_column", "label")):
        if values[flag] is not None:
            options[key] = _parsed("--%s=%s" % (flag, values[flag]), key, values[flag], spec)
    if values["label_list"]:
        options["labels"] = list(values["label_list"])
    if values["header"] is not None:
        options["header"] = values["header"]
    for name in ("train_file", "dev_file", "test_file", "encoding"):
        if values.get(name):
            options[name] = values[name]
    return tasks.parse_option_pairs(values["task_option"], spec, options)


def settings_from_flags(values):
    """Flag values (dict) -> ClassifierRunSettings."""
    task_name = values["task_name"]
    # Task names are case-insensitive (Google's scripts lower-case --task_name).
    if values["task"] and task_name and values["task"].lower() != task_name.lower():
        raise BertTF1Error("--task=%s and --task_name=%s disagree; give one"
                           % (values["task"], task_name))
    names = set(ClassifierRunSettings.DEFAULTS) - {"task_name", "task_options", "show_progress"}
    kwargs = {name: values[name] for name in names if name in values}
    return ClassifierRunSettings(task_name=(task_name or values["task"] or "").lower() or None,
                                 task_options=task_options_from_flags(values), **kwargs)


def list_tasks():
    """Prints every registered task with its files and columns (--list_tasks; docs/tasks.md)."""
    print(tasks.tasks_help(), end="")


def main(argv):
    del argv
    if FLAGS.list_tasks:
        list_tasks()
        return 0

    def call():
        compat.setup_tf1(log_level="INFO")
        produced = run_classifier(settings_from_flags(FLAGS.flag_values_dict()))
        if produced.get("results_table"):
            print(produced["results_table"])
        if produced.get("export"):
            print("exported the model to %s" % produced["export"]["export_dir"])

    return run_main(PROG, call)


def run():
    """Console-script entry point."""
    run_absl(define_flags, main)


if __name__ == "__main__":
    run()
