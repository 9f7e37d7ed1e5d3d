"""create_pretraining_data.py: masked-LM + next-sentence TFRecords from plain text.

Same flags and defaults as google-research/bert's create_pretraining_data.py, so its command lines
run unchanged (see bert_tf1.pretraining_data for the format and the algorithm). The output is
Google's record for record except with several input files: each file starts a new document
(Google's joins a file's last document to the next file's first unless a blank line ends the
file), and a glob's matches are read in sorted order (Google's: the file system's order).
"""
import sys

from absl import flags

from bert_tf1.cli import run_absl

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags once (importing this module twice must not redefine them)."""
    if "dupe_factor" in FLAGS:
        return
    flags.DEFINE_string("input_file", None, "Input raw text file (or comma-separated list of "
                        "files; globs allowed, matches sorted): one sentence per line, blank "
                        "line between documents; each file starts a new document.")
    flags.DEFINE_string("output_file", None, "Output TF example file (or comma-separated list "
                        "of files).")
    flags.DEFINE_string("vocab_file", None, "The vocabulary file that the BERT model was "
                        "trained on.")
    flags.DEFINE_bool("do_lower_case", True, "Whether to lower case the input text. Should be "
                      "True for uncased models and False for cased models.")
    flags.DEFINE_bool("do_whole_word_mask", False, "Whether to use whole word masking rather "
                      "than per-WordPiece masking.")
    flags.DEFINE_integer("max_seq_length", 128, "Maximum sequence length.")
    flags.DEFINE_integer("max_predictions_per_seq", 20, "Maximum number of masked LM "
                         "predictions per sequence.")
    flags.DEFINE_integer("random_seed", 12345, "Random seed for data generation.")
    flags.DEFINE_integer("dupe_factor", 10, "Number of times to duplicate the input data (with "
                         "different masks).")
    flags.DEFINE_float("masked_lm_prob", 0.15, "Masked LM probability.")
    flags.DEFINE_float("short_seq_prob", 0.1, "Probability of creating sequences which are "
                       "shorter than the maximum length.")
    flags.DEFINE_bool("progress", True, "Show tqdm progress bars on stderr.")
    flags.DEFINE_string("tokenizer", "auto", "auto|fast|python: 'fast' tokenizes with "
                        "HuggingFace tokenizers (same WordPieces as bert's; lines it would "
                        "tokenize differently go to bert's tokenizer), 'python' with bert's "
                        "FullTokenizer, 'auto' fast when it can match bert here, else python. "
                        "The output is the same.")
    flags.DEFINE_integer("num_workers", 1, "Processes tokenizing and serializing (1: this "
                         "process only; 0: one per CPU). The output is the same for every "
                         "value.")
    # Google's script accepts --preserve_unused_tokens because its tokenization module defines
    # it on import; importing it here keeps such command lines working.
    from bert import tokenization  # noqa: F401


def main(argv):
    del argv
    from bert_tf1 import compat
    from bert_tf1.errors import BertTF1Error
    from bert_tf1.pretraining_data import create_pretraining_data

    compat.setup_tf1()
    try:
        for name in ("input_file", "output_file", "vocab_file"):
            if not FLAGS[name].value:
                raise BertTF1Error("--%s is required" % name)
        stats = create_pretraining_data(
            FLAGS.input_file, FLAGS.output_file, FLAGS.vocab_file,
            do_lower_case=FLAGS.do_lower_case, do_whole_word_mask=FLAGS.do_whole_word_mask,
            max_seq_length=FLAGS.max_seq_length,
            max_predictions_per_seq=FLAGS.max_predictions_per_seq,
            random_seed=FLAGS.random_seed, dupe_factor=FLAGS.dupe_factor,
            masked_lm_prob=FLAGS.masked_lm_prob, short_seq_prob=FLAGS.short_seq_prob,
            show_progress=FLAGS.progress, tokenizer=FLAGS.tokenizer,
            num_workers=FLAGS.num_workers)
    except BertTF1Error as error:
        print("create_pretraining_data.py: error: %s" % error, file=sys.stderr)
        return 2
    print("wrote %d instances from %d documents to %s (%s tokenizer, %d worker%s)" % (
        stats["num_instances"], stats["num_documents"], ", ".join(stats["output_files"]),
        stats["tokenizer"], stats["num_workers"], "" if stats["num_workers"] == 1 else "s"))
    return 0


def run():
    """Console-script entry point."""
    run_absl(define_flags, main)


if __name__ == "__main__":
    run()
