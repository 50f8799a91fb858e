#!/usr/bin/env bash
# `make dist`: the artifacts a user installs without Rust, built into dist/ (emptied first):
#   dist/act_sdk-<v>-cp39-abi3-manylinux2014_x86_64...whl   abi3 wheel, CPython >= 3.9, < 6 MB
#   dist/act_sdk-<v>.tar.gz                                 the sdist (builds from source, needs Rust)
# The wheel is checked as it is made (auditwheel show, size). The sdist carries act_sdk/, the
# bindings/python crate and act-core; `pip install` of it (a release build from nothing) is not
# exercised here yet.
# Not built here yet (see .github/workflows/release.yml for the hosted runners): the static musl
# CLI, aarch64 Linux, musllinux wheels, the npm platform packages, the JVM jar with natives, macOS
# and Windows.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$root/dist"
rm -rf "$dist"
mkdir -p "$dist"
started=$SECONDS

step() { echo "== dist: $*" >&2; }

step "Python wheel (host)"
t=$SECONDS
wheel="$("$root/scripts/dist-python.sh" wheel)"
"$root/scripts/dist-python.sh" check "$wheel"
cp "$wheel" "$dist/"
echo "dist: wheel took $((SECONDS - t))s" >&2

step "Python sdist"
sdist="$("$root/scripts/dist-python.sh" sdist)"
cp "$sdist" "$dist/"

echo "dist: done in $((SECONDS - started))s:" >&2
ls -l "$dist" >&2
