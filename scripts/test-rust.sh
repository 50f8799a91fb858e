#!/usr/bin/env bash
# Runs every Rust test of the workspace and ends with one plain summary line,
# "N passed, M failed", summed over all test binaries (doc tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
{
  s=0
  # The workspace build enables act-core's `redis` feature (the bindings ask for it), so the
  # fleet-wide limit tests on a real redis-server (they start their own) run here too.
  cargo test --workspace --locked --no-fail-fast 2>&1 || s=1
  exit $s
} | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$( (grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" || true) | awk '{s+=$4} END {print s+0}')
failed=$( (grep -Eo '[0-9]+ failed;' "$log" || true) | awk '{s+=$1} END {print s+0}')
echo "rust: ${passed} passed, ${failed} failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
