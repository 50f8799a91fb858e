#!/usr/bin/env bash
# The act-sdk Python artifacts, built with maturin from python/pyproject.toml (mixed layout: the
# pure-Python act_sdk/ package plus the act_sdk._native extension from bindings/python).
#
#   scripts/dist-python.sh wheel [OUT]     the host's wheel (x86_64: abi3 for CPython >= 3.9,
#                                          manylinux2014, symbols stripped) into OUT (default
#                                          target/wheels-host, emptied first); prints its path
#   scripts/dist-python.sh sdist [OUT]     the source distribution; prints its path
#   scripts/dist-python.sh check WHEEL     auditwheel show: the manylinux tag holds; size < 6 MB
#
# Build progress (cargo's "Compiling ..." lines) goes to stderr; only the artifact path goes to
# stdout. Needs python3 >= 3.9 with venv and a Rust toolchain; the build tools (maturin, ziglang,
# auditwheel, pinned) live in their own virtualenv, target/dist-venv (ACT_DIST_VENV). One venv for
# every caller on purpose: the zig wrapper maturin hands to cargo names the python that runs
# ziglang, and a different path (another suite's venv) would make cargo rebuild everything.
#
# Why zig: this machine's glibc is 2.36, and a library linked against it references symbols up to
# GLIBC_2.34 (maturin refuses the manylinux2014 tag, rightly). `maturin --zig` links against
# glibc 2.17's symbol list instead, with no docker image; ziglang comes from PyPI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RUSTC_WRAPPER="${RUSTC_WRAPPER-$(command -v sccache || true)}"
# The largest wheel we accept: a user downloads it on every fresh environment.
max_bytes=$((6 * 1024 * 1024))

dv="${ACT_DIST_VENV:-$root/target/dist-venv}"
if [ ! -x "$dv/bin/maturin" ] || ! "$dv/bin/python" -m ziglang version >/dev/null 2>&1 \
    || ! "$dv/bin/python" -m auditwheel --version >/dev/null 2>&1; then
    rm -rf "$dv"
    python3 -m venv "$dv" >&2
    "$dv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" \
        "ziglang>=0.13,<0.18" "auditwheel>=6,<7" >&2
fi
export PATH="$dv/bin:$PATH"
unset VIRTUAL_ENV
# The interpreter is named, not searched for: maturin runs zig through it, and cargo rebuilds
# every crate when the linker it is handed changes (abi3: any CPython >= 3.9 builds the same wheel).
interpreter="$dv/bin/python3"

# build OUT MATURIN_ARGS...: one wheel into an emptied OUT, its path on stdout.
build() {
    local out=$1; shift
    rm -rf "$out"
    mkdir -p "$out"
    echo "dist-python: building the act-sdk wheel (maturin build --release $*; minutes the first time)" >&2
    (cd "$root/python" && maturin build --release --strip --interpreter "$interpreter" --out "$out" "$@") >&2 \
        || { echo "dist-python: maturin build failed" >&2; return 1; }
    local wheels=("$out"/*.whl)
    if [ ${#wheels[@]} -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
        echo "dist-python: expected one wheel in $out, found: ${wheels[*]}" >&2
        return 1
    fi
    echo "${wheels[0]}"
}

check() {
    local wheel=$1 size
    size=$(stat -c %s "$wheel")
    echo "dist-python: $(basename "$wheel"): $((size / 1024)) KiB" >&2
    [ "$size" -lt "$max_bytes" ] || { echo "dist-python: $wheel is over 6 MB" >&2; return 1; }
    # auditwheel reads the extension's ELF symbol versions and libraries: the platform tag
    # maturin wrote must be one the file really satisfies.
    local report
    report="$(python3 -m auditwheel show "$wheel" 2>&1)" || { echo "$report" >&2; return 1; }
    echo "$report" >&2
    # The PEP 600 name in the file name (manylinux2014 is its alias manylinux_2_17).
    local tag
    tag="$(basename "$wheel" .whl | grep -Eo 'manylinux_[0-9]+_[0-9]+_[a-z0-9_]+' | head -n 1)"
    if [ -z "$tag" ] || ! grep -q "consistent with the following platform tag" <<<"$report" \
        || ! grep -q "\"$tag\"" <<<"$report"; then
        echo "dist-python: auditwheel does not confirm ${tag:-a manylinux tag} for $wheel" >&2
        return 1
    fi
}

cmd="${1:-wheel}"
case "$cmd" in
    wheel) build "${2:-$root/target/wheels-host}" --zig --compatibility manylinux2014 ;;
    sdist)
        out="${2:-$root/target/sdist}"
        rm -rf "$out"
        mkdir -p "$out"
        (cd "$root/python" && maturin sdist --out "$out") >&2
        ls "$out"/*.tar.gz ;;
    check) check "$2" ;;
    *) echo "usage: $0 wheel|sdist [OUT] | check WHEEL" >&2; exit 2 ;;
esac
