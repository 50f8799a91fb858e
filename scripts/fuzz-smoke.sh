#!/usr/bin/env bash
# The fuzz targets, seeded from tests/vectors/.
#
#   scripts/fuzz-smoke.sh              (make test) the stable replay only
#   scripts/fuzz-smoke.sh --libfuzzer  (make fuzz) the replay, then libFuzzer on every target
#
# 1. Always, on stable: builds the seed corpus from the vectors and replays it, every committed
#    regression (fuzz/regressions/<target>/) and ACT_FUZZ_MUTATIONS random mutations through the
#    same target bodies (fuzz/tests/replay.rs), so this never silently tests nothing.
# 2. With --libfuzzer, a nightly toolchain (installed with rustup when missing, if possible) and
#    cargo-fuzz (installed when missing): runs each target under libFuzzer for FUZZ_SECONDS
#    (default 25). The instrumented nightly build alone takes about 8 minutes on 2 cores, which
#    is why CI's `make test` leaves it to `make fuzz`.
#    A crash is a failure; libFuzzer saves the input under fuzz/artifacts/<target>/: fix the bug,
#    then copy the input to fuzz/regressions/<target>/ so the stable replay keeps checking it.
#
# Ends with one line "fuzz: N passed, M failed" (each replayed target and each fuzzed target counts one).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
secs=${FUZZ_SECONDS:-25}
libfuzzer=0
case "${1:-}" in
  --libfuzzer) libfuzzer=1 ;;
  "") ;;
  *) echo "usage: scripts/fuzz-smoke.sh [--libfuzzer]" >&2; exit 2 ;;
esac
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
corpus=$CARGO_TARGET_DIR/fuzz-corpus
passed=0
failed=0

echo "--- seed corpus from tests/vectors"
rm -rf "$corpus"
if ! (cd fuzz && cargo run --locked -q --example seed_corpus -- "$root/tests/vectors" "$corpus"); then
  echo "fuzz: the seed corpus could not be built"
  failed=$((failed + 1))
fi

echo "--- stable replay: seeds, regressions and random mutations through the target bodies"
log=$(mktemp)
(cd fuzz && cargo test --locked --test replay -- --nocapture) 2>&1 | tee "$log"
p=$( (grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$log" || true) | awk '{s+=$4} END {print s+0}')
f=$( (grep -Eo '[0-9]+ failed;' "$log" || true) | awk '{s+=$1} END {print s+0}')
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p))
failed=$((failed + f))
rm -f "$log"

if [ "$libfuzzer" -eq 0 ]; then
  echo "fuzz: ${passed} passed, ${failed} failed (stable replay; libFuzzer runs with make fuzz)"
  [ "$failed" -eq 0 ]
  exit
fi

nightly=1
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "--- installing the nightly toolchain (cargo fuzz needs it)"
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || nightly=0
fi
if [ "$nightly" -eq 1 ] && ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "--- installing cargo-fuzz"
  cargo install cargo-fuzz --locked -q || nightly=0
fi
if [ "$nightly" -eq 0 ]; then
  echo "fuzz: no nightly toolchain or cargo-fuzz could be installed here; libFuzzer did not run"
  failed=$((failed + 1))
else
  # The fuzz build keeps its own target dir (nightly, instrumented): it shares nothing with stable.
  unset CARGO_TARGET_DIR
  echo "--- cargo fuzz build (nightly, libFuzzer; no sanitizer: act-core has no unsafe code, panics are what we look for)"
  if ! (cd fuzz && cargo +nightly fuzz build --features libfuzzer -s none); then
    echo "fuzz: cargo fuzz build failed"
    failed=$((failed + 5))
  else
    for target in token policy snapshot delegation matching; do
      echo "--- cargo fuzz run $target for ${secs}s"
      if (cd fuzz && cargo +nightly fuzz run --features libfuzzer -s none "$target" "$corpus/$target" -- \
            -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 2>&1 | tail -n 25); then
        passed=$((passed + 1))
      else
        echo "fuzz: $target CRASHED; the input is in fuzz/artifacts/$target/ (see above)"
        failed=$((failed + 1))
      fi
    done
  fi
fi

echo "fuzz: ${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
