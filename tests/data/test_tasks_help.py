"""--list_tasks / docs/tasks.md: one text generated from the task registry."""
import io
import os

from support import REPO_ROOT

from bert_tf1.data import tasks


def test_docs_tasks_md_is_the_generated_text():
    with io.open(os.path.join(REPO_ROOT, "docs", "tasks.md"), encoding="utf-8") as handle:
        written = handle.read()
    assert written == tasks.tasks_markdown(), (
        "docs/tasks.md is stale: regenerate it with the command at its top")


def test_tasks_help_lists_every_task_generic_formats_first():
    text = tasks.tasks_help()
    blocks = text.strip().split("\n\n")
    names = [block.split()[0] for block in blocks if block[0].islower()]
    assert sorted(names) == tasks.task_names()
    assert names[:4] == ["csv", "tsv", "jsonl", "folder"]


def test_describe_task_names_files_columns_labels_and_unlabelled_test():
    cola = tasks.describe_task(tasks.get_task("cola"))
    assert "test  test.tsv (columns: text_a=1, guid=0, header row; unlabelled)" in cola
    assert "columns: text_a=3, label=1, no header row" in cola
    assert "labels: 0, 1" in cola
    csv_text = tasks.describe_task(tasks.get_task("csv"))
    assert "test  test.csv (may omit the label column: then unlabelled)" in csv_text
    assert "labels: inferred" in csv_text and "data_dir/train.csv    text,label" in csv_text
    assert "labels: regression (a number in [0, 5])" in tasks.describe_task(
        tasks.get_task("sts-b"))
