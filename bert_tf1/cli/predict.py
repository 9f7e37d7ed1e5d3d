"""bert-tf1-predict: predictions for a file of texts with an exported model.

    bert-tf1-predict --model runs/imdb_export --input reviews.jsonl --output predictions.jsonl

JSON lines ({"text": ..., "text_b": ...}), CSV / TSV with a header, or plain text in (by
extension or --format; stdin by default), JSON lines out (stdout by default): each input record
plus predicted_label and probabilities. See bert_tf1.serving.predict_file.
"""
import argparse
import sys

from bert_tf1 import compat
from bert_tf1.cli import run_main
from bert_tf1.serving import predict_file
from bert_tf1.serving.predictor import DEFAULT_BATCH_SIZE, Predictor

PROG = "bert-tf1-predict"


def build_arg_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="directory written by bert-tf1-export")
    parser.add_argument("--input", default=None, help="input file (default: stdin)")
    parser.add_argument("--output", default=None,
                        help="output file, written atomically (default: stdout)")
    parser.add_argument("--batch_size", type=int, default=DEFAULT_BATCH_SIZE,
                        help="inputs per session run (default %(default)s)")
    parser.add_argument("--format", default="auto", choices=("auto",) + predict_file.FORMATS,
                        help="input format (default: from the extension; stdin: jsonl)")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after one error line: bad input or an I/O fault)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        compat.setup_tf1()
        with Predictor(args.model, batch_size=args.batch_size) as predictor:
            count = predict_file.predict_file(predictor, args.input, args.output,
                                              fmt=args.format)
        if args.output not in (None, "-"):
            print("%s: %d predictions written to %s" % (PROG, count, args.output),
                  file=sys.stderr)

    return run_main(PROG, call)


def run():
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
