"""reproduce.py / bert-tf1-reproduce: run a recipe end to end and write its report."""
import argparse
import os
import sys

from bert_tf1 import compat
from bert_tf1.cli import run_main
from bert_tf1.errors import BertTF1Error
from bert_tf1.reproduce import recipes, runner
from bert_tf1.reproduce import report as report_lib

PROG = "reproduce.py"


def build_arg_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description=runner.__doc__.split("\n\n")[0],
        epilog="recipes: " + ", ".join(recipes.recipe_names()))
    parser.add_argument("--recipe", help="a recipe name (--list shows them) or a recipe .json")
    parser.add_argument("--list", action="store_true", help="list the recipes and exit")
    parser.add_argument("--hub_module", help="TF1 Hub module of the BERT to fine-tune")
    parser.add_argument("--init_checkpoint", help="or a Google-layout checkpoint ...")
    parser.add_argument("--bert_config_file", help="... with its bert_config.json ...")
    parser.add_argument("--vocab_file", help="... and vocab.txt")
    parser.add_argument("--do_lower_case", default="true", choices=["true", "false"],
                        help="checkpoint runs: lower-case input (default true)")
    parser.add_argument("--data_dir", help="the recipe's data (see the recipe's 'data' field)")
    parser.add_argument("--output_dir", help="runs go to OUTPUT_DIR/<variant>, the report to "
                        "OUTPUT_DIR/report")
    parser.add_argument("--variant", action="append", help="run only this variant (repeatable)")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", default=[],
                        help="override a recipe setting (recorded in the report as a deviation)")
    parser.add_argument("--report_only", action="store_true",
                        help="do not train: write the report from finished runs in output_dir")
    return parser


def describe(recipe):
    """One line per recipe for --list."""
    variants = ", ".join(recipe.variants) if len(recipe.variants) > 1 else "-"
    return "%-26s v%-2s %s [variants: %s]" % (recipe.name, recipe.version, recipe.title, variants)


def model_flags_from_args(args):
    """The BERT source flags a recipe run gets: a hub module, or a checkpoint with its files."""
    if args.hub_module:
        return {"bert_hub_module_handle": args.hub_module}
    if args.init_checkpoint and args.bert_config_file and args.vocab_file:
        return {"init_checkpoint": args.init_checkpoint,
                "bert_config_file": args.bert_config_file, "vocab_file": args.vocab_file,
                "do_lower_case": args.do_lower_case == "true"}
    raise BertTF1Error("give --hub_module, or --init_checkpoint with --bert_config_file and "
                       "--vocab_file")


def main(argv=None):
    """Returns the exit status (0, or 2 after printing the error)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        if args.list:
            for name in recipes.recipe_names():
                print(describe(recipes.load_recipe(name)))
            return 0
        for flag in ("recipe", "data_dir", "output_dir"):
            if not getattr(args, flag):
                raise BertTF1Error("--%s is required" % flag)
        recipe = recipes.load_recipe(args.recipe)
        model_flags = model_flags_from_args(args)
        compat.setup_tf1(log_level="INFO")
        report = runner.reproduce(recipe, args.data_dir, args.output_dir, model_flags,
                                  overrides=runner.parse_overrides(args.set),
                                  variants=args.variant, report_only=args.report_only)
        print(report_lib.render_markdown(report))
        print("report written to %s" % os.path.join(args.output_dir, runner.REPORT_SUBDIR))
        return 0

    return run_main(PROG, call)


def run():
    sys.exit(main())


if __name__ == "__main__":
    run()
