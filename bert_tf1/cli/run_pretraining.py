"""run_pretraining.py: BERT masked-LM + next-sentence pre-training (or further pre-training).

Same flags and defaults as google-research/bert's run_pretraining.py, so its command lines run
unchanged, plus --init_hub_module (start from a TF1 Hub module's weights; the config is inferred
from the module unless --bert_config_file is given). See bert_tf1.pretraining.pipeline.
"""
from absl import flags

from bert_tf1 import compat
from bert_tf1.cli import print_eval_results, run_absl, run_main
from bert_tf1.cli.flags import TPU_FLAGS, TRAINING_FLAGS, FlagDefiner
from bert_tf1.pretraining.pipeline import PretrainingSettings, run_pretraining

FLAGS = flags.FLAGS
PROG = "run_pretraining.py"


def define_flags(flag_values=None):
    """Defines the flags once (importing this module twice must not redefine them).

    Defaults come from PretrainingSettings.DEFAULTS (google-research/bert's).
    """
    fv = FLAGS if flag_values is None else flag_values
    if "max_eval_steps" in fv:
        return
    define = FlagDefiner(fv, PretrainingSettings.DEFAULTS)
    # --- google-research/bert's flags, same names and defaults ---
    define("string", "bert_config_file", "The config json file corresponding to the "
           "pre-trained BERT model. This specifies the model architecture.")
    define("string", "input_file", "Input TF example files (can be a glob or comma separated).")
    define("string", "output_dir", "The output directory where the model checkpoints will be "
           "written (local, gs:// or s3://).")
    define("string", "init_checkpoint", "Initial checkpoint (usually from a pre-trained BERT "
           "model; a BERT or hub module directory also works).")
    define("integer", "max_seq_length", "The maximum total input sequence length after "
           "WordPiece tokenization. Must match data generation.")
    define("integer", "max_predictions_per_seq", "Maximum number of masked LM predictions per "
           "sequence. Must match data generation.")
    define("integer", "num_train_steps", "Number of training steps.")
    define("integer", "num_warmup_steps", "Number of warmup steps.")
    define("integer", "max_eval_steps", "Maximum number of eval steps.")
    define.group(TRAINING_FLAGS)
    define.group(TPU_FLAGS)
    # --- bert_tf1's additions ---
    define("string", "init_hub_module", "Start from this TF1 Hub module's weights (BERT and, "
           "when the module has the mlm signature, the masked-LM head).")
    define("integer", "seed", "TensorFlow random seed (default: none, as Google's).")


def main(argv):
    del argv

    def call():
        compat.setup_tf1(log_level="INFO")
        produced = run_pretraining(PretrainingSettings.from_dict(FLAGS.flag_values_dict()))
        print_eval_results(produced.get("eval_results"))

    return run_main(PROG, call)


def run():
    """Console-script entry point."""
    run_absl(define_flags, main)


if __name__ == "__main__":
    run()
