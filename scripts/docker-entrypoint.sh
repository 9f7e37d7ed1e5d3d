#!/usr/bin/env bash
# Entrypoint of the bert_tf1 Docker images: the first argument picks what runs.
#   NAME.py ARGS...      $BERT_TF1_VENV/bin/python $BERT_TF1_APP_DIR/NAME.py ARGS...
#                        (a path containing / is used as given)
#   TOOL ARGS...         $BERT_TF1_VENV/bin/TOOL when the venv has it: python, pip,
#                        bert-tf1-make-tiny, ...; any other command (bash, ls, ...) as given
#   serve ARGS...        bert-tf1-serve --host 0.0.0.0 ARGS... (REST on port 8501; -p 8501:8501)
#   --help / nothing     this text and the scripts available
# BERT_TF1_APP_DIR (default /app) and BERT_TF1_VENV (default /opt/venv) are overridable so that
# tests/test_docker.py can exercise this dispatch against the repository and its .venv, no Docker.
set -euo pipefail

app_dir="${BERT_TF1_APP_DIR:-/app}"
venv="${BERT_TF1_VENV:-/opt/venv}"

usage() {
  sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  local scripts
  scripts="$(cd "$app_dir" 2>/dev/null && ls -- *.py 2>/dev/null | grep -vx 'setup.py' | tr '\n' ' ' || true)"
  echo "Scripts in $app_dir: ${scripts:-none}"
  echo "Console scripts: $(cd "$venv/bin" 2>/dev/null && ls -- bert-tf1-* 2>/dev/null | tr '\n' ' ' || true)"
}

if [ $# -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  usage
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "docker-entrypoint: no Python venv at $venv (set BERT_TF1_VENV)" >&2
  exit 2
fi
# As `source bin/activate` would: shells and subprocesses see the venv too.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"

cmd="$1"
shift
case "$cmd" in
  serve)
    # Inside a container the server must listen on every interface to be reachable through a
    # published port; a --host given after `serve` still wins (argparse keeps the last value).
    exec "$venv/bin/bert-tf1-serve" --host 0.0.0.0 "$@"
    ;;
  *.py)
    script="$cmd"
    case "$cmd" in */*) ;; *) script="$app_dir/$cmd" ;; esac
    if [ ! -f "$script" ]; then
      echo "docker-entrypoint: no script $script" >&2
      usage >&2
      exit 2
    fi
    exec "$venv/bin/python" "$script" "$@"
    ;;
esac
# The venv is first on PATH, so python, pip and console scripts resolve to it; bash, ls, ... don't.
exec "$cmd" "$@"
