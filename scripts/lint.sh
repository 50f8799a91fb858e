#!/usr/bin/env bash
# `make lint`: every formatter in check mode and every linter, failing on any finding.
#   Rust:   cargo fmt --check (the workspace, fuzz/, bench/peers/ and bench/server/), cargo clippy -D warnings
#           (lints in Cargo.toml [workspace.lints] and core/src/lib.rs)
#   Python: ruff format --check, ruff check (ruff.toml), ruff pinned in a venv under target/
#   JS/TS:  Biome (node/biome.jsonc), the version pinned in node/package.json
# Runs every check even after a failure and names the ones that failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
RUFF_VERSION=0.17.6
failed=()

check() {
  local name=$1; shift
  echo "== $name: $*"
  if ! "$@"; then failed+=("$name"); fi
}

check rustfmt cargo fmt --all --check
check rustfmt-fuzz cargo fmt --all --check --manifest-path fuzz/Cargo.toml
check rustfmt-bench cargo fmt --all --check --manifest-path bench/peers/Cargo.toml
check rustfmt-bench-server cargo fmt --all --check --manifest-path bench/server/Cargo.toml
check clippy cargo clippy --workspace --all-targets --locked -- -D warnings

venv=$root/target/lint-venv
if [ ! -x "$venv/bin/ruff" ] || [ "$("$venv/bin/ruff" --version 2>/dev/null)" != "ruff $RUFF_VERSION" ]; then
  echo "== installing ruff $RUFF_VERSION into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" && "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ruff==$RUFF_VERSION" \
    || failed+=("ruff-install")
fi
check ruff-format "$venv/bin/ruff" format --check .
check ruff "$venv/bin/ruff" check .

if [ ! -x node/node_modules/.bin/biome ]; then
  echo "== npm ci (node/, for Biome)"
  (cd node && npm ci --no-audit --no-fund --silent) || failed+=("npm-ci")
fi
check biome bash -c 'cd node && node_modules/.bin/biome check --error-on-warnings .'

if [ ${#failed[@]} -ne 0 ]; then
  echo "lint: FAILED: ${failed[*]}"
  exit 1
fi
echo "lint: every check passed"
