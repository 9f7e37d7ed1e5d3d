"""bert-tf1-make-tiny: write a random tiny BERT in Google's checkpoint layout."""
import argparse
import sys

from bert_tf1.cli import run_main
from bert_tf1.convert.tiny_bert import make_tiny_bert

PROG = "bert-tf1-make-tiny"


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Write a random tiny BERT (Google checkpoint layout) for tests and smoke runs.")
    parser.add_argument("--output", required=True, help="directory to write the BERT into")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--intermediate", type=int, default=512)
    parser.add_argument("--vocab_size", type=int, default=None,
                        help="pad the vocabulary with [unusedN] tokens to this size")
    parser.add_argument("--max_position_embeddings", type=int, default=512)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a BERT already in --output")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after printing the error)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        paths = make_tiny_bert(args.output, seed=args.seed, layers=args.layers,
                               hidden=args.hidden, heads=args.heads,
                               intermediate=args.intermediate, vocab_size=args.vocab_size,
                               max_position_embeddings=args.max_position_embeddings,
                               overwrite=args.overwrite)
        print("wrote tiny BERT: %s" % ", ".join(sorted(paths.values())))

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
