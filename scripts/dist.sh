#!/usr/bin/env bash
# `make dist`: the artifacts a user installs without Rust, for every Linux platform built here,
# into dist/ (emptied first), each checked as it is made:
#   dist/python/act_sdk-<v>-cp39-abi3-manylinux_2_17_{x86_64,aarch64}...whl, ...-musllinux_1_2_x86_64.whl
#                           abi3 wheels (CPython >= 3.9): auditwheel show confirms the tag; < 6 MB
#   dist/python/act_sdk-<v>.tar.gz
#                           the sdist; pip-installed into a fresh virtualenv (a build from source
#                           through maturin, minutes) and imported (ACT_DIST_SKIP_SDIST=1 skips it)
#   dist/npm/act-sdk-<v>.tgz, act-sdk-linux-{x64-gnu,arm64-gnu,x64-musl}-<v>.tgz
#                           the npm packages (scripts/dist-node.sh): each addon's architecture and
#                           glibc floor (2.17) checked
#   dist/jvm/act-sdk-kotlin-<v>.jar (+ .pom)
#                           the Kotlin/JVM jar with linux-x86-64/ and linux-aarch64/ natives (JNA layout)
#   dist/cli/act-<v>-{x86_64,aarch64}-linux-musl
#                           the static `act` CLI: file(1) says static and the architecture; the
#                           x86_64 one checks a policy, the aarch64 one too under qemu-user-static
#                           (installed from Debian when missing)
# One cargo invocation per target builds the wheel's extension, the Node addon and the uniffi
# library together (scripts/dist-native.sh); the CLI is its own build per musl target (it enables
# different act-core features). Not built here (see .github/workflows/release.yml, not run here):
# macOS, Windows, the XCFramework.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$root/dist"
rm -rf "$dist"
mkdir -p "$dist/python" "$dist/npm" "$dist/jvm" "$dist/cli"
started=$SECONDS
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)"
timings=()

step() { echo "== dist: $*" >&2; }
took() { timings+=("$(printf '%-44s %5ss' "$1" "$((SECONDS - $2))")"); }

gnu_targets=(x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu)
lib_targets=("${gnu_targets[@]}" x86_64-unknown-linux-musl)

# Debian packages the checks use (root on CI and dev machines here; sudo elsewhere).
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
command -v file >/dev/null || apt_install file
command -v qemu-aarch64-static >/dev/null || command -v qemu-aarch64 >/dev/null || apt_install qemu-user-static \
    || echo "dist: qemu-user-static could not be installed: the aarch64 CLI will not be run" >&2

# 1. The libraries (wheel extension, Node addon, uniffi library) per target, and the wheels.
for target in "${lib_targets[@]}"; do
    step "native libraries and Python wheel for $target"
    t=$SECONDS
    wheel="$("$root/scripts/dist-python.sh" wheel "$root/target/wheels-$target" "$target")"
    "$root/scripts/dist-python.sh" check "$wheel"
    cp "$wheel" "$dist/python/"
    took "libraries + wheel $target" "$t"
done

# 2. npm: the main package and one platform package per target (the libraries are built).
step "npm packages"
t=$SECONDS
mapfile -t tarballs < <("$root/scripts/dist-node.sh" pack "$dist/npm" "${lib_targets[@]}")
for target in "${lib_targets[@]}"; do
    plat="$("$root/scripts/dist-node.sh" platform "$target")"
    "$root/scripts/dist-node.sh" check "$dist/npm/act-sdk-$plat-$version.tgz" "$target"
done
took "npm pack" "$t"

# 3. The JVM jar with the glibc targets' uniffi libraries (JNA folder names), tests skipped (CI runs them).
step "JVM jar (linux-x86-64, linux-aarch64)"
t=$SECONDS
natives="$root/target/jvm-natives-dist"
rm -rf "$natives"
for target in "${gnu_targets[@]}"; do
    case "$target" in
        x86_64-*) jna=linux-x86-64 ;;
        aarch64-*) jna=linux-aarch64 ;;
    esac
    lib="$("$root/scripts/dist-native.sh" libs "$target")/libact_uniffi.so"
    "$root/scripts/dist-native.sh" check "$lib" "$target"
    mkdir -p "$natives/$jna"
    cp "$lib" "$natives/$jna/"
done
(cd "$root/bindings/kotlin" && mvn -B -q -Dstyle.color=never -DskipTests -Dact.native.resources="$natives" package) >&2
jar="$root/bindings/kotlin/target/act-sdk-kotlin-$version.jar"
for jna in linux-x86-64 linux-aarch64; do
    jar tf "$jar" | grep -qx "$jna/libact_uniffi.so" || { echo "dist: $jar lacks $jna/libact_uniffi.so" >&2; exit 1; }
done
cp "$jar" "$dist/jvm/"
cp "$root/bindings/kotlin/pom.xml" "$dist/jvm/act-sdk-kotlin-$version.pom"
took "jvm jar" "$t"

# 4. The static CLI per musl target.
policy="$root/examples/customer_support/policies.yaml"
for target in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
    step "static act CLI for $target"
    t=$SECONDS
    cli="$("$root/scripts/dist-native.sh" cli "$target")"
    out="$dist/cli/act-$version-${target%%-*}-linux-musl"
    cp "$cli" "$out"
    "$root/scripts/dist-native.sh" check "$out" "$target"
    run=()
    case "$target" in
        aarch64-*)
            if command -v qemu-aarch64-static >/dev/null; then run=(qemu-aarch64-static)
            elif command -v qemu-aarch64 >/dev/null; then run=(qemu-aarch64)
            else run=(none); fi ;;
    esac
    if [ "${run[0]:-}" = none ]; then
        echo "dist: no qemu-aarch64: $out is NOT run" >&2
    else
        "${run[@]}" "$out" policy check "$policy" >&2
        echo "dist: ${run[*]:+${run[*]} }$(basename "$out") policy check: ok" >&2
    fi
    took "cli $target" "$t"
done

# 5. The sdist last: its install test is a whole release build from source.
step "Python sdist"
t=$SECONDS
sdist="$("$root/scripts/dist-python.sh" sdist)"
cp "$sdist" "$dist/python/"
if [ "${ACT_DIST_SKIP_SDIST:-0}" != 1 ]; then
    step "pip install of the sdist into a fresh virtualenv (a release build from source)"
    venv="$(mktemp -d)"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off "$sdist" >&2
    (cd "$venv" && "$venv/bin/python" -c 'import act_sdk, act_sdk._native; print("dist: sdist install imports act_sdk", act_sdk.__file__)') >&2
    rm -rf "$venv"
fi
took "sdist (+ pip install from source)" "$t"

echo >&2
echo "dist: step timings" >&2
printf '  %s\n' "${timings[@]}" >&2
echo "dist: done in $((SECONDS - started))s:" >&2
(cd "$dist" && find . -type f -printf '%10s  %p\n' | sort -k2) >&2
