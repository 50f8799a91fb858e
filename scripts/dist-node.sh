#!/usr/bin/env bash
# The npm packages of act-sdk, napi-rs layout: one package per platform carrying the addon
# (@act-sdk/<platform>, from node/npm/<platform>/) and the main act-sdk package (node/), which
# lists every platform package as an optionalDependency at the same version. npm installs only the
# platform package whose os/cpu/libc match the machine; node/native.js loads it.
#
#   scripts/dist-node.sh addon TARGET          the addon for a Rust target (scripts/dist-native.sh
#                                              libs: the same cargo invocation as the wheel's
#                                              extension); prints its path
#   scripts/dist-node.sh pack OUT TARGET...    `npm pack` of the main package and of each
#                                              TARGET's platform package into OUT; prints the paths
#   scripts/dist-node.sh check TARBALL TARGET  the addon in a platform tarball: architecture, glibc floor
#   scripts/dist-node.sh platform TARGET       the npm platform name of a Rust target (linux-x64-gnu)
#
# Why the optionalDependencies are written at pack time, not in node/package.json: `npm ci` in a
# clone (development, CI) would otherwise need the platform packages on the registry before they
# are published, and package-lock.json would pin one machine's choice. The packed package.json is
# the only one users see. Packing copies node/ first: the repository's folder is never modified.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The npm platform name of a Rust target (node/npm/<name>/).
platform_of() {
    case "$1" in
        x86_64-unknown-linux-gnu) echo linux-x64-gnu ;;
        aarch64-unknown-linux-gnu) echo linux-arm64-gnu ;;
        x86_64-unknown-linux-musl) echo linux-x64-musl ;;
        *) echo "dist-node: no npm platform package for $1" >&2; return 1 ;;
    esac
}

addon() {
    local libdir
    libdir="$("$root/scripts/dist-native.sh" libs "$1")"
    echo "$libdir/libact_node.so"
}

pack() {
    local out=$1; shift
    mkdir -p "$out"
    out="$(cd "$out" && pwd)"
    local stage; stage="$(mktemp -d)"
    local target plat lib
    for target in "$@"; do
        plat="$(platform_of "$target")"
        lib="$(addon "$target")"
        mkdir -p "$stage/$plat"
        cp "$root/node/npm/$plat/package.json" "$root/node/npm/$plat/README.md" "$stage/$plat/"
        cp "$lib" "$stage/$plat/act-sdk.$plat.node"
        (cd "$stage/$plat" && npm pack --silent --pack-destination "$out" >/dev/null)
        ls "$out"/act-sdk-"$plat"-*.tgz
    done
    # The main package: what its package.json "files" lists, no addon of its own.
    mkdir -p "$stage/main"
    (cd "$root/node" && tar -cf - --exclude='*.node' --exclude=node_modules .) | tar -xf - -C "$stage/main"
    rm -f "$stage/main"/*.node
    node -e '
        const fs = require("node:fs")
        const [file, npmDir] = process.argv.slice(1)
        const pkg = JSON.parse(fs.readFileSync(file, "utf8"))
        pkg.files = pkg.files.filter((f) => !f.endsWith(".node"))
        pkg.optionalDependencies = {}
        for (const plat of fs.readdirSync(npmDir).sort()) {
          const p = JSON.parse(fs.readFileSync(`${npmDir}/${plat}/package.json`, "utf8"))
          if (p.version !== pkg.version) throw new Error(`${p.name} is ${p.version}, act-sdk is ${pkg.version}`)
          pkg.optionalDependencies[p.name] = p.version
        }
        fs.writeFileSync(file, `${JSON.stringify(pkg, null, 2)}\n`)
    ' "$stage/main/package.json" "$root/node/npm"
    (cd "$stage/main" && npm pack --silent --pack-destination "$out" >/dev/null)
    rm -rf "$stage"
    ls "$out"/act-sdk-[0-9]*.tgz
}

check() {
    local tarball=$1 target=$2 plat tmp
    plat="$(platform_of "$target")"
    tmp="$(mktemp -d)"
    tar -xzf "$tarball" -C "$tmp"
    [ -f "$tmp/package/act-sdk.$plat.node" ] || { echo "dist-node: $tarball has no act-sdk.$plat.node" >&2; return 1; }
    "$root/scripts/dist-native.sh" check "$tmp/package/act-sdk.$plat.node" "$target"
    rm -rf "$tmp"
}

case "${1:-}" in
    addon) addon "$2" ;;
    platform) platform_of "$2" ;;
    pack) shift; pack "$@" ;;
    check) check "$2" "$3" ;;
    *) echo "usage: $0 addon TARGET | platform TARGET | pack OUT TARGET... | check TARBALL TARGET" >&2; exit 2 ;;
esac
