#!/usr/bin/env bash
# Set-up command: creates .venv with CPython 3.7 and installs the exact lock plus bert_tf1 (editable).
#
#   bash scripts/setup.sh            runtime lock + test tools (what CI and developers use)
#   bash scripts/setup.sh --runtime  runtime lock only (what the Docker images use)
#   bash scripts/setup.sh --which-python   print the interpreter it would use, change nothing
#
# Idempotent: when .venv already holds exactly these lock files and setup.py, it returns at once.
# Environment: BERT_TF1_PYTHON=/path/to/python3.7 picks the interpreter; BERT_TF1_VENV picks the
# venv directory (default .venv in the repository).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
venv="${BERT_TF1_VENV:-$repo_root/.venv}"

with_dev=1
which_only=0
case "${1:-}" in
  --runtime) with_dev=0 ;;
  --which-python) which_only=1 ;;
  "") ;;
  *) echo "setup.sh: unknown argument '$1' (expected nothing, --runtime or --which-python)" >&2
     exit 2 ;;
esac

lock_files=(requirements-tf1.txt)
if [ "$with_dev" = 1 ]; then lock_files+=(requirements-dev.txt); fi

# TF 1.15.5 has wheels for CPython 3.6 and 3.7, but the lock is 3.7's: pandas 1.3.5 needs 3.7.1+,
# and scikit-learn 1.0.2, scipy 1.7.3 and matplotlib 3.5.3 have no 3.6 wheels.
is_supported_python() {
  "$1" -c 'import platform, sys
sys.exit(0 if platform.python_implementation() == "CPython"
         and (3, 7, 1) <= sys.version_info[:3] < (3, 8) else 1)' 2>/dev/null
}

find_python() {
  local candidate
  if [ -n "${BERT_TF1_PYTHON:-}" ]; then
    if is_supported_python "$BERT_TF1_PYTHON"; then echo "$BERT_TF1_PYTHON"; return 0; fi
    echo "setup.sh: BERT_TF1_PYTHON=$BERT_TF1_PYTHON is not a CPython 3.7 (3.7.1 or later)" >&2
    return 1
  fi
  if command -v python3.7 >/dev/null 2>&1 && is_supported_python "$(command -v python3.7)"; then
    command -v python3.7; return 0
  fi
  local pyenv_root="${PYENV_ROOT:-}"
  if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then pyenv_root="$(pyenv root)"; fi
  [ -n "$pyenv_root" ] || pyenv_root="$HOME/.pyenv"
  for candidate in $(ls -d "$pyenv_root"/versions/3.7.* 2>/dev/null | sort -Vr); do
    if [ -x "$candidate/bin/python" ] && is_supported_python "$candidate/bin/python"; then
      echo "$candidate/bin/python"; return 0
    fi
  done
  return 1
}

if [ "$which_only" = 1 ]; then
  if python_bin="$(find_python)"; then echo "$python_bin"; exit 0; fi
  echo "setup.sh: no CPython 3.7 found" >&2; exit 1
fi

# The stamp records what .venv was built from; a change to any of these files rebuilds it.
stamp_of_inputs() {
  cat "${lock_files[@]}" setup.py | sha256sum | cut -d' ' -f1
}
stamp_file="$venv/.bert_tf1-setup-stamp"
wanted_stamp="$(stamp_of_inputs)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$wanted_stamp" ]; then
  echo "setup.sh: $venv is up to date ($(${venv}/bin/python --version 2>&1), lock unchanged)"
  exit 0
fi

if ! python_bin="$(find_python)"; then
  cat >&2 <<'MSG'
setup.sh: no CPython 3.7 found. TensorFlow 1.15 has no wheels for newer Pythons, and the lock
  (requirements-tf1.txt) is Python 3.7's.
  Get one of:
    pyenv install 3.7.16            (then re-run this script; pyenv's versions are found automatically)
    apt-get install python3.7       (Ubuntu 18.04/20.04 with the deadsnakes PPA)
    BERT_TF1_PYTHON=/path/to/python3.7 bash scripts/setup.sh
  or use the Docker image, which has everything installed:  docker build -t bert_tf1 .
MSG
  exit 1
fi
echo "setup.sh: using $python_bin ($("$python_bin" --version 2>&1))"

if [ -x "$venv/bin/python" ] && ! is_supported_python "$venv/bin/python"; then
  echo "setup.sh: $venv holds a different Python; recreating it"
  rm -rf "$venv"
fi
[ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
rm -f "$stamp_file"

pip_args=(--disable-pip-version-check --no-input --quiet)
# --no-deps: only what the lock names is installed; `pip check` then proves the closure is complete.
requirement_args=()
for f in "${lock_files[@]}"; do requirement_args+=(-r "$f"); done
"$venv/bin/python" -m pip install "${pip_args[@]}" --no-deps "${requirement_args[@]}"
"$venv/bin/python" -m pip install "${pip_args[@]}" --no-deps --no-build-isolation -e .
"$venv/bin/python" -m pip check

echo "$wanted_stamp" > "$stamp_file"
echo "setup.sh: ready. Activate with: source $venv/bin/activate"
