"""run_pretraining.py: BERT masked-LM + next-sentence pre-training (or further pre-training).

Same flags and defaults as google-research/bert's run_pretraining.py, so its command lines run
unchanged, plus --init_hub_module (start from a TF1 Hub module's weights; the config is inferred
from the module unless --bert_config_file is given). See bert_tf1.pretraining.
"""
import sys

from absl import flags

from bert_tf1.cli import print_eval_results, run_absl

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags once (importing this module twice must not redefine them)."""
    if "max_eval_steps" in FLAGS:
        return
    # --- google-research/bert's flags, same names and defaults ---
    flags.DEFINE_string("bert_config_file", None, "The config json file corresponding to the "
                        "pre-trained BERT model. This specifies the model architecture.")
    flags.DEFINE_string("input_file", None, "Input TF example files (can be a glob or comma "
                        "separated).")
    flags.DEFINE_string("output_dir", None, "The output directory where the model checkpoints "
                        "will be written (local, gs:// or s3://).")
    flags.DEFINE_string("init_checkpoint", None, "Initial checkpoint (usually from a "
                        "pre-trained BERT model; a BERT or hub module directory also works).")
    flags.DEFINE_integer("max_seq_length", 128, "The maximum total input sequence length after "
                         "WordPiece tokenization. Must match data generation.")
    flags.DEFINE_integer("max_predictions_per_seq", 20, "Maximum number of masked LM "
                         "predictions per sequence. Must match data generation.")
    flags.DEFINE_bool("do_train", False, "Whether to run training.")
    flags.DEFINE_bool("do_eval", False, "Whether to run eval on the dev set.")
    flags.DEFINE_integer("train_batch_size", 32, "Total batch size for training.")
    flags.DEFINE_integer("eval_batch_size", 8, "Total batch size for eval.")
    flags.DEFINE_float("learning_rate", 5e-5, "The initial learning rate for Adam.")
    flags.DEFINE_integer("num_train_steps", 100000, "Number of training steps.")
    flags.DEFINE_integer("num_warmup_steps", 10000, "Number of warmup steps.")
    flags.DEFINE_integer("save_checkpoints_steps", 1000, "How often to save the model "
                         "checkpoint.")
    flags.DEFINE_integer("iterations_per_loop", 1000, "How many steps to make in each "
                         "estimator call.")
    flags.DEFINE_integer("max_eval_steps", 100, "Maximum number of eval steps.")
    flags.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
    flags.DEFINE_string("tpu_name", None, "The Cloud TPU to use for training.")
    flags.DEFINE_string("tpu_zone", None, "GCE zone where the Cloud TPU is located in.")
    flags.DEFINE_string("gcp_project", None, "Project name for the Cloud TPU-enabled project.")
    flags.DEFINE_string("master", None, "[Optional] TensorFlow master URL.")
    flags.DEFINE_integer("num_tpu_cores", 8, "Only used if `use_tpu` is True. Total number of "
                         "TPU cores to use.")
    # --- bert_tf1's additions ---
    flags.DEFINE_string("init_hub_module", None, "Start from this TF1 Hub module's weights "
                        "(BERT and, when the module has the mlm signature, the masked-LM head).")
    flags.DEFINE_integer("keep_checkpoint_max", 5, "Checkpoints to keep.")
    flags.DEFINE_integer("log_every_n_steps", 100, "Log loss, steps/s and ETA this often.")
    flags.DEFINE_integer("seed", None, "TensorFlow random seed (default: none, as Google's).")


def main(argv):
    del argv
    from bert_tf1 import compat
    from bert_tf1.errors import BertTF1Error
    from bert_tf1.pretraining import PretrainingSettings, run_pretraining

    compat.setup_tf1(log_level="INFO")
    try:
        produced = run_pretraining(PretrainingSettings.from_dict(FLAGS.flag_values_dict()))
    except BertTF1Error as error:
        print("run_pretraining.py: error: %s" % error, file=sys.stderr)
        return 2
    print_eval_results(produced.get("eval_results"))
    return 0


def run():
    """Console-script entry point."""
    run_absl(define_flags, main)


if __name__ == "__main__":
    run()
