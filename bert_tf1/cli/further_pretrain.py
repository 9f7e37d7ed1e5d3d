"""bert-tf1-further-pretrain: further pre-train BERT on a task's texts, then export it."""
import argparse
import sys

from bert_tf1.cli import print_eval_results, run_main
from bert_tf1.cli.flags import add_casing_arguments, finite_float, signature_defaults
from bert_tf1.data import tasks
from bert_tf1.modeling.tokenization import TOKENIZER_CHOICES
from bert_tf1.pretraining.further import further_pretrain

PROG = "bert-tf1-further-pretrain"


def build_arg_parser():
    defaults = signature_defaults(further_pretrain)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Further pre-train BERT (masked LM + next sentence) on a classification "
                    "task's texts (labels ignored), then export a BERT directory and a TF1 Hub "
                    "module (tokens, tokenization_info and mlm signatures) that "
                    "run_classifier_hub.py fine-tunes. Output: OUTPUT_DIR/{corpus.txt, "
                    "pretraining_data.tfrecord, model/, bert/, hub/, further_pretraining.json}.")
    parser.set_defaults(**{name: value for name, value in defaults.items()
                           if name not in ("do_lower_case", "task_options")})
    parser.add_argument("--task_name", required=True, help="registered task (labels ignored), "
                        "e.g. imdb, or csv / tsv / jsonl / folder for your own files")
    parser.add_argument("--data_dir", required=True)
    parser.add_argument("--output_dir", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--init_checkpoint", help="checkpoint prefix or BERT directory")
    source.add_argument("--init_hub_module", help="TF1 Hub module directory")
    parser.add_argument("--bert_config_file", help="default: next to --init_checkpoint, or "
                        "inferred from the hub module")
    parser.add_argument("--vocab_file", help="default: next to --init_checkpoint, or the "
                        "module's assets/vocab.txt; must match the config's vocab_size")
    add_casing_arguments(parser, "tokenize with do_lower_case")
    parser.add_argument("--split", help="split whose texts are used (default %(default)s)")
    parser.add_argument("--task_option", dest="task_options", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="task option, as run_classifier_hub.py's --task_option (repeat "
                             "it), e.g. text_a=review, header=false, filter=source:imdb")
    data = parser.add_argument_group("pre-training data (create_pretraining_data.py's flags)")
    data.add_argument("--max_seq_length", type=int)
    data.add_argument("--max_predictions_per_seq", type=int)
    data.add_argument("--dupe_factor", type=int)
    data.add_argument("--masked_lm_prob", type=finite_float)
    data.add_argument("--short_seq_prob", type=finite_float)
    data.add_argument("--do_whole_word_mask", action="store_true")
    data.add_argument("--random_seed", type=int, help="seed of the data (masks, sentence pairs)")
    data.add_argument("--tokenizer", choices=TOKENIZER_CHOICES,
                      help="as create_pretraining_data.py's (the data is the same)")
    data.add_argument("--num_workers", type=int, help="processes tokenizing and serializing "
                      "(0: one per CPU; the data is the same)")
    train = parser.add_argument_group("training (run_pretraining.py's flags)")
    train.add_argument("--train_batch_size", type=int)
    train.add_argument("--learning_rate", type=finite_float)
    train.add_argument("--num_train_steps", type=int)
    train.add_argument("--num_warmup_steps", type=int, help="default: 10%% of --num_train_steps")
    train.add_argument("--save_checkpoints_steps", type=int)
    train.add_argument("--seed", type=int, help="TensorFlow random seed (default: none)")
    train.add_argument("--do_eval", action="store_true",
                       help="evaluate on the pre-training data after training")
    train.add_argument("--eval_batch_size", type=int)
    train.add_argument("--max_eval_steps", type=int)
    parser.add_argument("--no_export_hub", dest="export_hub", action="store_false")
    parser.add_argument("--noprogress", dest="show_progress", action="store_false",
                        help="no progress bars")
    parser.set_defaults(show_progress=True)
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after printing the error)."""
    values = vars(build_arg_parser().parse_args(argv))
    task, data_dir = values.pop("task_name"), values.pop("data_dir")
    output_dir = values.pop("output_dir")

    def call():
        # Typed as run_classifier_hub.py's --task_option values are, so one command line's task
        # options mean the same in both commands.
        values["task_options"] = tasks.parse_option_pairs(values["task_options"],
                                                          tasks.find_task(task))
        produced = further_pretrain(task, data_dir, output_dir, **values)
        print("further pre-trained on %d examples (%d instances): BERT directory %s%s" % (
            produced["num_examples"], produced["num_instances"], produced["bert_dir"],
            ", hub module %s" % produced["hub_module"] if produced["hub_module"] else ""))
        print_eval_results(produced["eval_results"])

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
