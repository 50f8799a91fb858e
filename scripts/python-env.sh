#!/usr/bin/env bash
# The Python environment act-sdk is built and used in, shared by `make demo`, python/run_tests.sh,
# examples/run_all.sh and the console suite: a virtualenv (ACT_PY_VENV, default python/.venv,
# recreated when broken) with the act-sdk *wheel* installed in it, the same artifact a user
# installs (scripts/dist-python.sh builds it: abi3, manylinux2014, stripped). No editable install:
# the tests exercise what ships. Needs python3 >= 3.9 with venv, and a Rust toolchain to build the
# wheel; ACT_PY_WHEEL=path/to.whl installs that wheel instead and builds nothing.
#
#   scripts/python-env.sh                  set up (or bring up to date) the venv
#   scripts/python-env.sh CMD [ARG...]     then run CMD with the venv's bin/ first on PATH
#   source scripts/python-env.sh           from bash: defines act_python_env [PIP_REQUIREMENT...],
#                                          which sets up the venv (with those extra packages) and
#                                          sets ACT_PY_VENV, ACT_PY (its python) and ACT_PY_WHEEL

# shellcheck disable=SC2034,SC2119,SC2120 # ACT_PY* are read by the scripts that source this file
_act_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

act_python_env() {
    local venv="${ACT_PY_VENV:-$_act_root/python/.venv}"
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import sys" >/dev/null 2>&1; then
        rm -rf "$venv"
        python3 -m venv "$venv" || { echo "python-env: cannot create a virtualenv at $venv" >&2; return 1; }
    fi
    if [ $# -gt 0 ]; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" \
            || { echo "python-env: pip install failed" >&2; return 1; }
    fi
    local wheel="${ACT_PY_WHEEL:-}"
    if [ -z "$wheel" ]; then
        # After the first build this is a no-op for cargo (seconds): every suite of one CI run
        # shares one compilation.
        wheel="$("$_act_root/scripts/dist-python.sh" wheel)" || return 1
    fi
    # A leftover of the old editable installs (maturin develop) would shadow nothing here, but
    # would confuse anyone importing act_sdk from python/: the wheel is the one source of truth.
    rm -f "$_act_root"/python/act_sdk/_native*.so
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel" \
        || { echo "python-env: installing $wheel failed" >&2; return 1; }
    ACT_PY_VENV="$venv"
    ACT_PY="$venv/bin/python"
    ACT_PY_WHEEL="$wheel"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    act_python_env
    if [ $# -gt 0 ]; then
        PATH="$ACT_PY_VENV/bin:$PATH" VIRTUAL_ENV="$ACT_PY_VENV" exec "$@"
    fi
fi
