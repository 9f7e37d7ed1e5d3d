"""bert-tf1-export-hub: export a Google-layout BERT checkpoint as a TF1 Hub module."""
import argparse
import sys

from bert_tf1.cli import run_main
from bert_tf1.cli.flags import add_casing_arguments
from bert_tf1.convert.hub_export import export_hub_module

PROG = "bert-tf1-export-hub"


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export a Google-layout BERT checkpoint as a TF1 Hub module "
                    "(signatures tokens, tokenization_info, mlm).")
    parser.add_argument("--bert_dir", required=True,
                        help="directory with bert_config.json, vocab.txt, bert_model.ckpt.*")
    parser.add_argument("--output", required=True, help="module directory to write")
    add_casing_arguments(parser, "record do_lower_case")
    parser.add_argument("--checkpoint", default=None,
                        help="checkpoint prefix to export instead of BERT_DIR/bert_model.ckpt")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing module")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after printing the error)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        result = export_hub_module(args.bert_dir, args.output, do_lower_case=args.do_lower_case,
                                   overwrite=args.overwrite, checkpoint=args.checkpoint)
        print("exported hub module to %s (signatures: %s; do_lower_case=%s)"
              % (result["output_dir"], ", ".join(result["signatures"]), result["do_lower_case"]))

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
