#!/usr/bin/env bash
# The act-sdk Python artifacts, from python/pyproject.toml (mixed layout: the pure-Python act_sdk/
# package plus the act_sdk._native extension from bindings/python).
#
#   scripts/dist-python.sh wheel [OUT [TARGET]]  the wheel for TARGET (default: this machine's
#                                          x86_64-unknown-linux-gnu; also aarch64-unknown-linux-gnu,
#                                          x86_64-unknown-linux-musl): abi3 for CPython >= 3.9,
#                                          manylinux2014 (glibc) or musllinux_1_2 (musl), symbols
#                                          stripped, into OUT (default target/wheels-host, emptied
#                                          first); prints its path
#   scripts/dist-python.sh sdist [OUT]     the source distribution (maturin sdist); prints its path
#   scripts/dist-python.sh check WHEEL     auditwheel show: the platform tag holds; size < 6 MB
#
# How the wheel is made: scripts/dist-native.sh builds the extension in the SAME cargo invocation
# as the Node addon and the uniffi library (one compilation of act-core and its dependencies for
# all three; see there why); this script then assembles the wheel from it: `maturin pep517
# write-dist-info` writes the metadata from pyproject.toml (name, version, requirements, entry
# points), the act_sdk/ sources and the extension are laid out as maturin lays them out, and
# `wheel pack` (pypa) zips it with its RECORD. `check` (auditwheel) then confirms the platform tag
# against the extension's real symbol versions, as maturin's own check would. `pip install` of
# the sdist still builds through maturin (PEP 517), as a user without the wheel would.
#
# Build progress (cargo's "Compiling ..." lines) goes to stderr; only the artifact path goes to
# stdout. Needs python3 >= 3.9 with venv and a Rust toolchain.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RUSTC_WRAPPER="${RUSTC_WRAPPER-$(command -v sccache || true)}"
# The largest wheel we accept: a user downloads it on every fresh environment.
max_bytes=$((6 * 1024 * 1024))

# shellcheck source=dist-native.sh
source "$root/scripts/dist-native.sh"
act_dist_venv
unset VIRTUAL_ENV

# The wheel's platform tag for a Rust target (the aliases auditwheel and pip accept).
platform_tag() {
    case "$1" in
        x86_64-unknown-linux-gnu) echo manylinux_2_17_x86_64.manylinux2014_x86_64 ;;
        aarch64-unknown-linux-gnu) echo manylinux_2_17_aarch64.manylinux2014_aarch64 ;;
        x86_64-unknown-linux-musl) echo musllinux_1_2_x86_64 ;;
        aarch64-unknown-linux-musl) echo musllinux_1_2_aarch64 ;;
        *) echo "dist-python: no wheel platform for $1" >&2; return 1 ;;
    esac
}

# build OUT TARGET: one wheel into an emptied OUT, its path on stdout.
build() {
    local out=$1 target=$2 plat libdir staging info
    plat="$(platform_tag "$target")" || return 1
    echo "dist-python: building the act-sdk wheel for $target (cargo; minutes the first time)" >&2
    libdir="$("$root/scripts/dist-native.sh" libs "$target")" || { echo "dist-python: build failed" >&2; return 1; }
    rm -rf "$out"
    mkdir -p "$out"
    staging="$(mktemp -d)"
    # The package as maturin's python-packages = ["act_sdk"] lays it out, without caches or a
    # stray development build of the extension.
    (cd "$root/python" && find act_sdk -type f ! -path '*/__pycache__/*' ! -name '*.pyc' ! -name '*.so' ! -name '*.pyd' \
        -exec install -D -m 644 {} "$staging/{}" \;)
    install -m 755 "$libdir/lib_native.so" "$staging/act_sdk/_native.abi3.so"
    info="$(cd "$root/python" && maturin pep517 write-dist-info --metadata-directory "$staging" \
        --interpreter "$ACT_DIST_PY" 2>/dev/null | tail -n 1)"
    [ -f "$staging/$info/METADATA" ] || { echo "dist-python: maturin wrote no metadata ($info)" >&2; return 1; }
    printf 'Wheel-Version: 1.0
Generator: act scripts/dist-python.sh (maturin metadata)
Root-Is-Purelib: false
Tag: cp39-abi3-%s
' \
        "$plat" >"$staging/$info/WHEEL"
    rm -f "$staging/$info/RECORD"
    "$ACT_DIST_PY" -m wheel pack "$staging" -d "$out" >&2 || return 1
    rm -rf "$staging"
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
    # musllinux on this glibc machine: auditwheel resolves the extension's NEEDED libc.so to the
    # host's glibc linker script and crashes (ELFError). Checked here instead: musl ELF of the
    # right architecture, no glibc symbol versions, no library but libc.so.
    if [[ "$(basename "$wheel")" == *musllinux_* ]] && ! ldd --version 2>&1 | grep -qi musl; then
        local tmp arch needed
        tmp="$(mktemp -d)"
        "$ACT_DIST_PY" -m zipfile -e "$wheel" "$tmp"
        case "$(basename "$wheel")" in *aarch64*) arch=aarch64 ;; *) arch=x86_64 ;; esac
        "$root/scripts/dist-native.sh" check "$tmp/act_sdk/_native.abi3.so" "$arch-unknown-linux-musl" || return 1
        needed="$(readelf -d "$tmp/act_sdk/_native.abi3.so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
        rm -rf "$tmp"
        [ "$needed" = "libc.so " ] || { echo "dist-python: $wheel needs more than musl's libc.so: $needed" >&2; return 1; }
        echo "dist-python: musllinux extension needs only libc.so (auditwheel cannot check musl wheels on a glibc host)" >&2
        return 0
    fi
    # auditwheel reads the extension's ELF symbol versions and libraries: the platform tag
    # maturin wrote must be one the file really satisfies.
    local report
    report="$(python3 -m auditwheel show "$wheel" 2>&1)" || { echo "$report" >&2; return 1; }
    echo "$report" >&2
    # The PEP 600/656 name in the file name (manylinux2014 is its alias manylinux_2_17).
    local tag
    tag="$(basename "$wheel" .whl | grep -Eo '(many|musl)linux_[0-9]+_[0-9]+_[a-z0-9_]+' | head -n 1)"
    if [ -z "$tag" ] || ! grep -q "consistent with the following platform tag" <<<"$report" \
        || ! grep -q "\"$tag\"" <<<"$report"; then
        echo "dist-python: auditwheel does not confirm ${tag:-a manylinux/musllinux tag} for $wheel" >&2
        return 1
    fi
}

cmd="${1:-wheel}"
case "$cmd" in
    wheel) build "${2:-$root/target/wheels-host}" "${3:-x86_64-unknown-linux-gnu}" ;;
    sdist)
        out="${2:-$root/target/sdist}"
        rm -rf "$out"
        mkdir -p "$out"
        (cd "$root/python" && maturin sdist --out "$out") >&2
        ls "$out"/*.tar.gz ;;
    check) check "$2" ;;
    *) echo "usage: $0 wheel|sdist [OUT] | check WHEEL" >&2; exit 2 ;;
esac
