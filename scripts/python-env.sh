#!/usr/bin/env bash
# The Python environment act-sdk is built and used in, shared by `make demo`, python/run_tests.sh
# and examples/run_all.sh: a virtualenv (ACT_PY_VENV, default python/.venv, recreated when
# broken) with maturin, and act_sdk built from source into it (`maturin develop --release`,
# editable). Needs python3 >= 3.9 with venv, and a Rust toolchain.
#
#   scripts/python-env.sh                  set up (or bring up to date) the venv
#   scripts/python-env.sh CMD [ARG...]     then run CMD with the venv's bin/ first on PATH
#   source scripts/python-env.sh           from bash: defines act_python_env [PIP_REQUIREMENT...],
#                                          which sets up the venv (with those extra packages) and
#                                          sets ACT_PY_VENV and ACT_PY (its python)

_act_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

act_python_env() {
    local venv="${ACT_PY_VENV:-$_act_root/python/.venv}"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sys" >/dev/null 2>&1; then
        rm -rf "$venv"
        python3 -m venv "$venv" || { echo "python-env: cannot create a virtualenv at $venv" >&2; return 1; }
    fi
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" "$@" \
        || { echo "python-env: pip install failed" >&2; return 1; }
    # maturin develop needs VIRTUAL_ENV to find the venv; it builds bindings/python (PyO3) in
    # release mode. Its chatter is shown only when it fails.
    echo "python-env: building act_sdk into $venv (maturin develop --release; minutes the first time)" >&2
    local log
    log="$(mktemp)"
    if ! (cd "$_act_root/python" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --release --quiet) >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "python-env: building act_sdk with maturin failed" >&2
        return 1
    fi
    rm -f "$log"
    ACT_PY_VENV="$venv"
    ACT_PY="$venv/bin/python"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    act_python_env
    if [ $# -gt 0 ]; then
        PATH="$ACT_PY_VENV/bin:$PATH" VIRTUAL_ENV="$ACT_PY_VENV" exec "$@"
    fi
fi
