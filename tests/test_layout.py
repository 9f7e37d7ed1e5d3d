"""The package's layout rules, checked on the source: one room per concern, entry points in cli/.

- library code (everything outside bert_tf1/cli) never imports bert_tf1.cli, parses arguments or
  defines absl flags: flags are parsed in cli/ and passed to library calls as arguments;
- every console script in setup.py points into bert_tf1.cli;
- an import inside a function carries its reason in a comment (the line above or its own line):
  imports live at module level unless optional or kept out of a light module on purpose;
- README's layout section names every subpackage and the tree has every one it names.
"""
import ast
import os
import re

import pytest
from support import REPO_ROOT

PACKAGE = os.path.join(REPO_ROOT, "bert_tf1")


def package_modules():
    """(relative path, source) of every module of the package."""
    found = []
    for root, dirs, files in os.walk(PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as handle:
                    found.append((os.path.relpath(path, REPO_ROOT), handle.read()))
    return found


def imported_modules(tree):
    """(line, dotted name) of each import in an AST, `from a import b` giving a.b and a."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, "%s.%s" % (node.module, alias.name)


LIBRARY = [(path, source) for path, source in package_modules()
           if not path.startswith(os.path.join("bert_tf1", "cli"))]


def test_library_never_imports_the_cli_package():
    offenders = ["%s:%d imports %s" % (path, line, name)
                 for path, source in LIBRARY
                 for line, name in imported_modules(ast.parse(source))
                 if name == "bert_tf1.cli" or name.startswith("bert_tf1.cli.")]
    assert not offenders, offenders


def test_library_parses_no_arguments_and_defines_no_flags():
    offenders = []
    for path, source in LIBRARY:
        tree = ast.parse(source)
        for line, name in imported_modules(tree):
            if name == "argparse":
                offenders.append("%s:%d imports argparse" % (path, line))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "main" and \
                    node.col_offset == 0:
                offenders.append("%s:%d defines main()" % (path, node.lineno))
            if isinstance(node, ast.Attribute) and node.attr.startswith("DEFINE_"):
                offenders.append("%s:%d defines an absl flag" % (path, node.lineno))
    assert not offenders, offenders


def test_every_console_script_lives_in_cli():
    with open(os.path.join(REPO_ROOT, "setup.py")) as handle:
        scripts = re.findall(r'"(bert-tf1-[a-z-]+)=([\w.]+):(\w+)"', handle.read())
    assert len(scripts) >= 11, scripts
    outside = [entry for entry in scripts if not entry[1].startswith("bert_tf1.cli.")]
    assert not outside, outside


def test_function_level_imports_say_why():
    unexplained = []
    for path, source in package_modules():
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0:
                own, above = lines[node.lineno - 1], lines[node.lineno - 2].strip()
                if "#" not in own and not above.startswith("#") and "#" not in above:
                    unexplained.append("%s:%d: %s" % (path, node.lineno, own.strip()))
    assert not unexplained, unexplained


def readme_layout_section():
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as handle:
        text = handle.read()
    match = re.search(r"^## Layout\n(.*?)(?=^## )", text, re.S | re.M)
    assert match, "README.md has no '## Layout' section"
    return match.group(1)


def test_readme_layout_matches_the_subpackages():
    section = readme_layout_section()
    named = set(re.findall(r"bert_tf1/([a-z_]+)/", section))
    present = {name for name in os.listdir(PACKAGE)
               if os.path.isfile(os.path.join(PACKAGE, name, "__init__.py"))}
    assert named == present, ("README names %s; the package has %s"
                              % (sorted(named), sorted(present)))


@pytest.mark.parametrize("path", ["bert_tf1/data/tasks/glue.py", "bert_tf1/data/tasks/corpora.py"])
def test_builtin_task_modules_import_the_registry_not_the_package(path):
    """The registry is filled once, on importing bert_tf1.data.tasks: the built-in task
    modules import registry.py only, so there is no import cycle to leave it half-filled."""
    with open(os.path.join(REPO_ROOT, path)) as handle:
        names = {name for _, name in imported_modules(ast.parse(handle.read()))}
    assert "bert_tf1.data.tasks.registry" in names
    assert not {"bert_tf1.data.tasks"} & {n for n in names if n.count(".") == 2}


def test_every_builtin_task_is_registered_after_one_import(tmp_path):
    """A fresh process that imports only the registry API sees the GLUE and corpus tasks."""
    from support import run_python

    result = run_python(["-c", "from bert_tf1.data.tasks import task_names; "
                               "print(' '.join(task_names()))"])
    names = result.stdout.split()
    assert {"cola", "mrpc", "imdb", "spam", "csv", "folder"} <= set(names), names
