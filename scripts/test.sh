#!/usr/bin/env bash
# Test command: the linter (ruff, configured in ruff.toml), then the whole suite in .venv.
# Extra arguments go to pytest (e.g. -k smoke); BERT_TF1_SKIP_LINT=1 skips the linter.
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
"$venv/bin/python" -m pytest "$@"
status=$?
if [ "$status" = 5 ]; then
  # pytest's "no tests ran": a wrong selection or a broken collection, never a pass.
  echo "test.sh: pytest collected no tests (exit 5); treating that as a failure" >&2
  exit 1
fi
exit "$status"
