"""bert-tf1-export: a finished run's output_dir -> a self-describing TF1 SavedModel.

    bert-tf1-export --model_dir runs/imdb --output runs/imdb_export [--checkpoint PATH]

See bert_tf1.serving.export for what the SavedModel holds.
"""
import argparse
import sys

from bert_tf1 import compat
from bert_tf1.cli import run_main
from bert_tf1.serving import export

PROG = "bert-tf1-export"


def build_arg_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--model_dir", required=True,
                        help="output_dir of a finished run_classifier_hub.py run")
    parser.add_argument("--output", required=True, help="directory to write the SavedModel to")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint prefix (or directory) to export; default: the latest "
                             "in --model_dir")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing --output (once the new export is complete)")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after one error line: bad input or an I/O fault)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        compat.setup_tf1()
        result = export.export_saved_model(args.model_dir, args.output, args.checkpoint,
                                           args.overwrite)
        print("exported %s (step %s, head %s, max_seq_length %d, %s) to %s" % (
            result["checkpoint"], result["global_step"], result["head"],
            result["max_seq_length"], "regression" if result["is_regression"]
            else "labels " + ", ".join(result["labels"]), result["export_dir"]))

    return run_main(PROG, call)


def run():
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
