"""bert-tf1-from-hf: convert a HuggingFace BERT directory to Google's TF1 layout."""
import argparse
import sys

from bert_tf1.cli import run_main
from bert_tf1.convert.hf_convert import convert_hf_to_tf1

PROG = "bert-tf1-from-hf"


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Convert a HuggingFace BERT (config.json; vocab.txt or tokenizer.json; "
                    "model.safetensors or pytorch_model.bin, single or sharded with its "
                    ".index.json) to Google's TF1 layout (bert_config.json, vocab.txt, "
                    "bert_model.ckpt). bert-tf1-to-hf is the reverse.")
    parser.add_argument("--hf_dir", required=True, help="HuggingFace model directory")
    parser.add_argument("--output", required=True, help="Google-layout BERT directory to write")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the pooler initialisation when the model has no pooler")
    parser.add_argument("--allow_layer_norm_eps", action="store_true",
                        help="convert even if config.json's layer_norm_eps is not 1e-12 (Google's "
                             "fixed value; outputs then differ slightly from the HF model's)")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 on bad input, printed to stderr)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        result = convert_hf_to_tf1(args.hf_dir, args.output, overwrite=args.overwrite,
                                   seed=args.seed, allow_layer_norm_eps=args.allow_layer_norm_eps)
        for note in result["notes"]:
            print("%s: warning: %s" % (PROG, note), file=sys.stderr)
        print("wrote %s from %s: %d variables, heads: %s" % (
            result["output_dir"], result["weights"], result["variables"],
            ", ".join(result["heads"]) or "none"))
        if result["do_lower_case"] is not None:
            print("the tokenizer declares do_lower_case=%s: pass --%sdo_lower_case to "
                  "bert-tf1-export-hub (and run_classifier)" % (
                      result["do_lower_case"], "" if result["do_lower_case"] else "no"))

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
