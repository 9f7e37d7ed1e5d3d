"""bert-tf1-to-hf: convert a Google-layout TF1 BERT to a HuggingFace directory."""
import argparse
import sys

from bert_tf1.cli import run_main
from bert_tf1.cli.flags import add_casing_arguments
from bert_tf1.convert.hf_convert import tf1_to_safetensors

PROG = "bert-tf1-to-hf"
PREFIXES = {"auto": None, "bert": "bert.", "none": ""}


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Convert a Google-layout TF1 BERT (bert_config.json, vocab.txt, "
                    "bert_model.ckpt) to a HuggingFace directory (config.json, "
                    "model.safetensors, vocab.txt, tokenizer_config.json).")
    parser.add_argument("--bert_dir", required=True,
                        help="directory with bert_config.json, vocab.txt, bert_model.ckpt.*")
    parser.add_argument("--output", required=True, help="HuggingFace model directory to write")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    parser.add_argument("--prefix", choices=sorted(PREFIXES), default="auto",
                        help="encoder tensor names: 'bert' gives bert.encoder... "
                             "(BertForPreTraining / BertForMaskedLM), 'none' gives encoder... "
                             "(BertModel); auto: 'bert' when the checkpoint has a "
                             "pre-training head")
    add_casing_arguments(parser, "write do_lower_case")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 on bad input, printed to stderr)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        result = tf1_to_safetensors(args.bert_dir, args.output, overwrite=args.overwrite,
                                    prefix=PREFIXES[args.prefix],
                                    do_lower_case=args.do_lower_case)
        print("wrote %s: %s, %d tensors, do_lower_case=%s" % (
            result["output_dir"], result["architecture"], result["tensors"],
            result["do_lower_case"]))

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
