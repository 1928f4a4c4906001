#!/usr/bin/env bash
# The test command (README, .ci/run): set-up when missing, type-check, lint, then every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --browser
echo "[test] type-checking (tsc --noEmit, strict)"
node_modules/.bin/tsc -p tsconfig.json
echo "[test] linting (eslint: import cycles, unexplained any, 120 columns) and formatting (prettier --check)"
node_modules/.bin/eslint .
node_modules/.bin/prettier --check --log-level warn .
echo "[test] running the tests"
shopt -s nullglob globstar
files=(test/**/*.test.ts)
# One runner, one file at a time, within 40 minutes in all and 20 per file (a full run takes about 7,
# 12 on a busy machine); a crashed (killed by a signal) or timed-out file fails the run, and is named
# after it. The TAP report is kept in build/test-results.tap.
exec node --import tsx scripts/run-tests.ts --timeout-minutes 40 --file-timeout-minutes 20 \
  --report build/test-results.tap -- "${files[@]}"
