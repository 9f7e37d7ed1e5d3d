"""create_pretraining_data.py: masked-LM + next-sentence TFRecords from plain text.

Same flags and defaults as google-research/bert's create_pretraining_data.py, so its command lines
run unchanged (see bert_tf1.pretraining.data for the format and the algorithm). The output is
Google's record for record except with several input files: each file starts a new document
(Google's joins a file's last document to the next file's first unless a blank line ends the
file), and a glob's matches are read in sorted order (Google's: the file system's order).
"""
from absl import flags
from bert import tokenization  # noqa: F401 (see define_flags)

from bert_tf1 import compat
from bert_tf1.cli import run_absl, run_main
from bert_tf1.cli.flags import FlagDefiner, signature_defaults
from bert_tf1.errors import BertTF1Error
from bert_tf1.pretraining.data import create_pretraining_data

FLAGS = flags.FLAGS
PROG = "create_pretraining_data.py"


def define_flags(flag_values=None):
    """Defines the flags once (importing this module twice must not redefine them).

    Defaults come from create_pretraining_data's signature (google-research/bert's values).
    Google's script also accepts --preserve_unused_tokens: bert's tokenization module defines it
    on import, which is why this module imports it.
    """
    fv = FLAGS if flag_values is None else flag_values
    if "dupe_factor" in fv:
        return
    define = FlagDefiner(fv, signature_defaults(create_pretraining_data))
    define("string", "input_file", "Input raw text file (or comma-separated list of files; globs "
           "allowed, matches sorted): one sentence per line, blank line between documents; each "
           "file starts a new document.", default=None)
    define("string", "output_file", "Output TF example file (or comma-separated list of files).",
           default=None)
    define("string", "vocab_file", "The vocabulary file that the BERT model was trained on.",
           default=None)
    define("bool", "do_lower_case", "Whether to lower case the input text. Should be True for "
           "uncased models and False for cased models.")
    define("bool", "do_whole_word_mask", "Whether to use whole word masking rather than "
           "per-WordPiece masking.")
    define("integer", "max_seq_length", "Maximum sequence length.")
    define("integer", "max_predictions_per_seq", "Maximum number of masked LM predictions per "
           "sequence.")
    define("integer", "random_seed", "Random seed for data generation.")
    define("integer", "dupe_factor", "Number of times to duplicate the input data (with "
           "different masks).")
    define("float", "masked_lm_prob", "Masked LM probability.")
    define("float", "short_seq_prob", "Probability of creating sequences which are shorter than "
           "the maximum length.")
    define("bool", "progress", "Show tqdm progress bars on stderr.", default=True)
    define("string", "tokenizer", "auto|fast|python: 'fast' tokenizes with HuggingFace "
           "tokenizers (same WordPieces as bert's; lines it would tokenize differently go to "
           "bert's tokenizer), 'python' with bert's FullTokenizer, 'auto' fast when it can match "
           "bert here, else python. The output is the same.")
    define("integer", "num_workers", "Processes tokenizing and serializing (1: this process "
           "only; 0: one per CPU). The output is the same for every value.")


def main(argv):
    del argv

    def call():
        compat.setup_tf1()
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
        print("wrote %d instances from %d documents to %s (%s tokenizer, %d worker%s)" % (
            stats["num_instances"], stats["num_documents"], ", ".join(stats["output_files"]),
            stats["tokenizer"], stats["num_workers"], "" if stats["num_workers"] == 1 else "s"))

    return run_main(PROG, call)


def run():
    """Console-script entry point."""
    run_absl(define_flags, main)


if __name__ == "__main__":
    run()
