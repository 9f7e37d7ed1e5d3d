"""Every notebook in notebooks/ is valid nbformat 4 and runs end to end on the tiny BERT.

A notebook is executed the way Jupyter would run it top to bottom, without Jupyter: its code
cells run in order in one fresh Python process, and a cell's trailing expression is printed as
Jupyter displays it. Cells whose first line is `# notebook-only` (IPython magics, display-only
set-up) are skipped. Parameters are overridden through the environment: the parameters cell of
each notebook reads `BERT_TF1_<NAME>` (see the notebook's Parameters section).
"""
import ast
import json
import math
import os
import re

import pytest
from support import REPO_ROOT, run_python

from bert_tf1.data.fixtures import write_fixture

NOTEBOOK_DIR = os.path.join(REPO_ROOT, "notebooks")
NOTEBOOK_ONLY = "# notebook-only"
PARAMETER_PREFIX = "BERT_TF1_"

# Runs a notebook's code cells in order: argv = notebook, JSON file to write, names to export.
DRIVER = r'''
import ast, json, linecache, sys

import numpy as np

path, export_path, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
with open(path, encoding="utf-8") as handle:
    notebook = json.load(handle)
namespace = {"__name__": "__main__"}
for index, cell in enumerate(notebook["cells"]):
    source = "".join(cell["source"])
    if cell["cell_type"] != "code" or source.lstrip().startswith("# notebook-only"):
        continue
    filename = "<notebook cell %d>" % index
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    tree = ast.parse(source, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    exec(compile(tree, filename, "exec"), namespace)
    if last is not None:
        value = eval(compile(last, filename, "eval"), namespace)
        if value is not None:
            print("Out[%d]: %r" % (index, value), flush=True)


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


with open(export_path, "w") as handle:
    json.dump({name: jsonable(namespace[name]) for name in names}, handle)
'''

BINARY_METRICS = ("eval_accuracy", "auc", "precision", "recall", "f1", "true_positives",
                  "true_negatives", "false_positives", "false_negatives", "eval_loss", "loss",
                  "global_step")


def notebook_paths():
    if not os.path.isdir(NOTEBOOK_DIR):
        return []
    return sorted(os.path.join(NOTEBOOK_DIR, name) for name in os.listdir(NOTEBOOK_DIR)
                  if name.endswith(".ipynb"))


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def source_text(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def run_notebook(path, tmp_path, parameters, export):
    """Executes `path`'s code cells with BERT_TF1_<NAME> overrides; returns (stdout, exports)."""
    export_path = str(tmp_path / "exports.json")
    env = {PARAMETER_PREFIX + name: str(value) for name, value in parameters.items()}
    env.update(MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="2")
    result = run_python(["-c", DRIVER, path, export_path, ",".join(export)], env=env,
                        cwd=NOTEBOOK_DIR)
    with open(export_path) as handle:
        return result.stdout, json.load(handle)


def test_the_notebooks_folder_holds_notebooks():
    names = [os.path.basename(path) for path in notebook_paths()]
    assert "predicting_movie_reviews_with_bert_on_tf_hub.ipynb" in names, names


@pytest.mark.parametrize("path", notebook_paths(), ids=os.path.basename)
def test_notebook_is_valid_nbformat_4_without_outputs(path):
    notebook = load(path)
    assert set(notebook) == {"cells", "metadata", "nbformat", "nbformat_minor"}
    assert notebook["nbformat"] == 4 and isinstance(notebook["nbformat_minor"], int)
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    # The kernel is the side Jupyter venv's own python3 (it sees .venv through a .pth file), so
    # the name shown must not claim .venv, which holds no Jupyter.
    assert ".venv" not in notebook["metadata"]["kernelspec"]["display_name"]
    assert notebook["metadata"]["language_info"]["name"] == "python"
    ids = []
    for index, cell in enumerate(notebook["cells"]):
        where = "%s cell %d" % (os.path.basename(path), index)
        common = {"cell_type", "metadata", "source"} | (
            {"id"} if notebook["nbformat_minor"] >= 5 else set())
        assert isinstance(cell["metadata"], dict), where
        assert isinstance(cell["source"], (str, list)), where
        if isinstance(cell["source"], list):
            assert all(isinstance(line, str) for line in cell["source"]), where
            assert all(line.endswith("\n") for line in cell["source"][:-1]), where
        if "id" in common:
            assert re.match(r"^[a-zA-Z0-9_-]{1,64}$", cell["id"]), where
            ids.append(cell["id"])
        if cell["cell_type"] == "code":
            assert set(cell) == common | {"outputs", "execution_count"}, where
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                "%s: commit notebooks without outputs" % where
            source = source_text(cell)
            if not source.lstrip().startswith(NOTEBOOK_ONLY):
                ast.parse(source, where)  # plain Python: no magics outside notebook-only cells
        else:
            assert cell["cell_type"] in ("markdown", "raw"), where
            assert set(cell) - {"attachments"} == common, where
    assert len(ids) == len(set(ids)), "duplicate cell ids"
    parameters = [cell for cell in notebook["cells"]
                  if "parameters" in cell["metadata"].get("tags", [])]
    assert len(parameters) == 1, "exactly one cell tagged 'parameters' (papermill's convention)"
    assert PARAMETER_PREFIX in source_text(parameters[0])


def test_imdb_notebook_changes_imports_and_marks_each_correction():
    notebook = load(os.path.join(NOTEBOOK_DIR,
                                 "predicting_movie_reviews_with_bert_on_tf_hub.ipynb"))
    code = "\n".join(source_text(c) for c in notebook["cells"] if c["cell_type"] == "code")
    markdown = [source_text(c) for c in notebook["cells"] if c["cell_type"] == "markdown"]
    assert "from bert_tf1 import compat, run_classifier" in code
    assert not re.search(r"^\s*(from bert import|import bert\b)", code, re.M)
    executable = [line for line in code.splitlines() if not line.lstrip().startswith("#")]
    for remote in ("tfhub.dev", "ai.stanford.edu", "get_file(", "google.colab"):
        assert not any(remote in line for line in executable), remote  # runs offline
    corrections = [text for text in markdown if text.startswith("**Correction")]
    numbers = {int(n) for text in corrections for n in re.findall(r"\d", text.split(":", 1)[0])}
    assert numbers == {1, 2, 3, 4, 5, 6}, numbers


def test_googles_tokenizer_runs_after_importing_the_kits_run_classifier(tmp_path):
    # Ported notebooks keep `from bert import tokenization`; bert-tensorflow 1.0.4's tokenizer
    # reads an absl flag, which raised UnparsedFlagAccessError outside tf.app.run.
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nthere\n")
    code = ("from bert_tf1 import run_classifier\nfrom bert import tokenization\n"
            "tokenizer = tokenization.FullTokenizer(vocab_file=%r, do_lower_case=True)\n"
            "print(tokenizer.tokenize('Hello there'))" % str(vocab))
    assert run_python(["-c", code]).stdout.strip().splitlines()[-1] == "['hello', 'there']"


@pytest.mark.e2e
def test_imdb_notebook_runs_on_the_tiny_bert(tiny_hub_module, tmp_path):
    data_dir = write_fixture("imdb", str(tmp_path / "imdb"), per_label=8, variant="csv")
    stdout, out = run_notebook(
        os.path.join(NOTEBOOK_DIR, "predicting_movie_reviews_with_bert_on_tf_hub.ipynb"),
        tmp_path,
        dict(BERT_MODEL_HUB=tiny_hub_module, DATA_DIR=data_dir, FETCH_MISSING="false",
             OUTPUT_DIR=str(tmp_path / "output"), TRAIN_SAMPLES=16, TEST_SAMPLES=12,
             MAX_SEQ_LENGTH=32, BATCH_SIZE=8, NUM_TRAIN_EPOCHS=1, LEARNING_RATE=1e-4,
             LOG_LEVEL="WARN"),
        export=["eval_results", "sklearn_results", "predictions", "single_prediction",
                "num_train_steps", "test_predictions"])

    results = out["eval_results"]
    assert set(BINARY_METRICS) <= set(results), sorted(results)
    assert results["global_step"] == out["num_train_steps"] == 2
    counts = [results[k] for k in ("true_positives", "true_negatives", "false_positives",
                                   "false_negatives")]
    assert sum(counts) == 12 and all(float(c).is_integer() for c in counts)
    p, r = results["precision"], results["recall"]
    assert results["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0, abs=1e-6)
    # Evaluation and prediction are one deterministic graph: scikit-learn agrees.
    for name, value in out["sklearn_results"].items():
        assert results[name] == pytest.approx(value, abs=1e-5), name
    assert 0.0 <= results["auc"] <= 1.0 and math.isfinite(results["eval_loss"])
    assert len(out["test_predictions"]) == 12
    for prediction in out["test_predictions"]:
        assert set(prediction) >= {"probabilities", "log_probabilities", "labels"}
        assert sum(prediction["probabilities"]) == pytest.approx(1.0, abs=1e-5)
        assert prediction["log_probabilities"][1] == pytest.approx(
            math.log(prediction["probabilities"][1]), abs=1e-4)

    assert [sentence for sentence, _, _ in out["predictions"]] == [
        "That movie was absolutely awful", "The acting was a bit lacking",
        "The film was creative and surprising", "Absolutely fantastic!"]
    for sentence, probabilities, label in out["predictions"] + out["single_prediction"]:
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5) and min(probabilities) >= 0
        assert label == ["Negative", "Positive"][int(probabilities[1] > probabilities[0])]
    assert len(out["single_prediction"]) == 1  # a predict batch of one example

    # Displayed as in Jupyter: the metric dictionary and the predictions.
    assert re.search(r"Out\[\d+\]: \{.*'auc': ", stdout)
    assert "Out[" in stdout and "'Absolutely fantastic!'" in stdout
    assert "Beginning Training!" in stdout
    assert os.path.exists(str(tmp_path / "output" / "checkpoint"))


@pytest.mark.e2e
def test_checkpoint_notebook_runs_on_the_tiny_bert_with_padded_batches(tiny_bert_dir, tmp_path):
    data_dir = write_fixture("imdb", str(tmp_path / "imdb"), per_label=8, variant="csv")
    output_dir = tmp_path / "output"
    stdout, out = run_notebook(
        os.path.join(NOTEBOOK_DIR, "fine_tuning_from_a_bert_checkpoint.ipynb"), tmp_path,
        dict(BERT_DIR=tiny_bert_dir, DATA_DIR=data_dir, FETCH_MISSING="false",
             OUTPUT_DIR=str(output_dir), TRAIN_SAMPLES=12, TEST_SAMPLES=10, MAX_SEQ_LENGTH=32,
             TRAIN_BATCH_SIZE=4, EVAL_BATCH_SIZE=4, PREDICT_BATCH_SIZE=4, NUM_TRAIN_EPOCHS=1,
             PAD_BATCHES="true", LOG_LEVEL="WARN"),
        export=["result", "sklearn_results", "num_train_steps"])

    result = out["result"]
    assert set(BINARY_METRICS) <= set(result), sorted(result)
    assert result["global_step"] == out["num_train_steps"] == 3
    # 10 real reviews padded to 12: the two padding rows are not counted.
    assert sum(result[k] for k in ("true_positives", "true_negatives", "false_positives",
                                   "false_negatives")) == 10
    assert "10 real test reviews, 2 padding rows; counted: 10" in stdout
    for name, value in out["sklearn_results"].items():
        assert result[name] == pytest.approx(value, abs=1e-5), name

    with open(str(output_dir / "eval_results.txt")) as handle:
        written = dict(line.rstrip("\n").split(" = ") for line in handle)
    assert set(written) == set(result)
    with open(str(output_dir / "test_results.tsv")) as handle:
        rows = [[float(v) for v in line.split("\t")] for line in handle]
    assert len(rows) == 10 and all(sum(row) == pytest.approx(1.0, abs=1e-5) for row in rows)
