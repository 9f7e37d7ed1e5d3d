"""Command-line entry points: one module per console script (see setup.py), all thin.

Flags are parsed here and passed to library calls as arguments; library modules never read absl
FLAGS and never import this package (tests/test_layout.py enforces both). Shared pieces:
`run_main` (the kit's errors and I/O faults -> "prog: error: ..." and exit 2), `run_absl`,
`print_eval_results`, and the flag groups in cli/flags.py.
"""
import os
import sys

# Entry points import TensorFlow at module level: its C++ log level must be set before that.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402

from bert_tf1.runtime import io_errors  # noqa: E402


def run_main(prog, call):
    """Runs `call()` and maps the kit's errors to one line on stderr and exit code 2.

    Args:
      prog: the command's name as users typed it (e.g. "bert-tf1-make-tiny").
      call: a function of no arguments returning an exit code (None counts as 0).

    Returns:
      int exit code: call's, or 2 after printing "PROG: error: MESSAGE" for a BertTF1Error or
      an I/O fault (disk full, read-only, not a directory, remote store down: io_errors).
    """
    try:
        code = call()
    except Exception as error:  # noqa: BLE001 - I/O faults become one line too (io_errors)
        reported = io_errors.user_error(error)
        if reported is None:
            raise
        print("%s: error: %s" % (prog, reported), file=sys.stderr)
        return 2
    return 0 if code is None else code


def run_absl(define_flags, main):
    """Console-script body shared by the absl CLIs: define flags, parse, exit with main's code."""
    define_flags()
    app.run(lambda argv: sys.exit(main(argv)))


def print_eval_results(results):
    """Prints eval results as google-research/bert's scripts do (sorted 'key = value')."""
    if results:
        print("***** Eval results *****")
        for key, value in sorted(results.items()):
            print("  %s = %s" % (key, value))
