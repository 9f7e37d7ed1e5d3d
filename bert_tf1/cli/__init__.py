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
