"""bert-tf1-report: the report (tables + PNG plots) of finished run_classifier runs.

    bert-tf1-report --output_dir runs/my_run                 # -> runs/my_run/report/
    bert-tf1-report --output_dir runs/a runs/b --report_dir runs/a_vs_b   # comparison
"""
import argparse
import sys

from bert_tf1 import compat
from bert_tf1.cli import run_main
from bert_tf1.reproduce import run_report

PROG = "bert-tf1-report"


def build_arg_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=run_report.__doc__.split("\n\n")[0])
    parser.add_argument("--output_dir", nargs="+", required=True, metavar="RUN",
                        help="the --output_dir of one or more finished runs (several: a "
                             "comparison)")
    parser.add_argument("--report_dir", help="where to write report.md/.html/.json and the "
                        "PNGs (default: RUN/report, or report_A_vs_B beside the first run)")
    return parser


def main(argv=None):
    args = build_arg_parser().parse_args(argv)

    def call():
        compat.setup_tf1()
        report = run_report.build_run_report(args.output_dir, args.report_dir)
        print("wrote %s/%s (and %s, %d plots)" % (report["report_dir"], run_report.REPORT_MD,
                                                 run_report.REPORT_HTML, len(report["plots"])))
        for note in report["notes"]:
            print("note: " + note)

    return run_main(PROG, call)


def run():
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
