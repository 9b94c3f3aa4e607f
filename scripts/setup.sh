#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install pathmodels with its test extra.
# Idempotent: a second run only reinstalls when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(bash scripts/find_python.sh)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'; then
  rm -rf .venv
  "$PY" -m venv .venv
fi
stamp=.venv/.pathmodels-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip >&2
  .venv/bin/python -m pip install --quiet -e ".[test,bayes,dask]" >&2
  touch "$stamp"
fi
echo "pathmodels installed in .venv ($(.venv/bin/python --version))" >&2
