#!/usr/bin/env bash
# The native libraries every act-sdk package ships, for one Rust target, from ONE cargo invocation:
# the Python extension (act-python), the Node addon (act-node) and the Kotlin/Swift library
# (act-uniffi); and the `act` CLI.
#
#   scripts/dist-native.sh libs TARGET     release build of the three into target/TARGET/release;
#                                          prints that folder (lib_native.so, libact_node.so,
#                                          libact_uniffi.so)
#   scripts/dist-native.sh cli TARGET      the act CLI for TARGET (musl targets: static); prints its path
#   scripts/dist-native.sh check FILE TARGET
#                                          file(1) names TARGET's architecture; glibc targets need no
#                                          symbol version above GLIBC_2.17; musl executables are
#                                          static, musl libraries reference no glibc versions
#   source scripts/dist-native.sh          defines act_dist_venv and act_native_env TARGET
#
# Why one invocation: cargo resolves features per invocation, and the three crates enable different
# features of shared dependencies (act-node: memchr's and futures' std parts; act-uniffi:
# serde_json's unbounded_depth), so three builds (maturin's own, then the addon's, then uniffi's)
# compiled act-core and most of its dependencies three times. Together they compile once; the wheel
# is then assembled from the built extension by scripts/dist-python.sh (maturin writes its
# metadata; maturin itself cannot package a prebuilt library, PyO3/maturin#1681).
#
# Why zig (ziglang from PyPI, driven through maturin's `zig cc`, which is cargo-zigbuild's argument
# handling): linking against glibc 2.17's symbol list (manylinux2014; the npm and jar natives get the
# same floor) and linking aarch64 and musl binaries with no docker image or sysroot. The wrapper
# scripts live at fixed paths (target/zig/TARGET/) so that every invocation hands cargo the same
# linker and compiler: a different path would make cargo rebuild every crate.
#
# Build progress goes to stderr; only the printed path goes to stdout.

# shellcheck disable=SC2034 # ACT_DIST_PY is read by the scripts that source this file
_act_native_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The build tools (pinned) in their own virtualenv, target/dist-venv (ACT_DIST_VENV); sets
# ACT_DIST_VENV and ACT_DIST_PY and puts the venv's bin/ on PATH.
act_dist_venv() {
    local dv="${ACT_DIST_VENV:-${CARGO_TARGET_DIR:-$_act_native_root/target}/dist-venv}"
    if [ ! -x "$dv/bin/maturin" ] || ! "$dv/bin/python" -m ziglang version >/dev/null 2>&1 \
        || ! "$dv/bin/python" -m auditwheel --version >/dev/null 2>&1 \
        || ! "$dv/bin/python" -m wheel version >/dev/null 2>&1; then
        rm -rf "$dv"
        python3 -m venv "$dv" >&2 || return 1
        "$dv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" \
            "ziglang>=0.13,<0.18" "auditwheel>=6,<7" "wheel>=0.43,<1" >&2 || return 1
    fi
    ACT_DIST_VENV="$dv"
    ACT_DIST_PY="$dv/bin/python3"
    case ":$PATH:" in *":$dv/bin:"*) ;; *) PATH="$dv/bin:$PATH" ;; esac
    export PATH
}

# zig's name for a Rust target (glibc targets pinned to 2.17, manylinux2014's floor).
_act_zig_triple() {
    case "$1" in
        x86_64-unknown-linux-gnu) echo x86_64-linux-gnu.2.17 ;;
        aarch64-unknown-linux-gnu) echo aarch64-linux-gnu.2.17 ;;
        x86_64-unknown-linux-musl) echo x86_64-linux-musl ;;
        aarch64-unknown-linux-musl) echo aarch64-linux-musl ;;
        *) echo "dist-native: no zig target for $1 (Linux gnu/musl x86_64/aarch64 only)" >&2; return 1 ;;
    esac
}

# _act_write FILE CONTENT: writes an executable script only when its content changed.
_act_write() {
    if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
        printf '%s\n' "$2" >"$1"
        chmod +x "$1"
    fi
}

# act_native_env TARGET: exports the linker, C compiler and archiver cargo and the cc crate use for
# TARGET (all zig), and for musl targets' libraries a dynamically linked C runtime (a cdylib cannot
# be built against static musl; the CLI build overrides this back to static).
act_native_env() {
    local target=$1 zt w up lo zig_env
    act_dist_venv || return 1
    rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target" >&2 || return 1
    zt="$(_act_zig_triple "$target")" || return 1
    w="${CARGO_TARGET_DIR:-$_act_native_root/target}/zig/$target"
    mkdir -p "$w"
    zig_env="export CARGO_ZIGBUILD_ZIG_COMMAND='$ACT_DIST_PY'
export CARGO_ZIGBUILD_ZIG_COMMAND_ARGS='-m ziglang'"
    _act_write "$w/cc" "#!/bin/sh
$zig_env
exec '$ACT_DIST_VENV/bin/maturin' zig cc -- -g -fno-sanitize=all -target $zt \"\$@\""
    _act_write "$w/c++" "#!/bin/sh
$zig_env
exec '$ACT_DIST_VENV/bin/maturin' zig c++ -- -g -fno-sanitize=all -target $zt \"\$@\""
    _act_write "$w/ar" "#!/bin/sh
$zig_env
exec '$ACT_DIST_VENV/bin/maturin' zig ar -- \"\$@\""
    up="$(tr 'a-z-' 'A-Z_' <<<"$target")"
    lo="${target//-/_}"
    # The linker goes in through the target's rustflags, not CARGO_TARGET_<T>_LINKER: with --target,
    # cargo applies target.<host>.linker to host units too (build scripts, proc macros) whenever the
    # target is the host (x86_64-unknown-linux-gnu), but target rustflags never. The linker is part
    # of every unit's fingerprint, so linking the host units with zig in x86_64 builds and with cc
    # in the others made each `libs`/`cli` call after another target's call rebuild every build
    # script and proc macro, and with them every crate that uses one (serde, tokio, ...): `make
    # dist`'s later x86_64 calls recompiled. CARGO_LOG=cargo::core::compiler::fingerprint=info
    # names it: the build script's unit is "dirty: ConfigSettingsChanged", then its dependents
    # "StaleDependency". With the linker in the rustflags the host units use the default linker in
    # every call and are shared by every target; a repeat call is a no-op in any order.
    # RUSTFLAGS / CARGO_ENCODED_RUSTFLAGS would replace the target's rustflags (and drop the
    # linker), so they are cleared: this script owns the flags of these builds.
    unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS "CARGO_TARGET_${up}_LINKER"
    local flags="-C linker=$w/cc"
    case "$target" in
        *-musl) flags="$flags -C target-feature=-crt-static" ;;
    esac
    export "CARGO_TARGET_${up}_RUSTFLAGS=$flags" "CC_${lo}=$w/cc" "CXX_${lo}=$w/c++" "AR_${lo}=$w/ar"
    # pyo3's build script reruns when these change; PYO3_PYTHON below names the interpreter.
    unset VIRTUAL_ENV CONDA_PREFIX
    # No sccache here: the cc crate would wrap the C compiler (zig) in it too, and sccache cannot
    # run the zig wrapper (ring's C code fails to build). Cargo's own fingerprints still make a
    # second build of the same tree a no-op.
    unset RUSTC_WRAPPER
    # pyo3: build an extension module (no libpython link), for the stable ABI of CPython >= 3.9.
    export PYO3_BUILD_EXTENSION_MODULE=1 PYO3_PYTHON="$ACT_DIST_PY"
}

_act_release_dir() { echo "${CARGO_TARGET_DIR:-$_act_native_root/target}/$1/release"; }

# The libraries are stripped of symbols except act-uniffi's: uniffi-bindgen reads the interface from
# its UNIFFI_META_* entries in the symbol table (library mode), and zig's linker drops the whole
# symbol table when rustc asks it to strip debug info only (the release profile's
# strip = "debuginfo"), so act-uniffi is not stripped at all. Package overrides change only those
# crates' own units.
_act_libs() {
    local target=$1
    act_native_env "$target" || return 1
    echo "dist-native: cargo build --release --target $target -p act-python -p act-node -p act-uniffi" >&2
    (cd "$_act_native_root" && cargo build --release --locked --target "$target" \
        --config 'profile.release.package.act-python.strip="symbols"' \
        --config 'profile.release.package.act-node.strip="symbols"' \
        --config 'profile.release.package.act-uniffi.strip="none"' \
        -p act-python -p act-node -p act-uniffi) >&2 || return 1
    _act_release_dir "$target"
}

_act_cli() {
    local target=$1 up
    act_native_env "$target" || return 1
    up="$(tr 'a-z-' 'A-Z_' <<<"$target")"
    case "$target" in
        *-musl)
            local var="CARGO_TARGET_${up}_RUSTFLAGS"
            export "$var=${!var/-crt-static/+crt-static}" ;;
    esac
    echo "dist-native: cargo build --release --target $target -p act-cli" >&2
    (cd "$_act_native_root" && cargo build --release --locked --target "$target" \
        --config 'profile.release.package.act-cli.strip="symbols"' -p act-cli) >&2 || return 1
    echo "$(_act_release_dir "$target")/act"
}

# _act_check FILE TARGET: the architecture file(1) reports, and the C library contract.
_act_check() {
    local file=$1 target=$2 desc arch max
    command -v file >/dev/null || { echo "dist-native: file(1) is missing (apt-get install file)" >&2; return 1; }
    desc="$(file -L "$file")"
    case "$target" in
        x86_64-*) arch="x86-64" ;;
        aarch64-*) arch="ARM aarch64" ;;
    esac
    grep -q "$arch" <<<"$desc" || { echo "dist-native: $file is not $arch: $desc" >&2; return 1; }
    case "$target" in
        *-gnu)
            # The highest GLIBC_x.y symbol version the file references.
            # (readelf reads every architecture's ELF; the host's objdump would not.)
            max="$(readelf --version-info -W "$file" | grep -Eo 'GLIBC_[0-9]+\.[0-9]+' | sort -V -u | tail -n 1)"
            if [ -n "$max" ] && [ "$(printf '%s\nGLIBC_2.17\n' "$max" | sort -V | tail -n 1)" != GLIBC_2.17 ]; then
                echo "dist-native: $file needs $max (> GLIBC_2.17)" >&2
                return 1
            fi
            echo "dist-native: $(basename "$file"): $arch, glibc symbols <= ${max:-none}" >&2 ;;
        *-musl)
            if [[ "$file" != *.so && "$file" != *.node ]]; then
                grep -Eq 'statically linked|static-pie linked' <<<"$desc" \
                    || { echo "dist-native: $file is not static: $desc" >&2; return 1; }
            else
                if readelf --version-info -W "$file" | grep -q 'GLIBC_'; then
                    echo "dist-native: $file (musl) references glibc symbol versions" >&2
                    return 1
                fi
                # A musl library loads where only musl's libc.so is: nothing else may be NEEDED.
                local needed
                needed="$(readelf -d "$file" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
                [ "$needed" = "libc.so " ] || { echo "dist-native: $file (musl) needs more than libc.so: $needed" >&2; return 1; }
                desc="$desc; needs only libc.so, no glibc symbol versions"
            fi
            echo "dist-native: $(basename "$file"): $desc" >&2 ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    case "${1:-}" in
        libs) _act_libs "$2" ;;
        cli) _act_cli "$2" ;;
        check) _act_check "$2" "$3" ;;
        *) echo "usage: $0 libs TARGET | cli TARGET | check FILE TARGET" >&2; exit 2 ;;
    esac
fi
