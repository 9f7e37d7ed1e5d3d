"""run_classifier_hub.py: fine-tune, evaluate and predict with a TF1 Hub (or checkpoint) BERT.

Its flags are a superset of google-research/bert's run_classifier.py and
run_classifier_with_tfhub.py (same names and defaults), so their command lines run unchanged;
--task is an alias of --task_name.
"""
import sys

from absl import flags

from bert_tf1.cli import print_eval_results, run_absl

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags once (importing this module twice must not redefine them)."""
    if "task_name" in FLAGS:
        return
    # --- google-research/bert's flags, same names and defaults ---
    flags.DEFINE_string("data_dir", None, "The input data dir (or file/archive, per task).")
    flags.DEFINE_string("bert_config_file", None, "bert_config.json of a checkpoint run.")
    flags.DEFINE_string("task_name", None, "The name of the task to train (see --helpfull).")
    flags.DEFINE_string("vocab_file", None, "WordPiece vocabulary of a checkpoint run.")
    flags.DEFINE_string("output_dir", None, "Output directory: local path, gs:// or s3://.")
    flags.DEFINE_string("init_checkpoint", None, "Initial checkpoint (checkpoint runs).")
    flags.DEFINE_bool("do_lower_case", True, "Lower-case input (checkpoint runs; hub modules "
                      "say it themselves in tokenization_info).")
    flags.DEFINE_integer("max_seq_length", 128, "Maximum total input length in WordPieces.")
    flags.DEFINE_bool("do_train", False, "Whether to run training.")
    flags.DEFINE_bool("do_eval", False, "Whether to run eval on the dev set.")
    flags.DEFINE_bool("do_predict", False, "Whether to run the model on the test set.")
    flags.DEFINE_integer("train_batch_size", 32, "Total batch size for training.")
    flags.DEFINE_integer("eval_batch_size", 8, "Total batch size for eval.")
    flags.DEFINE_integer("predict_batch_size", 8, "Total batch size for predict.")
    flags.DEFINE_float("learning_rate", 5e-5, "The initial learning rate for Adam.")
    flags.DEFINE_float("num_train_epochs", 3.0, "Total number of training epochs.")
    flags.DEFINE_float("warmup_proportion", 0.1, "Share of training for linear warm-up.")
    flags.DEFINE_integer("save_checkpoints_steps", 1000, "How often to save a checkpoint.")
    flags.DEFINE_integer("iterations_per_loop", 1000, "Steps per TPUEstimator call.")
    flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
    flags.DEFINE_string("tpu_name", None, "The Cloud TPU to use.")
    flags.DEFINE_string("tpu_zone", None, "GCE zone of the Cloud TPU.")
    flags.DEFINE_string("gcp_project", None, "GCP project of the Cloud TPU.")
    flags.DEFINE_string("master", None, "[Optional] TensorFlow master URL.")
    flags.DEFINE_integer("num_tpu_cores", 8, "Total number of TPU cores (use_tpu only).")
    flags.DEFINE_string("tpu_job_name", None, "TPU worker job name (TPU pods; usually unset).")
    flags.DEFINE_string("bert_hub_module_handle", None, "TF1 Hub module handle of the BERT.")
    # --- bert_tf1's additions ---
    flags.DEFINE_string("task", None, "Alias of --task_name.")
    flags.DEFINE_integer("keep_checkpoint_max", 5, "Checkpoints to keep.")
    flags.DEFINE_enum("head", "pooled", ["pooled", "mean", "frozen_mlp"],
                      "Classifier head: pooled [CLS] output, masked mean of the last layer, or "
                      "frozen encoder + mean + Dense(256, relu).")
    flags.DEFINE_float("head_dropout", 0.1, "Dropout before the output layer (training only).")
    flags.DEFINE_string("truncation", "head", "head, tail or head+tail:N (first N tokens plus "
                        "the last ones that fit; Sun et al. 2019 used head+tail:128 at 512).")
    flags.DEFINE_integer("seed", 0, "Seed for sampling, dev split, shuffling and TF.")
    flags.DEFINE_integer("train_examples", 0, "Sample this many training examples (0 = all).")
    flags.DEFINE_integer("eval_examples", 0, "Sample this many eval examples (0 = all).")
    flags.DEFINE_integer("predict_examples", 0, "Sample this many test examples (0 = all).")
    flags.DEFINE_float("dev_fraction", 0.1, "Dev share carved from train for tasks without a "
                       "dev split (stratified, seeded).")
    flags.DEFINE_string("eval_split", "dev", "Split evaluated by --do_eval (dev, test, train).")
    flags.DEFINE_string("predict_split", "test", "Split predicted by --do_predict.")
    flags.DEFINE_string("text_a_column", None, "Generic tasks: column (index or name) of text_a.")
    flags.DEFINE_string("text_b_column", None, "Generic tasks: column of text_b (pairs).")
    flags.DEFINE_string("label_column", None, "Generic tasks: column of the label.")
    flags.DEFINE_list("label_list", None, "Label names in output order (default: the task's, "
                      "or the sorted labels of the train split).")
    flags.DEFINE_bool("header", None, "Generic csv/tsv tasks: the first row is a header.")
    flags.DEFINE_string("train_file", None, "Override the train file (relative to data_dir).")
    flags.DEFINE_string("dev_file", None, "Override the dev file.")
    flags.DEFINE_string("test_file", None, "Override the test file.")
    flags.DEFINE_multi_string("task_option", [], "Other task options as key=value, e.g. "
                              "language=de (xnli) or filter=source:imdb.")
    flags.DEFINE_integer("log_every_n_steps", 100, "Log loss, steps/s and ETA this often.")
    flags.DEFINE_enum("distribution_strategy", "none", ["none", "mirrored"],
                      "mirrored: synchronous data parallelism over --num_gpus GPUs of this "
                      "machine (a hub module is then loaded as a checkpoint).")
    flags.DEFINE_integer("num_gpus", 0, "GPUs for --distribution_strategy=mirrored (0: the "
                         "CPU alone, for testing the code path).")
    flags.DEFINE_integer("fine_tune_top_layers", 0, "Train only the top N encoder layers, the "
                         "pooler and the head (0: all layers).")
    flags.DEFINE_bool("deterministic", False, "Same seed on the same machine -> same numbers: "
                      "a hub module is loaded as a checkpoint so its dropout follows --seed.")
    flags.DEFINE_bool("pad_batches", False, "Pad eval/predict to full batches as on TPU (set "
                      "automatically with --use_tpu; exact metrics either way).")


def _column(value):
    """'3' -> 3 (index), 'review' -> 'review' (name)."""
    if value is None:
        return None
    return int(value) if value.lstrip("-").isdigit() else value


def task_options_from_flags(values):
    """Collects the generic-task flags and --task_option pairs into load_examples options."""
    from bert_tf1.errors import BertTF1Error

    options = {}
    for flag, key in (("text_a_column", "text_a"), ("text_b_column", "text_b"),
                      ("label_column", "label")):
        if values[flag] is not None:
            options[key] = _column(values[flag])
    if values["label_list"]:
        options["labels"] = list(values["label_list"])
    if values["header"] is not None:
        options["header"] = values["header"]
    for name in ("train_file", "dev_file", "test_file"):
        if values[name]:
            options[name] = values[name]
    for pair in values["task_option"]:
        if "=" not in pair:
            raise BertTF1Error("--task_option %r: expected key=value" % pair)
        key, value = pair.split("=", 1)
        if key == "filter":
            column, _, accepted = value.partition(":")
            options.setdefault("filter", {})[column] = accepted.split("|")
        else:
            options[key] = value
    return options


def settings_from_flags(values):
    """Flag values (dict) -> ClassifierRunSettings."""
    from bert_tf1.classifier_pipeline import ClassifierRunSettings
    from bert_tf1.errors import BertTF1Error

    task_name = values["task_name"]
    if values["task"] and task_name and values["task"] != task_name:
        raise BertTF1Error("--task=%s and --task_name=%s disagree; give one"
                           % (values["task"], task_name))
    names = set(ClassifierRunSettings.DEFAULTS) - {"task_name", "task_options", "show_progress"}
    kwargs = {name: values[name] for name in names if name in values}
    return ClassifierRunSettings(task_name=(task_name or values["task"] or "").lower() or None,
                                 task_options=task_options_from_flags(values), **kwargs)


def main(argv):
    del argv
    from bert_tf1 import compat
    from bert_tf1.classifier_pipeline import run_classifier
    from bert_tf1.errors import BertTF1Error

    compat.setup_tf1(log_level="INFO")
    try:
        produced = run_classifier(settings_from_flags(FLAGS.flag_values_dict()))
    except BertTF1Error as error:
        print("run_classifier_hub.py: error: %s" % error, file=sys.stderr)
        return 2
    print_eval_results(produced.get("eval_results"))
    return 0


def run():
    """Console-script entry point."""
    run_absl(define_flags, main)


if __name__ == "__main__":
    run()
