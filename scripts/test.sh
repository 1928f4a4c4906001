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
# One runner invocation so its closing summary counts every test. Files run one at a time:
# the machine has two cores and each file trains on native TensorFlow.
shopt -s nullglob globstar
files=(test/**/*.test.ts)
# The spec report goes to the terminal, a TAP copy to build/ for the crash check below.
mkdir -p build
report=build/test-results.tap
status=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$report" "${files[@]}" || status=$?
[ "$status" = 0 ] && exit 0
# A file whose process native TensorFlow crashed (a signal, not a failed assertion) is rerun once,
# and said so; any other failure fails the run (tools/testReport.ts says why).
exec node --import tsx scripts/rerun-crashed.ts "$report"
