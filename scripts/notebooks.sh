#!/usr/bin/env bash
# The main job (README): set-up when missing, then execute every notebook headless and export HTML.
#   bash scripts/notebooks.sh [--profile smoke|full] [more runner options]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
shopt -s nullglob
notebooks=(notebooks/*.ipynb)
if [ ${#notebooks[@]} -eq 0 ]; then
  echo "[notebooks] notebooks/ holds no notebooks yet; the set-up and the backend check above are what exists."
  exit 0
fi
exec node_modules/.bin/tsx scripts/run-notebooks.ts "$@"
