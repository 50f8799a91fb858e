#!/usr/bin/env bash
# The Kotlin/Swift check, from a fresh clone:
#   1. builds the act-uniffi cdylib (release) and the workspace uniffi-bindgen;
#   2. regenerates the Kotlin and Swift bindings from the cdylib (library mode) into a
#      temp dir and FAILS, printing the diff, if they differ from the committed ones;
#   3. runs the Kotlin JUnit suite with Maven (which fetches its own dependencies)
#      and ends with one plain line "kotlin: N passed, M failed".
# Swift is generated and diffed here but compiled and tested only on macOS (see bindings/swift/README.md).
#
#   bindings/run_kotlin_tests.sh            check and test
#   bindings/run_kotlin_tests.sh --write    rewrite the committed generated sources (after changing the Rust API)
# Needs a Rust toolchain, a JDK 17+ and Maven 3.8+.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

write=0
if [ "${1:-}" = "--write" ]; then write=1; fi

target="${CARGO_TARGET_DIR:-$root/target}"
echo "== cargo build --release -p act-uniffi; cargo build -p uniffi-bindgen"
# Two invocations on purpose: built together, cargo would unify uniffi's features and
# compile the generator's CLI code into the cdylib too. The generator is a debug build:
# it runs for a fraction of a second, and `cargo test --workspace` has built its
# dependencies already.
cargo build --release --locked -p act-uniffi
cargo build --locked -p uniffi-bindgen
# The control-endpoint test runs a real `act serve`.
cargo build --locked -p act-cli

case "$(uname -s)" in
    Darwin) lib="$target/release/libact_uniffi.dylib" ;;
    MINGW*|MSYS*|CYGWIN*) lib="$target/release/act_uniffi.dll" ;;
    *) lib="$target/release/libact_uniffi.so" ;;
esac
bindgen="$target/debug/uniffi-bindgen"

echo "== regenerate Kotlin and Swift (library mode) and compare with the committed sources"
gen="$(mktemp -d)"
trap 'rm -rf "$gen"' EXIT
# --no-format: the output must not depend on whether ktlint or swiftformat happen to be installed.
"$bindgen" generate "$lib" --language kotlin --no-format --out-dir "$gen/kotlin"
"$bindgen" generate "$lib" --language swift --no-format --out-dir "$gen/swift"

# generated file -> committed path
pairs=(
    "$gen/kotlin/act/sdk/act_uniffi.kt" "bindings/kotlin/src/main/kotlin/act/sdk/act_uniffi.kt"
    "$gen/swift/ActSDK.swift" "bindings/swift/Sources/ActSDK/ActSDK.swift"
    "$gen/swift/ActFFI.h" "bindings/swift/Sources/ActFFI/ActFFI.h"
    "$gen/swift/ActFFI.modulemap" "bindings/swift/Sources/ActFFI/ActFFI.modulemap"
)
stale=0
for ((i = 0; i < ${#pairs[@]}; i += 2)); do
    fresh="${pairs[i]}"
    committed="${pairs[i + 1]}"
    if [ ! -f "$fresh" ]; then
        echo "uniffi-bindgen did not write $fresh" >&2
        exit 1
    fi
    if [ "$write" -eq 1 ]; then
        mkdir -p "$(dirname "$committed")"
        cp "$fresh" "$committed"
        echo "wrote $committed"
    elif ! diff -u "$committed" "$fresh"; then
        echo "STALE: $committed differs from what uniffi-bindgen generates (diff above)" >&2
        stale=1
    fi
done
if [ "$stale" -ne 0 ]; then
    echo "the committed bindings are stale: run bindings/run_kotlin_tests.sh --write and commit the result" >&2
    exit 1
fi
echo "generated Kotlin and Swift match the committed sources"

echo "== mvn test (bindings/kotlin)"
cd "$root/bindings/kotlin"
rm -rf target/surefire-reports
# Maven 3.8 prints ANSI resets even in batch mode: strip them so the summary line stays plain.
# RUST_BACKTRACE=0: the deliberate panic of the panic-shield test need not print a backtrace.
set +e
RUST_BACKTRACE=0 mvn -B -q -Dstyle.color=never -Dact.native.dir="$target/release" -Dact.bin="$target/debug/act" test 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'
status=${PIPESTATUS[0]}
set -e

# One plain closing line from Surefire's reports (mvn -q prints no summary of its own).
read -r tests failures errors skipped < <(
    cat target/surefire-reports/TEST-*.xml 2>/dev/null | python3 -c '
import re, sys
t = f = e = s = 0
for m in re.finditer(r"<testsuite\b[^>]*>", sys.stdin.read()):
    a = dict(re.findall(r"(\w+)=\"([^\"]*)\"", m.group(0)))
    t += int(a.get("tests", 0)); f += int(a.get("failures", 0)); e += int(a.get("errors", 0)); s += int(a.get("skipped", 0))
print(t, f, e, s)
' || echo "0 0 0 0"
)
failed=$((failures + errors))
passed=$((tests - failed - skipped))
echo "kotlin: ${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
    exit 1
fi
