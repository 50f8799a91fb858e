#!/usr/bin/env bash
# The README's test command: every suite, each installing what it needs, then a table of
# each suite's counts and wall time, and one plain closing line "total: N passed, M failed".
# CI's budget is 25 minutes on 2 cores (.ci/run); the table shows where the time goes.
set -uo pipefail
cd "$(dirname "$0")/.."
total_pass=0
total_fail=0
failed_suites=()
timings=()
started_all=$SECONDS

# run NAME COMMAND...: runs a suite, tees its output, adds its counts.
run() {
  local name=$1; shift
  local log; log=$(mktemp)
  local started=$SECONDS
  echo "=== $name: $*"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  local secs=$((SECONDS - started))
  # The counts this suite printed last: "N passed[, M failed]" (cargo, pytest)
  # or "# pass N" / "# fail M" (node --test).
  local summary; summary=$(grep -E '[0-9]+ passed' "$log" | tail -n 1)
  local p; p=$(grep -Eo '[0-9]+ passed' <<<"$summary" | grep -Eo '[0-9]+' || echo 0)
  local f; f=$(grep -Eo '[0-9]+ failed' <<<"$summary" | grep -Eo '[0-9]+' || echo 0)
  if [ -z "$summary" ]; then
    p=$(grep -E '^# pass [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
    f=$(grep -E '^# fail [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || echo 0)
  fi
  rm -f "$log"
  total_pass=$((total_pass + ${p:-0}))
  total_fail=$((total_fail + ${f:-0}))
  local verdict=ok
  if [ "$status" -ne 0 ] || [ "${p:-0}" -eq 0 ]; then
    failed_suites+=("$name")
    [ "${f:-0}" -eq 0 ] && total_fail=$((total_fail + 1))
    verdict=FAILED
  fi
  timings+=("$(printf '%-10s %7s %7s %6ss  %s' "$name" "${p:-0}" "${f:-0}" "$secs" "$verdict")")
}

# Servers the tests start themselves (on loopback, stopped by pid) must be installed.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "=== installing redis-server (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  fi
fi

# The release libraries every binding suite tests (the wheel's extension, the Node addon, the
# uniffi library): one cargo invocation, so act-core compiles once for all three
# (scripts/dist-native.sh). Its own row, so the suites below show their own time only.
build() {
  local name=$1; shift
  local started=$SECONDS
  echo "=== $name: $*"
  local verdict=ok
  if ! "$@" >/dev/null; then
    failed_suites+=("$name")
    total_fail=$((total_fail + 1))
    verdict=FAILED
  fi
  timings+=("$(printf '%-10s %7s %7s %6ss  %s' "$name" - - "$((SECONDS - started))" "$verdict")")
}
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
  build native-libs scripts/dist-native.sh libs x86_64-unknown-linux-gnu
fi

run rust scripts/test-rust.sh
# The stable replay of every fuzz seed and saved regression; the libFuzzer run is `make fuzz`.
run fuzz scripts/fuzz-smoke.sh
run python python/run_tests.sh
# The operator console in a real headless browser (installs chromium and Playwright itself).
run console tests/console/run.sh
run examples examples/run_all.sh
run node node/run_tests.sh
run kotlin bindings/run_kotlin_tests.sh

echo
echo "=== per-suite timings"
printf '%-10s %7s %7s %7s  %s\n' suite passed failed time result
printf '%s\n' "${timings[@]}"
printf '%-10s %23s\n' all "$((SECONDS - started_all))s"
echo
if [ ${#failed_suites[@]} -ne 0 ]; then
  echo "failed suites: ${failed_suites[*]}"
fi
echo "total: ${total_pass} passed, ${total_fail} failed"
[ ${#failed_suites[@]} -eq 0 ]
