#!/usr/bin/env bash
# The static `act` CLI as users get it from `make dist` (dist/cli/act-<v>-x86_64-linux-musl): built
# for x86_64-unknown-linux-musl by scripts/dist-native.sh (static, zig as the linker), then
#   - file(1) says static x86-64 (scripts/dist-native.sh check) and readelf finds no dynamic section;
#   - it runs with an empty environment (no PATH, no cargo, no loader paths) and `act --version`
#     names the workspace version;
#   - `act policy check` accepts every example agent's policy folder (exit 0, names the agent);
#   - a policy with an unknown key exits 4 with `file:line:col: key: message`, one that is not
#     YAML exits 3, a missing path exits 5 (the exit codes `act --help` documents).
# Prints "N passed, M failed" (scripts/test-all.sh counts it). `cli-static.sh BINARY` checks a
# binary already built (dist/cli/...) instead of building one.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target=x86_64-unknown-linux-musl
if [ $# -ge 1 ]; then
    act="$1"
else
    echo "== building the static act CLI for $target (scripts/dist-native.sh cli)"
    act="$("$root/scripts/dist-native.sh" cli "$target")" || { echo "0 passed, 1 failed"; exit 1; }
fi
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)"
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# run ARGS...: the binary with no environment at all (a static binary needs none); sets out, code.
run() {
    out="$(env -i "$act" "$@" 2>&1)"
    code=$?
}

if "$root/scripts/dist-native.sh" check "$act" "$target" 2>&1 && ! readelf -d "$act" 2>/dev/null | grep -q NEEDED; then
    ok "static x86-64 executable, no shared library needed"
else
    fail "static" "$(file -L "$act")"
fi

run --version
if [ "$code" -eq 0 ] && [ "$out" = "act $version" ]; then ok "act --version: $out"; else fail "--version" "exit $code: $out"; fi

for dir in "$root"/examples/*/; do
    [ -f "$dir/policies.yaml" ] || continue
    name="examples/$(basename "$dir")"
    agent="$(sed -n 's/^agent: *//p' "$dir/policies.yaml" | head -n 1)"
    run policy check "$dir"
    if [ "$code" -eq 0 ] && grep -q "^ok: 1 agent(s): $agent$" <<<"$out"; then
        ok "policy check $name: $out"
    else
        fail "policy check $name" "exit $code: $out"
    fi
done

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/unknown-key" "$scratch/not-yaml"
cat >"$scratch/unknown-key/policies.yaml" <<'YAML'
agent: broken-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://*"]
  constraints:
    refunds:
      maxAmmount: 500
YAML
printf 'agent: broken-bot\npolicy: [unclosed\n' >"$scratch/not-yaml/policies.yaml"

run policy check "$scratch/unknown-key"
if [ "$code" -eq 4 ] && grep -Eq "policies\.yaml:7:[0-9]+: .*maxAmmount" <<<"$out"; then
    ok "unknown key: exit 4, $(head -n 1 <<<"$out")"
else
    fail "unknown key" "exit $code (want 4 and a file:7:col line naming maxAmmount): $out"
fi

run policy check "$scratch/not-yaml"
if [ "$code" -eq 3 ] && grep -q "policies\.yaml:" <<<"$out"; then
    ok "not YAML: exit 3, $(head -n 1 <<<"$out")"
else
    fail "not YAML" "exit $code (want 3 and the file named): $out"
fi

run policy check "$scratch/missing"
if [ "$code" -eq 5 ]; then ok "missing path: exit 5"; else fail "missing path" "exit $code (want 5): $out"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
