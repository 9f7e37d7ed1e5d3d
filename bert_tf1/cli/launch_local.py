"""bert-tf1-launch-local: run a command as an N-worker job (+ evaluator) on this machine."""
import argparse
import sys

from bert_tf1.cli import run_main
from bert_tf1.runtime.launch import GRACE_SECONDS, launch_local

PROG = "bert-tf1-launch-local"


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage="%(prog)s --workers N [--evaluator] -- COMMAND [ARG ...]",
        description="Start N copies of COMMAND, each with its own TF_CONFIG on free ports of "
                    "--host (worker 0 is the chief), stream their output prefixed with the "
                    "task, stop them all when one fails, forward SIGINT/SIGTERM. COMMAND is "
                    "typically run_classifier_hub.py ... --distribution_strategy=multi_worker.")
    parser.add_argument("--workers", type=int, required=True, help="training processes (>= 1)")
    parser.add_argument("--evaluator", action="store_true",
                        help="also start an evaluator task (evaluates each new checkpoint and "
                             "writes eval_results; needs --do_eval in COMMAND)")
    parser.add_argument("--host", default="127.0.0.1", help="address the tasks listen on")
    parser.add_argument("--grace_seconds", type=float, default=GRACE_SECONDS,
                        help="after a failure or a signal, seconds before the tasks still "
                             "running are killed")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="the command every task runs, after '--'")
    return parser


def main(argv=None):
    """Returns the job's exit status (0, a failing task's code, or 2 after an input error)."""
    args = build_arg_parser().parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return run_main(PROG, lambda: launch_local(command, args.workers, args.evaluator, args.host,
                                               grace_seconds=args.grace_seconds))


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
