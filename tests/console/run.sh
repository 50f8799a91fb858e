#!/usr/bin/env bash
# The console's end-to-end suite: Debian's chromium driven by Playwright's Python package
# (pointed at /usr/bin/chromium; Playwright's own browser downloads are never used), against a
# real `act server` subprocess on loopback, with act_sdk as the agent.
#   tests/console/run.sh        (from anywhere; installs chromium with apt when missing)
# The virtualenv (playwright, pytest, act_sdk built from source) lives in target/console-venv.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! [ -x /usr/bin/chromium ]; then
    echo "=== installing chromium (Debian package)"
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi

export ACT_PY_VENV="${ACT_CONSOLE_VENV:-$root/target/console-venv}"
# shellcheck source=../../scripts/python-env.sh
source "$root/scripts/python-env.sh"
act_python_env "playwright>=1.49,<2" "pytest>=8,<10"
# Never fetch Playwright's bundled browsers: the suite drives the system chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

(cd "$root" && cargo build --quiet -p act-cli)
export ACT_BIN="$root/target/debug/act"

cd "$here"
"$ACT_PY" -m pytest -q -p no:cacheprovider test_console_browser.py "$@"
