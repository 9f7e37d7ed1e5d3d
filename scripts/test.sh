#!/usr/bin/env bash
# Test command: the linter (ruff, configured in ruff.toml), then the whole suite in .venv.
# Extra arguments go to pytest (e.g. -k smoke); BERT_TF1_SKIP_LINT=1 skips the linter.
# The suite runs on BERT_TF1_TEST_WORKERS pytest-xdist worker processes (default 2; 0 runs it in
# this process). Tests sharing an expensive fixture stay on one worker (tests/conftest.py).
set -uo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
venv="${BERT_TF1_VENV:-$repo_root/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "test.sh: $venv is missing; run the set-up command first: bash scripts/setup.sh" >&2
  exit 2
fi
if [ "${BERT_TF1_SKIP_LINT:-0}" != 1 ]; then
  if ! "$venv/bin/ruff" check .; then
    echo "test.sh: the linter found problems (ruff check . --fix mends some)" >&2
    exit 1
  fi
fi
workers="${BERT_TF1_TEST_WORKERS:-2}"
parallel=()
if [ "$workers" != 0 ]; then parallel=(-n "$workers" --dist loadgroup); fi
"$venv/bin/python" -m pytest ${parallel[@]+"${parallel[@]}"} "$@"
status=$?
if [ "$status" = 5 ]; then
  # pytest's "no tests ran": a wrong selection or a broken collection, never a pass.
  echo "test.sh: pytest collected no tests (exit 5); treating that as a failure" >&2
  exit 1
fi
exit "$status"
