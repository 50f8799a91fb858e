#!/usr/bin/env bash
# The Node package's whole test run, from a clean clone: installs the npm
# dev dependencies (from package-lock.json), builds the native addon in
# release mode, type-checks test/types.ts against index.d.ts, and runs every
# node:test suite (conformance vectors included). Fails on any failure.
#
#   node/run_tests.sh            (needs node >= 18, npm and cargo)
set -euo pipefail
cd "$(dirname "$0")"

echo "== npm install (locked)"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi

echo "== build the native addon (cargo, release)"
node scripts/build.mjs

echo "== build the act CLI (the control-endpoint test runs a real act serve)"
(cd .. && cargo build --quiet -p act-cli)
export ACT_BIN="$PWD/../target/debug/act"

echo "== tsc --noEmit (test/types.ts against index.d.ts)"
npx --no-install tsc --noEmit -p test/tsconfig.json

echo "== node --test"
node --test --test-concurrency=1 test/
