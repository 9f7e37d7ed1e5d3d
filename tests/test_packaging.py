"""The lock, setup.py, README and CI entry point agree with each other."""
import hashlib
import os
import re
import subprocess
import sys

import pkg_resources
import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP_COMMAND = "bash scripts/setup.sh"
TEST_COMMAND = "bash scripts/test.sh"


def read(name):
    with open(os.path.join(REPO_ROOT, name)) as handle:
        return handle.read()


def lock_pins(name):
    """{project name (lower case): version} from an ==-pinned requirements file."""
    pins = {}
    for number, line in enumerate(read(name).splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+\-]+)$", line)
        assert match, "%s:%d: expected NAME==VERSION, found %r" % (name, number, line)
        key = pkg_resources.safe_name(match.group(1)).lower()
        assert key not in pins, "%s:%d: %s pinned twice" % (name, number, key)
        pins[key] = match.group(2)
    return pins


def setup_install_requires():
    source = read("setup.py")
    block = re.search(r"install_requires=\[(.*?)\]", source, re.S).group(1)
    return re.findall(r'"([^"]+)"', block)


def test_every_lock_line_is_an_exact_pin_and_files_do_not_overlap():
    runtime, dev = lock_pins("requirements-tf1.txt"), lock_pins("requirements-dev.txt")
    assert not set(runtime) & set(dev), "pinned in both lock files: %s" % (set(runtime) & set(dev))
    for name in ("tensorflow", "tensorflow-estimator", "tensorflow-hub", "bert-tensorflow",
                 "numpy", "protobuf", "h5py", "pandas", "scikit-learn", "absl-py"):
        assert name in runtime, "requirements-tf1.txt does not pin %s" % name
    assert runtime["tensorflow"] == "1.15.5" and runtime["tensorflow-hub"] == "0.7.0"
    assert pkg_resources.parse_version(runtime["numpy"]) < pkg_resources.parse_version("1.19")
    assert runtime["protobuf"].startswith("3.20.")


def test_setup_py_ranges_admit_the_lock():
    runtime = lock_pins("requirements-tf1.txt")
    for text in setup_install_requires():
        requirement = pkg_resources.Requirement.parse(text)
        key = requirement.project_name.lower()
        assert key in runtime, "setup.py requires %s, which requirements-tf1.txt lacks" % key
        assert runtime[key] in requirement, "setup.py's %s excludes the lock's %s==%s" % (
            text, key, runtime[key])


# In the venv besides the lock: the project itself and the pip that `python -m venv` seeds.
NOT_IN_LOCK = {"bert-tf1", "pip"}


def test_installed_environment_matches_the_lock():
    pins = dict(lock_pins("requirements-tf1.txt"), **lock_pins("requirements-dev.txt"))
    installed = {dist.key: dist.version for dist in pkg_resources.working_set}
    wrong = ["%s: lock %s, installed %s" % (name, version, installed.get(name))
             for name, version in sorted(pins.items()) if installed.get(name) != version]
    assert not wrong, "run the set-up command again: %s" % "; ".join(wrong)
    extra = sorted(set(installed) - set(pins) - NOT_IN_LOCK)
    assert not extra, "installed but not in the lock (remove them or pin them): %s" % extra


def test_readme_opens_with_the_two_commands_and_ci_runs_exactly_them():
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", read("README.md"), re.S)
    assert first_block, "README.md must open with a code block holding the two commands"
    lines = [line for line in first_block.group(1).splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == [SETUP_COMMAND, TEST_COMMAND], lines
    head = read("README.md").split("```")[0]
    assert len(head.splitlines()) <= 6, "the commands must come first in README.md"
    ci_lines = [line.strip() for line in read(".ci/run").splitlines()
                if line.strip() and not line.startswith("#") and not line.startswith("set ")
                and not line.startswith("cd ")]
    # README's two commands, set-up first and the suite last (pytest's closing line is what CI
    # reads); the image test named in README runs between them (tests/test_docker.py checks it).
    assert ci_lines[0] == SETUP_COMMAND and ci_lines[-1] == TEST_COMMAND, ci_lines


def test_console_scripts_are_installed():
    bin_dir = os.path.dirname(os.path.realpath(os.path.join(REPO_ROOT, ".venv", "bin", "python")))
    venv_bin = os.path.join(REPO_ROOT, ".venv", "bin")
    for script in ("bert-tf1-make-tiny", "bert-tf1-export-hub"):
        path = os.path.join(venv_bin, script)
        if not os.path.exists(path):
            pytest.skip("not running from the repository's .venv (%s)" % bin_dir)
        result = subprocess.run([path, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True)
        assert result.returncode == 0 and "--output" in result.stdout, result.stderr


def test_setup_script_refuses_a_wrong_interpreter_with_a_clear_message(tmp_path):
    env = dict(os.environ, BERT_TF1_PYTHON="/usr/bin/false", BERT_TF1_VENV=str(tmp_path / "v"))
    result = subprocess.run(["bash", os.path.join(REPO_ROOT, "scripts", "setup.sh")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    assert result.returncode == 1
    assert "no CPython 3.7" in result.stderr and "Docker image" in result.stderr
    assert not os.path.exists(str(tmp_path / "v"))


def which_python(tmp_path, path_dirs=(), **overrides):
    """What `setup.sh --which-python` picks with PATH limited to path_dirs + the system's."""
    env = dict(os.environ, BERT_TF1_VENV=str(tmp_path / "v"),
               PATH=os.pathsep.join(list(path_dirs) + ["/usr/bin", "/bin"]))
    env.pop("BERT_TF1_PYTHON", None)
    env.update(overrides)
    return subprocess.run(["bash", os.path.join(REPO_ROOT, "scripts", "setup.sh"),
                           "--which-python"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)


def fake_interpreter(folder, name):
    """A symlink called `name` in `folder` to this test's CPython 3.7."""
    os.makedirs(folder)
    path = os.path.join(folder, name)
    os.symlink(sys.executable, path)
    return path


def test_setup_script_finds_python37_on_path_then_in_pyenv(tmp_path):
    pyenv_python = fake_interpreter(str(tmp_path / "pyenv" / "versions" / "3.7.99" / "bin"),
                                    "python")
    found = which_python(tmp_path, PYENV_ROOT=str(tmp_path / "pyenv"))
    assert (found.returncode, found.stdout.strip()) == (0, pyenv_python), found.stderr
    on_path = fake_interpreter(str(tmp_path / "bin"), "python3.7")
    found = which_python(tmp_path, [str(tmp_path / "bin")], PYENV_ROOT=str(tmp_path / "pyenv"))
    assert (found.returncode, found.stdout.strip()) == (0, on_path), found.stderr
    nothing = which_python(tmp_path, PYENV_ROOT=str(tmp_path / "empty"))
    assert nothing.returncode == 1 and "no CPython 3.7" in nothing.stderr
    assert not os.path.exists(str(tmp_path / "v"))


def test_setup_script_refuses_another_python_version(tmp_path):
    other = [path for path in ("/usr/bin/python3", "/usr/local/bin/python3")
             if os.path.exists(path)]
    if not other:
        pytest.skip("no system python3 besides the 3.7 under test")
    version = subprocess.run([other[0], "-c", "import sys; print(sys.version_info[:2])"],
                             stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    assert version != "(3, 7)"
    refused = which_python(tmp_path, BERT_TF1_PYTHON=other[0])
    assert refused.returncode == 1
    assert "is not a CPython 3.7" in refused.stderr


def test_setup_script_returns_at_once_when_the_venv_is_current():
    stamp = os.path.join(REPO_ROOT, ".venv", ".bert_tf1-setup-stamp")
    inputs = "".join(read(name) for name in ("requirements-tf1.txt", "requirements-dev.txt",
                                             "setup.py"))
    if not os.path.exists(stamp) or read(stamp).strip() != hashlib.sha256(
            inputs.encode("utf-8")).hexdigest():
        # Otherwise the set-up command would reinstall the venv the suite is running in.
        pytest.skip("the repository's .venv is not current with the lock and setup.py")
    result = subprocess.run(["bash", os.path.join(REPO_ROOT, "scripts", "setup.sh")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    assert result.returncode == 0, result.stderr
    assert "is up to date" in result.stdout and "Collecting" not in result.stdout


def test_test_script_turns_no_tests_into_a_failure(tmp_path):
    result = subprocess.run(["bash", os.path.join(REPO_ROOT, "scripts", "test.sh"),
                             "-k", "no_test_has_this_name_xyz"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, cwd=REPO_ROOT)
    assert result.returncode == 1
    assert "collected no tests (exit 5)" in result.stderr
