"""Command-line entry points. Flags are parsed here and passed to library calls as arguments;
library modules never read absl FLAGS."""
import sys


def run_absl(define_flags, main):
    """Console-script body shared by the absl CLIs: define flags, parse, exit with main's code."""
    from absl import app

    define_flags()
    app.run(lambda argv: sys.exit(main(argv)))


def print_eval_results(results):
    """Prints eval results as google-research/bert's scripts do (sorted 'key = value')."""
    if results:
        print("***** Eval results *****")
        for key, value in sorted(results.items()):
            print("  %s = %s" % (key, value))


def add_casing_arguments(parser, what="do_lower_case"):
    """--do_lower_case / --nodo_lower_case (Google's flag spelling) on an argparse parser.

    Used by the argparse mains that live beside their library code (hub_export, hf_convert,
    further_pretraining); this package imports nothing from bert_tf1, so that creates no cycle.

    The value is None when neither is given: the callers then infer the casing from the
    vocabulary (hub_export.infer_do_lower_case).
    """
    casing = parser.add_mutually_exclusive_group()
    casing.add_argument("--do_lower_case", dest="do_lower_case", action="store_const",
                        const=True, default=None,
                        help="%s=true (default: inferred from the vocabulary)" % what)
    casing.add_argument("--nodo_lower_case", dest="do_lower_case", action="store_const",
                        const=False, help="%s=false (cased models)" % what)
    return casing
