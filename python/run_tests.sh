#!/usr/bin/env bash
# Builds the act-sdk wheel (scripts/dist-python.sh: abi3, manylinux2014), installs it into a
# virtualenv and runs the checks and tests against the installed wheel, then installs the same
# wheel into a fresh virtualenv with no cargo/rustc on PATH and runs the conformance vectors there.
#   python/run_tests.sh            (from anywhere; needs python3 >= 3.9 and a Rust toolchain)
# ACT_PY_VENV chooses the virtualenv (default: python/.venv, recreated when broken);
# ACT_PY_WHEEL=path/to.whl tests that wheel instead of building one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# The venv with maturin and the test tools, and the wheel installed (not editable): the same
# setup as `make demo` and examples/run_all.sh. Tools run through their console scripts
# (venv/bin/pytest, venv/bin/stubtest), never `python -m` from here: that would put python/ first
# on sys.path, and the source act_sdk/ (which has no compiled _native) would shadow the wheel.
# shellcheck source=../scripts/python-env.sh
source "$here/../scripts/python-env.sh"
act_python_env pytest pyjwt cryptography mypy
py="$ACT_PY"
bin="$ACT_PY_VENV/bin"
wheel="$ACT_PY_WHEEL"

echo "== wheel: $(basename "$wheel") (size, auditwheel show)"
"$here/../scripts/dist-python.sh" check "$wheel"
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
    "$bin/stubtest" act_sdk --allowlist stubtest-allowlist.txt
else
    "$bin/stubtest" act_sdk --allowlist stubtest-allowlist.txt --allowlist <(echo 'act_sdk\.integrations.*') \
        --ignore-unused-allowlist
fi
"$py" -m mypy --strict ${without_frameworks[@]+"${without_frameworks[@]}"} act_sdk tests/typing_usage.py

# What a user gets: the wheel alone in a new virtualenv, no Rust toolchain reachable, no source
# tree on sys.path (run from a scratch folder). It runs before the main pytest, whose
# "N passed" line is the one scripts/test-all.sh counts.
echo "== the wheel alone: fresh virtualenv, no cargo/rustc on PATH, conformance vectors"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# bare_vectors PYTHON NAME: the wheel and pytest into a new venv made by PYTHON, then the vectors.
bare_vectors() {
    local venv="$scratch/$2"
    "$1" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" pytest
    local bare_path="$venv/bin:/usr/bin:/bin"
    if PATH="$bare_path" command -v cargo >/dev/null || PATH="$bare_path" command -v rustc >/dev/null; then
        echo "python/run_tests.sh: cargo or rustc is reachable on $bare_path: the check proves nothing" >&2
        exit 1
    fi
    echo "-- $("$venv/bin/python" --version)"
    (cd "$scratch" && env -u VIRTUAL_ENV -u PYTHONPATH PATH="$bare_path" ACT_VECTORS_DIR="$here/../tests/vectors" \
        pytest -q -p no:cacheprovider --rootdir "$scratch" "$here/tests/test_vectors.py")
}
bare_vectors python3 venv
# The lowest CPython the abi3 wheel claims (3.9), when this machine has one (pyenv's, or on PATH).
# (Not `command -v python3.9`: a pyenv shim answers it even where it cannot run.)
py39=""
for candidate in /usr/bin/python3.9 /usr/local/bin/python3.9 "$HOME"/.pyenv/versions/3.9.*/bin/python3.9; do
    if [ -x "$candidate" ]; then py39="$candidate"; fi
done
if [ -n "$py39" ]; then
    bare_vectors "$py39" venv39
else
    echo "python/run_tests.sh: no CPython 3.9 here: the wheel's lowest version is NOT tested" >&2
fi

echo "== pytest"
set +e
"$bin/pytest" -q -p no:cacheprovider tests "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: failing" >&2
    exit 1
fi
exit "$status"
