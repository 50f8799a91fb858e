#!/usr/bin/env bash
# The Kotlin/Swift check, from a fresh clone:
#   1. builds the act-uniffi cdylib (release; on x86_64 Linux in the same cargo invocation as the
#      wheel's extension and the Node addon, scripts/dist-native.sh) and the workspace uniffi-bindgen;
#   2. regenerates the Kotlin and Swift bindings from the cdylib (library mode) into a
#      temp dir and FAILS, printing the diff, if they differ from the committed ones;
#   3. runs the Kotlin JUnit suite with Maven (which fetches its own dependencies) and
#      installs the jar, which carries the cdylib in JNA's resource layout
#      (linux-x86-64/libact_uniffi.so), into the local Maven repository;
#   4. builds and runs samples/kotlin-jvm, a fresh Maven project that depends on the installed
#      jar (no -Djna.library.path), for one decision;
#   and ends with one plain line "kotlin: N passed, M failed".
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
echo "== the act-uniffi cdylib (release); cargo build -p uniffi-bindgen"
# The generator is built apart on purpose: built together, cargo would unify uniffi's features
# and compile the generator's CLI code into the cdylib too. It is a debug build: it runs for a
# fraction of a second, and `cargo test --workspace` has built its dependencies already.
jna_platform=""
case "$(uname -s)-$(uname -m)" in
    Linux-x86_64)
        native_dir="$("$root/scripts/dist-native.sh" libs x86_64-unknown-linux-gnu)"
        jna_platform=linux-x86-64 ;;
    *)
        cargo build --release --locked -p act-uniffi
        native_dir="$target/release" ;;
esac
cargo build --locked -p uniffi-bindgen
# The control-endpoint test runs a real `act serve`.
cargo build --locked -p act-cli

case "$(uname -s)" in
    Darwin) lib="$native_dir/libact_uniffi.dylib" ;;
    MINGW*|MSYS*|CYGWIN*) lib="$native_dir/act_uniffi.dll" ;;
    *) lib="$native_dir/libact_uniffi.so" ;;
esac
bindgen="$target/debug/uniffi-bindgen"
# The jar's resources: the library under JNA's folder name for this platform. `make dist` adds
# linux-aarch64/ (scripts/dist.sh); ACT_JVM_NATIVES names a folder that already has them.
natives="${ACT_JVM_NATIVES:-$target/jvm-natives}"
if [ -z "${ACT_JVM_NATIVES:-}" ] && [ -n "$jna_platform" ]; then
    rm -rf "$natives"
    mkdir -p "$natives/$jna_platform"
    cp "$lib" "$natives/$jna_platform/"
fi

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

echo "== mvn install (bindings/kotlin: the JUnit suite, then the jar into the local Maven repository)"
cd "$root/bindings/kotlin"
rm -rf target/surefire-reports
# Maven 3.8 prints ANSI resets even in batch mode: strip them so the summary line stays plain.
# RUST_BACKTRACE=0: the deliberate panic of the panic-shield test need not print a backtrace.
set +e
RUST_BACKTRACE=0 mvn -B -q -Dstyle.color=never -Dact.native.dir="$native_dir" -Dact.native.resources="$natives" \
    -Dact.bin="$target/debug/act" install 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 0 ] && [ -n "$jna_platform" ]; then
    jar="target/act-sdk-kotlin-0.1.0.jar"
    if ! jar tf "$jar" | grep -qx "$jna_platform/libact_uniffi.so"; then
        echo "kotlin: $jar does not carry $jna_platform/libact_uniffi.so" >&2
        status=1
    fi
fi
if [ "$status" -eq 0 ] && [ -n "$jna_platform" ]; then
    echo "== samples/kotlin-jvm: a fresh Maven project on the installed jar, one decision, no jna.library.path"
    sample_status=0
    (cd "$root/samples/kotlin-jvm" && rm -rf target && env -u JAVA_TOOL_OPTIONS mvn -B -q -Dstyle.color=never compile exec:java \
        -Dexec.args="$root/examples/customer_support/policies.yaml") 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' || sample_status=$?
    [ "$sample_status" -eq 0 ] || { echo "kotlin: the sample project failed" >&2; status=1; }
fi

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
