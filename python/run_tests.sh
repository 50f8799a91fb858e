#!/usr/bin/env bash
# Builds act-sdk from source in a fresh virtualenv and runs its checks and tests.
#   python/run_tests.sh            (from anywhere; needs python3 >= 3.9 and a Rust toolchain)
# ACT_PY_VENV chooses the virtualenv (default: python/.venv, recreated when broken).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# The venv with maturin and the test tools, and the extension built in release mode and
# installed (editable): the same setup as `make demo` and examples/run_all.sh.
# shellcheck source=../scripts/python-env.sh
source "$here/../scripts/python-env.sh"
act_python_env pytest pyjwt cryptography mypy
py="$ACT_PY"
# The agent frameworks the guards in act_sdk/integrations are tested against (pinned: their hook APIs
# move). They need Python 3.11 (LangChain 1.x); on older Pythons the guards are left out, loudly.
without_frameworks=()
if "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    "$py" -m pip install --quiet --disable-pip-version-check mcp==2.3.0 openai-agents==0.24.0 langchain==1.5.0 \
        langchain-core==1.8.3 langgraph==1.2.24
else
    echo "python/run_tests.sh: Python < 3.11: act_sdk/integrations is NOT checked or tested (its tests skip)" >&2
    without_frameworks=(--exclude 'act_sdk/integrations/')
fi

# The control-endpoint tests run a real `act serve`.
(cd "$here/.." && cargo build --quiet -p act-cli)
export ACT_BIN="$here/../target/debug/act"

echo "== stubs: mypy.stubtest and mypy --strict"
if [ ${#without_frameworks[@]} -eq 0 ]; then
    "$py" -m mypy.stubtest act_sdk --allowlist stubtest-allowlist.txt
else
    "$py" -m mypy.stubtest act_sdk --allowlist stubtest-allowlist.txt --allowlist <(echo 'act_sdk\.integrations.*') \
        --ignore-unused-allowlist
fi
"$py" -m mypy --strict ${without_frameworks[@]+"${without_frameworks[@]}"} act_sdk tests/typing_usage.py

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
