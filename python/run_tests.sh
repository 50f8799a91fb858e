#!/usr/bin/env bash
# Builds act-sdk from source in a fresh virtualenv and runs its checks and tests.
#   python/run_tests.sh            (from anywhere; needs python3 >= 3.9 and a Rust toolchain)
# ACT_PY_VENV chooses the virtualenv (default: python/.venv, recreated when broken).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
venv="${ACT_PY_VENV:-$here/.venv}"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sys" >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
fi
py="$venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" pytest pyjwt cryptography mypy

# Build the extension in release mode and install the package (editable) into the venv.
# maturin develop needs VIRTUAL_ENV to find the venv.
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --release --quiet

# The control-endpoint tests run a real `act serve`.
(cd "$here/.." && cargo build --quiet -p act-cli)
export ACT_BIN="$here/../target/debug/act"

echo "== stubs: mypy.stubtest and mypy --strict"
"$py" -m mypy.stubtest act_sdk --allowlist stubtest-allowlist.txt
"$py" -m mypy --strict act_sdk tests/typing_usage.py

echo "== pytest"
set +e
"$py" -m pytest -q -p no:cacheprovider tests "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
