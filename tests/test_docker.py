"""Static checks that the Dockerfile, .dockerignore, the entrypoint and the lock cannot drift apart.

Nothing here builds an image: scripts/test-docker.sh does, with buildah, from .ci/run (it needs
root and minutes). The checks parse the files (each check takes paths, so the negative tests
below run it on a broken copy and prove it catches the fault), run scripts/docker-entrypoint.sh
against the repo's .venv, and keep .ci/run, scripts/test-docker.sh and docs/docker.md in step.
Every problem is reported as "FILE:LINE: what is wrong" (or "FILE: ...").
"""
import ast
import fnmatch
import glob
import os
import re
import shlex
import subprocess
import sys
from collections import namedtuple

import pytest
from packaging.specifiers import SpecifierSet

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERFILE = os.path.join(REPO, "Dockerfile")
DOCKERIGNORE = os.path.join(REPO, ".dockerignore")
SETUP_SH = os.path.join(REPO, "scripts", "setup.sh")
SETUP_PY = os.path.join(REPO, "setup.py")
LOCK = os.path.join(REPO, "requirements-tf1.txt")
ENTRYPOINT = os.path.join(REPO, "scripts", "docker-entrypoint.sh")
REPO_VENV = os.path.join(REPO, ".venv")
TEST_DOCKER_SH = os.path.join(REPO, "scripts", "test-docker.sh")
DOCKER_MD = os.path.join(REPO, "docs", "docker.md")
CI_RUN = os.path.join(REPO, ".ci", "run")

TARGETS = ("cpu", "gpu")
# CUDA / cuDNN that each TensorFlow minor's official wheels were built against.
TF_GPU_LIBS = {"1.15": ("10.0", "7.6")}

Instruction = namedtuple("Instruction", "line keyword flags args")
# image: the FROM image with the global ARG defaults substituted (what `docker build` without
# --build-arg uses); written: the FROM image as written (e.g. ${PYTHON_BASE}).
Stage = namedtuple("Stage", "index name image line instructions written")


# ---------------------------------------------------------------- parsing helpers


def logical_lines(path):
    """(first line number, text) of each logical line: backslash continuations joined, whole-line
    comments and blank lines dropped (also inside a continuation, as Docker does)."""
    result, parts, start = [], [], None
    with open(path) as handle:
        for number, raw in enumerate(handle, 1):
            stripped = raw.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if start is None:
                start = number
            text = raw.rstrip()
            if text.endswith("\\"):
                parts.append(text[:-1])
                continue
            parts.append(text)
            result.append((start, " ".join(p.strip() for p in parts)))
            parts, start = [], None
    if parts:
        result.append((start, " ".join(p.strip() for p in parts)))
    return result


def parse_dockerfile(path):
    """Instructions of a Dockerfile, with their leading --flags split off."""
    instructions = []
    for line, text in logical_lines(path):
        keyword, _, rest = text.partition(" ")
        flags = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags[name] = value
            rest = rest.strip()
        instructions.append(Instruction(line, keyword.upper(), flags, rest))
    return instructions


def global_arg_defaults(path):
    """Defaults of the ARGs declared before the first FROM: the only ones a FROM line can use."""
    defaults = {}
    for ins in parse_dockerfile(path):
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            key, _, value = ins.args.partition("=")
            if value:
                defaults[key.strip()] = value.strip().strip('"')
    return defaults


def parse_stages(path):
    """Build stages: FROM image [AS name] and the instructions under it."""
    stages, global_args = [], global_arg_defaults(path)
    for ins in parse_dockerfile(path):
        if ins.keyword == "FROM":
            words = ins.args.split()
            name = words[2].lower() if len(words) >= 3 and words[1].upper() == "AS" else None
            image = expand_args(words[0], global_args)
            stages.append(Stage(len(stages), name, image, ins.line, [], words[0]))
        elif stages:
            stages[-1].instructions.append(ins)
    return stages


def split_image(ref):
    """'name:tag@sha256:hex' -> (name, tag or None, digest or None); a registry port is no tag."""
    name, _, digest = ref.partition("@")
    tag = None
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        tag = last.split(":", 1)[1]
        name = name[: -len(tag) - 1]
    return name, tag, digest or None


def stage_by_name(stages, name):
    for stage in stages:
        if stage.name == name:
            return stage
    return None


def stage_chain(stages, name):
    """The stage and the stages it is built FROM, nearest first."""
    chain = []
    stage = stage_by_name(stages, name)
    while stage is not None:
        chain.append(stage)
        stage = stage_by_name(stages[: stage.index], stage.image.lower())
    return chain


def arg_defaults(stage):
    defaults = {}
    for ins in stage.instructions:
        if ins.keyword == "ARG" and "=" in ins.args:
            key, _, value = ins.args.partition("=")
            defaults[key.strip()] = value.strip().strip('"')
    return defaults


def expand_args(text, defaults):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), text)


def copy_sources(ins):
    """Source paths of a COPY/ADD (shell or JSON form); the last word is the destination."""
    args = ins.args
    if args.startswith("["):
        words = ast.literal_eval(args)
    else:
        words = args.split()
    return words[:-1]


def read_dockerignore(path):
    patterns = []
    with open(path) as handle:
        for raw in handle:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = os.path.normpath(line.lstrip("!").strip().strip("/"))
            patterns.append((negate, line))
    return patterns


def _pattern_regex(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def is_dockerignored(relpath, patterns):
    """Docker's rule: the last matching pattern wins; a pattern matching a directory also
    excludes everything under it."""
    relpath = os.path.normpath(relpath)
    parts = relpath.split(os.sep)
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for negate, pattern in patterns:
        regex = _pattern_regex(pattern)
        if any(regex.match(c) for c in candidates):
            excluded = not negate
    return excluded


def shell_segments(text):
    """A RUN line cut into simple commands (at ; && || | and newlines)."""
    return [s.strip() for s in re.split(r"&&|\|\||[;|\n]", text) if s.strip()]


def rel(path):
    return os.path.relpath(path, REPO) if path.startswith(REPO) else path


def where(path, line):
    return "%s:%s" % (rel(path), line)


# ---------------------------------------------------------------- checks (each returns problems)


def check_from_pins(dockerfile):
    problems = []
    stages = parse_stages(dockerfile)
    if not stages:
        return ["%s: no FROM instruction" % where(dockerfile, 1)]
    for stage in stages:
        if stage_by_name(stages[: stage.index], stage.image.lower()) or stage.image == "scratch":
            continue
        if "$" in stage.image:
            problems.append("%s: FROM %s uses a build arg with no default declared before the "
                            "first FROM; the pin cannot be checked" % (
                                where(dockerfile, stage.line), stage.written))
            continue
        _, tag, digest = split_image(stage.image)
        if not tag or not digest or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            shown = stage.written if stage.written == stage.image else "%s (default %s)" % (
                stage.written, stage.image)
            problems.append("%s: FROM %s must be pinned as name:tag@sha256:<64 hex>" % (
                where(dockerfile, stage.line), shown))
    return problems


FOREIGN_INSTALLS = [
    (r"(^|[\s/])pip[0-9.]*\s+(\S+\s+)*?install(\s|$)", "pip install"),
    (r"(^|[\s/])easy_install", "easy_install"),
    (r"(^|[\s/])(conda|mamba|micromamba)\s+(\S+\s+)*?(install|create|update)(\s|$)", "conda"),
    (r"(^|[\s/])(poetry|pipenv|pipx)\s+(\S+\s+)*?(install|add|sync)(\s|$)", "poetry/pipenv/pipx"),
    (r"(^|[\s/])uv\s+(\S+\s+)*?(sync|add)(\s|$)", "uv"),
    (r"setup\.py\s+(install|develop)", "setup.py install"),
    (r"get-pip\.py", "get-pip.py"),
]


def check_no_foreign_installs(dockerfile):
    """Python packages may only come from scripts/setup.sh (the lock, --no-deps, pip check)."""
    problems = []
    for ins in parse_dockerfile(dockerfile):
        for segment in shell_segments(ins.args):
            for regex, what in FOREIGN_INSTALLS:
                if re.search(regex, segment):
                    problems.append("%s: %s runs %s outside scripts/setup.sh --runtime: %r" % (
                        where(dockerfile, ins.line), ins.keyword, what, segment[:120]))
    return problems


SETUP_RUN = re.compile(r"(^|[\s/])(bash\s+)?(\./)?scripts/setup\.sh\s+--runtime(\s|$)")


def check_runs_setup_with_lock(dockerfile):
    """Some stage COPYs requirements-tf1.txt and then RUNs scripts/setup.sh --runtime, and every
    target is built on that stage."""
    problems = []
    stages = parse_stages(dockerfile)
    setup_stage = None
    for stage in stages:
        lock_copied_at = None
        for ins in stage.instructions:
            if ins.keyword in ("COPY", "ADD") and "from" not in ins.flags:
                sources = copy_sources(ins)
                if any(fnmatch.fnmatchcase("requirements-tf1.txt", os.path.normpath(s)) or
                       os.path.normpath(s) == "." for s in sources):
                    lock_copied_at = lock_copied_at or ins.line
            if ins.keyword == "RUN" and SETUP_RUN.search(ins.args):
                if lock_copied_at is None:
                    problems.append(
                        "%s: RUN scripts/setup.sh --runtime before requirements-tf1.txt "
                        "is copied into stage %s" % (where(dockerfile, ins.line), stage.name)
                    )
                else:
                    setup_stage = stage
    if setup_stage is None:
        problems.append(
            "%s: no stage copies requirements-tf1.txt and runs "
            "`bash scripts/setup.sh --runtime`" % where(dockerfile, 1)
        )
        return problems
    for target in TARGETS:
        chain = stage_chain(stages, target)
        if not chain:
            problems.append("%s: no stage named %r" % (where(dockerfile, 1), target))
        elif setup_stage not in chain:
            problems.append(
                "%s: target %s is not built on stage %s, which runs setup.sh"
                % (where(dockerfile, chain[0].line), target, setup_stage.name)
            )
    return problems


def check_copy_sources(dockerfile, dockerignore, context):
    """Every COPY source exists in the context and is not filtered out by .dockerignore."""
    problems = []
    patterns = read_dockerignore(dockerignore) if os.path.exists(dockerignore) else []
    for ins in parse_dockerfile(dockerfile):
        if ins.keyword not in ("COPY", "ADD") or "from" in ins.flags:
            continue
        for source in copy_sources(ins):
            if re.match(r"^[a-z]+://", source):
                problems.append(
                    "%s: %s %s fetches unpinned remote content"
                    % (where(dockerfile, ins.line), ins.keyword, source)
                )
                continue
            matches = glob.glob(os.path.join(context, source))
            if not matches:
                problems.append(
                    "%s: %s source %s matches nothing in the build context"
                    % (where(dockerfile, ins.line), ins.keyword, source)
                )
            for match in matches:
                relpath = os.path.relpath(match, context)
                if relpath != "." and is_dockerignored(relpath, patterns):
                    problems.append(
                        "%s: %s source %s is excluded by %s"
                        % (where(dockerfile, ins.line), ins.keyword, relpath, rel(dockerignore))
                    )
    return problems


def python_minor_of_target(dockerfile, target):
    """(major.minor, line) of the Python a target runs: a python3.X installed with apt-get in its
    chain, else the tag of an official python:X.Y image it is built on."""
    chain = stage_chain(parse_stages(dockerfile), target)
    for stage in chain:
        for ins in stage.instructions:
            if ins.keyword == "RUN":
                found = re.search(r"apt-get\s+install\b[^;&|]*?\spython(3\.\d+)(\s|$)", ins.args)
                if found:
                    return found.group(1), ins.line
    if chain:
        name, tag, _ = split_image(chain[-1].image)
        found = re.match(r"(\d+\.\d+)", tag or "")
        if name.split("/")[-1] == "python" and found:
            return found.group(1), chain[-1].line
        return None, chain[-1].line
    return None, 1


def python_requires(setup_py):
    for node in ast.walk(ast.parse(open(setup_py).read())):
        if isinstance(node, ast.keyword) and node.arg == "python_requires":
            return ast.literal_eval(node.value)
    return None


def check_python_versions(dockerfile, setup_py):
    problems = []
    spec = SpecifierSet(python_requires(setup_py))
    for target in TARGETS:
        minor, line = python_minor_of_target(dockerfile, target)
        if minor is None:
            problems.append(
                "%s: cannot tell which Python target %s runs (expected python:3.7 base "
                "or apt-get install python3.7)" % (where(dockerfile, line), target)
            )
        elif minor != "3.7" or not any(
            spec.contains("%s.%d" % (minor, patch)) for patch in range(100)
        ):  # some 3.7.x release
            problems.append(
                "%s: target %s runs Python %s; TF 1.15 and setup.py python_requires %r "
                "need 3.7" % (where(dockerfile, line), target, minor, str(spec))
            )
    # The interpreter handed to setup.sh must be that same Python.
    for ins in parse_dockerfile(dockerfile):
        if ins.keyword == "RUN" and SETUP_RUN.search(ins.args):
            found = re.search(r"BERT_TF1_PYTHON=(\S+)", ins.args)
            if not found or not found.group(1).endswith("python3.7"):
                problems.append(
                    "%s: setup.sh must get BERT_TF1_PYTHON=<path>/python3.7"
                    % (where(dockerfile, ins.line))
                )
    return problems


def check_gpu_libs_match_lock(dockerfile, lock):
    """The gpu target's CUDA/cuDNN are the ones the locked tensorflow was built against."""
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", open(lock).read(), re.M))
    tf_minor = ".".join(pins.get("tensorflow", "?").split(".")[:2])
    if tf_minor not in TF_GPU_LIBS:
        return [
            "%s: tensorflow==%s has no known CUDA/cuDNN pair in tests/test_docker.py"
            % (rel(lock), pins.get("tensorflow"))
        ]
    want_cuda, want_cudnn = TF_GPU_LIBS[tf_minor]
    stages = parse_stages(dockerfile)
    chain = stage_chain(stages, "gpu")
    if not chain:
        return ["%s: no gpu stage" % where(dockerfile, 1)]
    involved = list(chain)
    for stage in chain:  # stages whose files are COPY --from'd into the chain count too
        for ins in stage.instructions:
            source = stage_by_name(stages, ins.flags.get("from", "").lower())
            if ins.keyword == "COPY" and source and source not in involved:
                involved.append(source)
    problems, seen_cuda, seen_cudnn = [], False, False
    for stage in involved:
        defaults = arg_defaults(stage)
        for ins in stage.instructions:
            text = expand_args(ins.args, defaults)
            for major, minor in re.findall(r"\bcuda-[a-z]+-(\d+)-(\d+)=", text):
                seen_cuda = True
                if "%s.%s" % (major, minor) != want_cuda:
                    problems.append(
                        "%s: CUDA %s.%s package, tensorflow %s needs CUDA %s"
                        % (where(dockerfile, ins.line), major, minor, tf_minor, want_cuda)
                    )
            for version, cuda in re.findall(
                r"\blibcudnn\d+=(\d+\.\d+)\.\S*?\+cuda(\d+\.\d+)", text
            ):
                seen_cudnn = True
                if version != want_cudnn or cuda != want_cuda:
                    problems.append(
                        "%s: cuDNN %s for CUDA %s, tensorflow %s needs cuDNN %s for "
                        "CUDA %s"
                        % (
                            where(dockerfile, ins.line),
                            version,
                            cuda,
                            tf_minor,
                            want_cudnn,
                            want_cuda,
                        )
                    )
    if not seen_cuda or not seen_cudnn:
        problems.append(
            "%s: gpu target installs no pinned cuda-*-X-Y= / libcudnnN= packages"
            % (where(dockerfile, chain[0].line))
        )
    return problems


def check_setup_sh(setup_sh):
    """setup.sh installs only the lock, with --no-deps, and then runs pip check."""
    problems, installs, check_line = [], [], None
    lines = logical_lines(setup_sh)
    locks = [(n, t) for n, t in lines if re.match(r"lock_files=\(", t)]
    if not locks or "requirements-tf1.txt" not in locks[0][1]:
        problems.append(
            "%s: lock_files=( ... ) must hold requirements-tf1.txt, the runtime lock"
            % (where(setup_sh, locks[0][0] if locks else 1))
        )
    if not any(re.search(r"--runtime\)", text) for _, text in lines):
        problems.append("%s: no --runtime option" % where(setup_sh, 1))
    for line, text in lines:
        if re.search(r"pip\s+install\b", text):
            installs.append(line)
            if "--no-deps" not in text:
                problems.append("%s: pip install without --no-deps" % where(setup_sh, line))
        if re.search(r"pip\s+check\b", text):
            check_line = line
    if not any(re.search(r"pip\s+install\b.*(-r\b|requirement_args)", t) for _, t in lines):
        problems.append("%s: no `pip install -r <lock>`" % where(setup_sh, 1))
    if check_line is None or not installs or check_line < max(installs):
        problems.append(
            "%s: `pip check` must run after the last pip install"
            % (where(setup_sh, max(installs) if installs else 1))
        )
    return problems


def check_venv_paths_agree(dockerfile, entrypoint):
    """The venv setup.sh builds is the one on PATH and the one the entrypoint uses."""
    problems = []
    env = " ".join(i.args for i in parse_dockerfile(dockerfile) if i.keyword == "ENV")
    runs = [
        i for i in parse_dockerfile(dockerfile) if i.keyword == "RUN" and SETUP_RUN.search(i.args)
    ]
    default = re.search(r'venv="\$\{BERT_TF1_VENV:-([^}]+)\}"', open(entrypoint).read())
    for ins in runs:
        venv = re.search(r"BERT_TF1_VENV=(\S+)", ins.args)
        venv = venv.group(1) if venv else None
        if not venv:
            problems.append("%s: setup.sh RUN must set BERT_TF1_VENV" % where(dockerfile, ins.line))
            continue
        if "PATH=%s/bin:" % venv not in env:
            problems.append(
                "%s: ENV PATH does not start with %s/bin" % (where(dockerfile, ins.line), venv)
            )
        if not default or default.group(1) != venv:
            problems.append(
                "%s: entrypoint's default BERT_TF1_VENV is not %s" % (rel(entrypoint), venv)
            )
    return problems


def markdown_commands(path, section=None):
    """Command lines of a Markdown file's bash code blocks (continuations joined, comments
    dropped), of the whole file or of one `## section`."""
    text = open(path).read()
    if section is not None:
        found = re.search(r"^## %s\n(.*?)(?=^## |\Z)" % re.escape(section), text, re.S | re.M)
        text = found.group(1) if found else ""
    lines = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", text, re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if line.strip() and not line.strip().startswith("#"):
                lines.append(line.strip())
    return lines


# What the image's entrypoint is given in a test: --help, a NAME.py script or a console script
# (not the plumbing the script also runs in the image, such as `id -un`).
KIT_COMMAND = re.compile(r"--help$|[\w-]+\.py$|bert-tf1-")


def _unique(commands):
    result = []
    for command in commands:
        if command not in result:
            result.append(command)
    return result


def image_commands_in_docs(path, image="bert_tf1:cpu"):
    """ARGS of each `docker run ... IMAGE ARGS` in the `## Tested here` section."""
    commands = []
    for line in markdown_commands(path, "Tested here"):
        words = shlex.split(line, comments=True)
        if words[:2] == ["docker", "run"] and image in words:
            commands.append(words[words.index(image) + 1 :])
    return _unique(commands)


def image_commands_in_script(path):
    """ARGS of test-docker.sh's `in_image LIMIT ARGS` / `in_image_as USER DIR LIMIT ARGS` calls
    that run the kit."""
    commands = []
    for _, text in logical_lines(path):
        words = text.split(None, 1)
        skip = {"in_image": 1, "in_image_as": 3}.get(words[0])
        if skip is None:
            continue
        args = []
        for word in shlex.split(text, comments=True)[1 + skip :]:
            if re.match(r"[0-9]*[<>|&;]", word):  # a redirection or the next command
                break
            args.append(word)
        if args and KIT_COMMAND.match(args[0]):
            commands.append(args)
    return _unique(commands)


def check_docs_show_the_tested_commands(docs, script):
    """docs/docker.md's `## Tested here` commands are exactly those scripts/test-docker.sh runs."""
    documented, tested = image_commands_in_docs(docs), image_commands_in_script(script)
    if not tested:
        return ["%s: no in_image call runs the kit" % rel(script)]
    problems = []
    for command in tested:
        if command not in documented:
            problems.append(
                "%s: `## Tested here` lacks `docker run ... bert_tf1:cpu %s`, which %s "
                "runs" % (rel(docs), " ".join(command), rel(script))
            )
    for command in documented:
        if command not in tested:
            problems.append(
                "%s: `## Tested here` shows `%s`, which %s does not run"
                % (rel(docs), " ".join(command), rel(script))
            )
    if not problems and documented != tested:
        problems.append(
            "%s: `## Tested here` lists the commands in another order than %s"
            % (rel(docs), rel(script))
        )
    return problems


def check_classifier_commands_do_something(path):
    """Each run_classifier_hub.py command in the file's code blocks passes a --do_* flag (without
    one it exits 2: 'at least one of --do_train, --do_eval or --do_predict must be true')."""
    problems = []
    for line in markdown_commands(path):
        if "run_classifier_hub.py" in line and not re.search(r"--help", line):
            if not re.search(r"--do_(train|eval|predict)\b", line):
                problems.append(
                    "%s: run_classifier_hub.py without --do_train/--do_eval/"
                    "--do_predict exits 2: %s"
                    % (rel(path), line[line.index("run_classifier_hub.py") :][:160])
                )
    return problems


def check_ci_runs_the_image_test(ci_run):
    """.ci/run: README's set-up command, the image test, then README's test command last (so
    pytest's closing line is the last line CI prints)."""
    commands = [text for _, text in logical_lines(ci_run) if re.match(r"bash\s+\S*scripts/", text)]
    wanted = ["bash scripts/setup.sh", "bash scripts/test-docker.sh", "bash scripts/test.sh"]
    if commands != wanted:
        return ["%s: runs %s; expected %s in this order" % (rel(ci_run), commands, wanted)]
    return []


# ---------------------------------------------------------------- the real files pass


def _assert_clean(problems):
    assert not problems, "\n".join(problems)


def test_every_from_is_pinned_by_tag_and_digest():
    _assert_clean(check_from_pins(DOCKERFILE))


def test_no_python_install_except_setup_sh():
    _assert_clean(check_no_foreign_installs(DOCKERFILE))


def test_dockerfile_copies_the_lock_and_runs_setup_sh_runtime():
    _assert_clean(check_runs_setup_with_lock(DOCKERFILE))


def test_copied_paths_exist_and_are_not_dockerignored():
    _assert_clean(check_copy_sources(DOCKERFILE, DOCKERIGNORE, REPO))


def test_dockerignore_keeps_host_venv_and_git_out():
    patterns = read_dockerignore(DOCKERIGNORE)
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "bert_tf1/__pycache__/x.pyc",
        "runs/a/model.ckpt",
    ):
        assert is_dockerignored(path, patterns), "%s: %s is not excluded" % (DOCKERIGNORE, path)


def test_targets_run_python_37_as_setup_py_requires():
    _assert_clean(check_python_versions(DOCKERFILE, SETUP_PY))


def test_gpu_cuda_and_cudnn_match_the_locked_tensorflow():
    _assert_clean(check_gpu_libs_match_lock(DOCKERFILE, LOCK))


def test_setup_sh_installs_the_lock_with_no_deps_then_pip_check():
    _assert_clean(check_setup_sh(SETUP_SH))


def test_venv_path_agrees_between_dockerfile_and_entrypoint():
    _assert_clean(check_venv_paths_agree(DOCKERFILE, ENTRYPOINT))


def test_cpu_is_the_default_target_and_gpu_exists():
    stages = parse_stages(DOCKERFILE)
    assert stages[-1].name == "cpu", "%s: the last stage (the default target) must be `AS cpu`" % (
        where(DOCKERFILE, stages[-1].line)
    )
    assert stage_by_name(stages, "gpu"), "%s: no `AS gpu` stage" % where(DOCKERFILE, 1)


def test_entrypoint_is_executable_and_used_by_the_image():
    assert os.path.isfile(ENTRYPOINT), "%s is missing" % ENTRYPOINT
    assert os.access(ENTRYPOINT, os.X_OK), "%s is not executable (chmod +x)" % ENTRYPOINT
    entry = [i for i in parse_dockerfile(DOCKERFILE) if i.keyword == "ENTRYPOINT"]
    assert entry and "scripts/docker-entrypoint.sh" in entry[-1].args, (
        "%s: ENTRYPOINT must run scripts/docker-entrypoint.sh"
        % where(DOCKERFILE, entry[-1].line if entry else 1)
    )


def test_ci_runs_setup_then_the_image_test_then_the_suite_last():
    _assert_clean(check_ci_runs_the_image_test(CI_RUN))
    text = open(CI_RUN).read()
    assert re.search(r"apt-get install\b.*\bbuildah\b.*\bdebootstrap\b", text), (
        "%s must install buildah and debootstrap when they are missing" % rel(CI_RUN)
    )


def test_docs_show_the_commands_test_docker_runs():
    _assert_clean(check_docs_show_the_tested_commands(DOCKER_MD, TEST_DOCKER_SH))
    firsts = [command[:2] for command in image_commands_in_script(TEST_DOCKER_SH)]
    # Train/eval/predict, then the user's next steps: export the run and predict with it.
    assert firsts[-3:] == [["run_classifier_hub.py", "--task=csv"],
                           ["bert-tf1-export", "--model_dir"], ["bert-tf1-predict", "--model"]]


def test_docs_classifier_commands_pass_a_do_flag():
    _assert_clean(check_classifier_commands_do_something(DOCKER_MD))


def test_test_docker_builds_the_cpu_target_through_a_global_build_arg():
    text = " ".join(t for _, t in logical_lines(TEST_DOCKER_SH))
    build = re.search(r"buildah bud (.*?)(\|\||$)", text)
    assert build, "%s: no buildah bud" % rel(TEST_DOCKER_SH)
    args = re.findall(r"--build-arg (\w+)=", build.group(1))
    assert args == ["PYTHON_BASE"] and set(args) <= set(global_arg_defaults(DOCKERFILE)), args
    assert "--target cpu" in build.group(1) and "--isolation chroot" in build.group(1), build.group(
        1
    )


def test_test_docker_is_executable_bash():
    assert os.access(TEST_DOCKER_SH, os.X_OK), "%s is not executable" % rel(TEST_DOCKER_SH)
    result = subprocess.run(
        ["bash", "-n", TEST_DOCKER_SH], stderr=subprocess.PIPE, universal_newlines=True
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------- the checks catch faults


def test_logical_lines_join_continuations_and_keep_first_line(tmp_path):
    path = tmp_path / "Dockerfile"
    path.write_text(
        "FROM a:1@sha256:%s\n# c\nRUN one \\\n  # inner comment\n  two \\\n  three\n" % ("0" * 64)
    )
    assert logical_lines(str(path)) == [
        (1, "FROM a:1@sha256:" + "0" * 64),
        (3, "RUN one two three"),
    ]


def _mutated(tmp_path, old, new, source=DOCKERFILE, name="Dockerfile"):
    text = open(source).read()
    assert old in text, "the real %s no longer contains %r: update this negative test" % (
        source,
        old,
    )
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return str(path)


def _line_of(path, needle):
    for number, raw in enumerate(open(path), 1):
        if needle in raw:
            return number
    raise AssertionError("%r not in %s" % (needle, path))


def test_unpinned_from_is_caught(tmp_path):
    bad = _mutated(
        tmp_path, "@sha256:c1d0baf2425ecef88a2f0c3543ec43690dc16cc80d3c4e593bb95e4f45390e45", ""
    )
    problems = check_from_pins(bad)
    assert len(problems) == 1 and ":%d:" % _line_of(bad, "FROM ubuntu:") in problems[0], problems


def test_the_python_base_is_a_build_arg_whose_default_is_pinned():
    assert global_arg_defaults(DOCKERFILE)["PYTHON_BASE"].startswith(
        "python:3.7.16-slim-bullseye@sha256:"
    )
    runtime = stage_by_name(parse_stages(DOCKERFILE), "runtime")
    assert (runtime.written, runtime.image) == (
        "${PYTHON_BASE}",
        global_arg_defaults(DOCKERFILE)["PYTHON_BASE"],
    )


def test_unpinned_build_arg_default_is_caught_at_the_from_line(tmp_path):
    bad = _mutated(
        tmp_path, "@sha256:046fcd03dd0ed3ed7a3f328dc2da35e3a3447a36561966b312ab4d5753fb5dd1", ""
    )
    problems = check_from_pins(bad)
    assert len(problems) == 1 and ":%d:" % _line_of(bad, "FROM ${PYTHON_BASE}") in problems[0], (
        problems
    )
    assert "(default python:3.7.16-slim-bullseye)" in problems[0], problems


@pytest.mark.parametrize(
    "arg_line",
    [
        "ARG PYTHON_BASE\n",  # no default: only --build-arg would name the image
        "",  # declared inside a stage (below): a FROM cannot see it
    ],
)
def test_from_build_arg_without_a_global_default_is_caught(tmp_path, arg_line):
    df = tmp_path / "Dockerfile"
    df.write_text(
        "%sFROM ${PYTHON_BASE} AS runtime\nARG PYTHON_BASE=python:3.7.16@sha256:%s\n"
        "FROM runtime AS cpu\n" % (arg_line, "4" * 64)
    )
    problems = check_from_pins(str(df))
    assert len(problems) == 1 and "no default declared before the first FROM" in problems[0], (
        problems
    )


def test_tag_without_digest_or_short_digest_is_caught(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python@sha256:%s AS a\nFROM ubuntu:18.04@sha256:abc AS b\nFROM a AS c\n" % ("1" * 64)
    )
    problems = check_from_pins(str(bad))
    assert [p.split(": ")[0].rsplit(":", 1)[1] for p in problems] == ["1", "2"], problems


def test_pip_install_hidden_in_a_continuation_is_caught(tmp_path):
    bad = _mutated(
        tmp_path,
        "COPY *.py ./\n",
        "COPY *.py ./\nRUN apt-get update && \\\n    python -m pip \\\n      install numpy\n",
    )
    problems = check_no_foreign_installs(bad)
    run_line = _line_of(bad, "RUN apt-get update && \\")
    assert problems and all(":%d:" % run_line in p for p in problems), problems


@pytest.mark.parametrize(
    "command",
    [
        "pip3 install -r requirements-tf1.txt",
        "/opt/venv/bin/pip --no-cache-dir install x",
        "conda install -y numpy",
        "poetry install",
        "easy_install x",
        "python setup.py develop",
    ],
)
def test_each_foreign_installer_is_caught(tmp_path, command):
    bad = _mutated(tmp_path, "COPY *.py ./\n", "COPY *.py ./\nRUN true; %s\n" % command)
    assert check_no_foreign_installs(bad), command


def test_apt_packages_named_pip_are_not_mistaken_for_pip_install(tmp_path):
    ok = _mutated(
        tmp_path,
        "COPY *.py ./\n",
        "COPY *.py ./\nRUN apt-get install -y python3-pip --no-install-recommends\n",
    )
    assert check_no_foreign_installs(ok) == []


def test_missing_setup_sh_run_is_caught(tmp_path):
    bad = _mutated(tmp_path, "bash scripts/setup.sh --runtime", "bash scripts/other.sh")
    assert any("setup.sh --runtime" in p for p in check_runs_setup_with_lock(bad))


def test_setup_sh_before_the_lock_is_copied_is_caught(tmp_path):
    bad = _mutated(tmp_path, "COPY requirements-tf1.txt setup.py README.md ./\n", "")
    problems = check_runs_setup_with_lock(bad)
    assert any("before requirements-tf1.txt" in p for p in problems), problems


def test_python_38_base_is_caught(tmp_path):
    bad = _mutated(tmp_path, "=python:3.7.16-slim-bullseye@", "=python:3.8.16-slim-bullseye@")
    problems = check_python_versions(bad, SETUP_PY)
    assert len([p for p in problems if "runs Python 3.8" in p]) == 2, problems


def test_gpu_python_from_apt_is_recognised(tmp_path):
    df = tmp_path / "Dockerfile"
    df.write_text(
        "FROM nvidia/cuda:10.0-cudnn7-runtime-ubuntu18.04@sha256:%s AS gpu\n"
        "RUN apt-get update && apt-get install -y python3.6 python3.6-venv\n"
        "FROM python:3.7.16-slim@sha256:%s AS cpu\n" % ("2" * 64, "3" * 64)
    )
    assert python_minor_of_target(str(df), "gpu") == ("3.6", 2)
    assert any("target gpu runs Python 3.6" in p for p in check_python_versions(str(df), SETUP_PY))


def test_cuda_drift_from_the_lock_is_caught(tmp_path):
    bad = _mutated(
        tmp_path,
        "ARG CUDNN_PKG_VERSION=7.6.5.32-1+cuda10.0",
        "ARG CUDNN_PKG_VERSION=8.0.5.39-1+cuda11.0",
    )
    problems = check_gpu_libs_match_lock(bad, LOCK)
    run_line = _line_of(bad, "RUN set -eux; \\")  # the cuda10 stage's RUN, where libcudnn7 is
    assert len(problems) == 1 and ":%d: cuDNN 8.0 for CUDA 11.0" % run_line in problems[0], problems


def test_dockerignored_copy_source_is_caught(tmp_path):
    ignore = _mutated(
        tmp_path, "tests\n", "tests\nrequirements-*.txt\n", DOCKERIGNORE, ".dockerignore"
    )
    problems = check_copy_sources(DOCKERFILE, ignore, REPO)
    line = _line_of(DOCKERFILE, "COPY requirements-tf1.txt")
    assert problems == [
        "Dockerfile:%d: COPY source requirements-tf1.txt is excluded by %s" % (line, ignore)
    ]


def test_dockerignore_negation_and_directories():
    patterns = [(False, "docs"), (False, "**/*.md"), (True, "README.md")]
    assert is_dockerignored("docs/a/b.txt", patterns)
    assert is_dockerignored("bert_tf1/notes.md", patterns)
    assert not is_dockerignored("README.md", patterns)


def test_setup_sh_without_no_deps_or_pip_check_is_caught(tmp_path):
    bad = _mutated(
        tmp_path,
        '--no-deps "${requirement_args[@]}"',
        '"${requirement_args[@]}"',
        SETUP_SH,
        "setup.sh",
    )
    bad = _mutated(tmp_path, '"$venv/bin/python" -m pip check\n', "", bad, "setup2.sh")
    problems = check_setup_sh(bad)
    line = _line_of(bad, '"${requirement_args[@]}"\n')
    assert "setup2.sh:%d: pip install without --no-deps" % line in "\n".join(problems), problems
    assert any("pip check" in p for p in problems), problems


# ---------------------------------------------------------------- the entrypoint, without Docker


def _entrypoint(args, venv, app_dir, cwd=None, path_prefix=None):
    env = dict(os.environ, BERT_TF1_VENV=str(venv), BERT_TF1_APP_DIR=str(app_dir))
    if path_prefix:
        env["PATH"] = "%s:%s" % (path_prefix, env["PATH"])
    # timeout: a hang guard; each entrypoint test took 0.35 s at most on a loaded 2-core machine.
    return subprocess.run(
        ["bash", ENTRYPOINT] + list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=env,
        cwd=str(cwd or app_dir),
        timeout=60,
    )


def _executable(path, text):
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def fake_venv(tmp_path):
    """A venv stand-in: bin/python runs this interpreter after saying so on stderr (so tests see
    which python ran), bin/bert-tf1-fake is a console script."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    _executable(
        bin_dir / "python", '#!/bin/sh\necho venv-python >&2\nexec "%s" "$@"\n' % sys.executable
    )
    _executable(bin_dir / "bert-tf1-fake", '#!/bin/sh\necho "fake-tool:$*"\n')
    return tmp_path / "venv"


@pytest.fixture
def decoys(tmp_path):
    """Same-named commands earlier on the caller's PATH: the venv's must still win."""
    decoy_dir = tmp_path / "decoys"
    decoy_dir.mkdir()
    for name in ("python", "python3", "bert-tf1-fake"):
        _executable(decoy_dir / name, "#!/bin/sh\necho decoy-%s\n" % name)
    return decoy_dir


@pytest.mark.skipif(
    not os.path.exists(os.path.join(REPO_VENV, "bin", "python")),
    reason="the repository's .venv is not built (bash scripts/setup.sh)",
)
def test_entrypoint_runs_python_of_the_repo_venv(decoys):
    result = _entrypoint(
        ["python", "-c", "import sys; print(1); print(sys.prefix)"],
        REPO_VENV,
        REPO,
        path_prefix=decoys,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[0] == "1" and os.path.realpath(lines[1]) == os.path.realpath(REPO_VENV), (
        result.stdout
    )


def test_entrypoint_runs_py_scripts_from_the_app_dir_with_the_venv_python(
    tmp_path, fake_venv, decoys
):
    app = tmp_path / "app"
    app.mkdir()
    (app / "hello.py").write_text("import sys\nprint('hello', sys.argv)\n")
    result = _entrypoint(
        ["hello.py", "--task=imdb", "x y"], fake_venv, app, cwd=tmp_path, path_prefix=decoys
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "venv-python\n", result.stderr
    assert result.stdout.strip() == "hello %r" % [str(app / "hello.py"), "--task=imdb", "x y"]


def test_entrypoint_runs_console_scripts_from_the_venv(tmp_path, fake_venv, decoys):
    result = _entrypoint(["bert-tf1-fake", "--a", "b"], fake_venv, tmp_path, path_prefix=decoys)
    assert (result.returncode, result.stdout) == (0, "fake-tool:--a b\n"), result.stderr


def test_entrypoint_serve_runs_the_venvs_server_on_every_interface(tmp_path, fake_venv):
    _executable(fake_venv / "bin" / "bert-tf1-serve", '#!/bin/sh\necho "serve:$*"\n')
    result = _entrypoint(["serve", "--model", "/models/export"], fake_venv, tmp_path)
    assert (result.returncode, result.stdout) == (
        0, "serve:--host 0.0.0.0 --model /models/export\n"), result.stderr


def test_entrypoint_runs_other_commands_with_the_venv_active(tmp_path, fake_venv):
    result = _entrypoint(
        ["bash", "-c", 'echo "$VIRTUAL_ENV"; echo "${PATH%%:*}"'], fake_venv, tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(fake_venv), str(fake_venv / "bin")]


def test_entrypoint_unknown_script_fails_with_usage(tmp_path, fake_venv):
    result = _entrypoint(["run_missing.py"], fake_venv, tmp_path)
    assert result.returncode == 2, result.returncode
    assert "no script %s" % (tmp_path / "run_missing.py") in result.stderr, result.stderr


def test_entrypoint_without_venv_fails_clearly(tmp_path):
    result = _entrypoint(["python", "-c", "print(1)"], tmp_path / "no-venv", tmp_path)
    assert result.returncode == 2 and "no Python venv at" in result.stderr, result.stderr


def test_entrypoint_help_lists_scripts(tmp_path, fake_venv):
    (tmp_path / "run_classifier_hub.py").write_text("")
    result = _entrypoint(["--help"], fake_venv, tmp_path)
    assert result.returncode == 0 and "run_classifier_hub.py" in result.stdout, result.stdout
    assert "bert-tf1-fake" in result.stdout, result.stdout


# ---------------------------------------------------------------- .ci/run, the image test, the docs


def test_ci_without_the_image_test_or_with_the_suite_first_is_caught(tmp_path):
    bad = _mutated(tmp_path, "bash scripts/test-docker.sh\n", "", CI_RUN, "run")
    assert check_ci_runs_the_image_test(bad), bad
    swapped = _mutated(
        tmp_path,
        "bash scripts/test-docker.sh\nbash scripts/test.sh\n",
        "bash scripts/test.sh\nbash scripts/test-docker.sh\n",
        CI_RUN,
        "run2",
    )
    assert check_ci_runs_the_image_test(swapped), swapped


def test_docs_drifting_from_the_script_is_caught(tmp_path):
    docs = _mutated(
        tmp_path,
        "--num_train_epochs=3 --seed=1",
        "--num_train_epochs=3 --seed=2",
        DOCKER_MD,
        "docker.md",
    )
    problems = check_docs_show_the_tested_commands(docs, TEST_DOCKER_SH)
    assert len(problems) == 2, problems
    assert "lacks" in problems[0] and "--seed=1" in problems[0], problems
    assert "does not run" in problems[1] and "--seed=2" in problems[1], problems
    script = _mutated(
        tmp_path,
        "--bert_dir /output/tiny --output /output/tiny_hub",
        "--bert_dir /output/tiny --output /output/hub",
        TEST_DOCKER_SH,
        "t.sh",
    )
    assert len(check_docs_show_the_tested_commands(DOCKER_MD, script)) == 2


def test_classifier_command_without_a_do_flag_is_caught(tmp_path):
    docs = _mutated(
        tmp_path,
        "--do_train --do_eval --do_predict --eval_split=test --max_seq_length",
        "--max_seq_length",
        DOCKER_MD,
        "docker.md",
    )
    problems = check_classifier_commands_do_something(docs)
    assert len(problems) == 1 and "--task=imdb" in problems[0], problems
