#!/usr/bin/env bash
# Regenerates docs/console/*.png (one screenshot per console page) with scripts/console_screenshots.py,
# in the console suite's environment: Debian's chromium, target/console-venv with act_sdk and
# Playwright, and a freshly built `act`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! [ -x /usr/bin/chromium ]; then
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
export ACT_PY_VENV="${ACT_CONSOLE_VENV:-$root/target/console-venv}" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# shellcheck source=python-env.sh
source "$root/scripts/python-env.sh"
act_python_env "playwright>=1.49,<2" "pytest>=8,<10"
(cd "$root" && cargo build --quiet -p act-cli)
ACT_BIN="$root/target/debug/act" "$ACT_PY" "$root/scripts/console_screenshots.py"
