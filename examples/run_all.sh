#!/usr/bin/env bash
# Runs every example agent and prints "N passed, M failed" (the line scripts/test-all.sh counts).
# Each agent exits 1 when any decision differs from the outcome written next to its call.
# A last check runs the customer-support agent on a changed policy and requires it to fail,
# so a passing run means the scripts really compare decisions.
#   examples/run_all.sh        (builds act_sdk into python/.venv first, see scripts/python-env.sh)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=../scripts/python-env.sh
source "$here/../scripts/python-env.sh"
act_python_env || exit 1

passed=0
failed=0
log="$(mktemp)"
changed="$(mktemp --suffix=.yaml)"
trap 'rm -f "$log" "$changed"' EXIT

for example in customer_support email_assistant sales_assistant trading_bot sub_agent; do
    "$ACT_PY" "$here/$example/agent.py" >"$log" 2>&1
    status=$?
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS examples/$example: $(tail -n 1 "$log")"
    else
        failed=$((failed + 1))
        cat "$log"
        echo "FAIL examples/$example (exit status $status)"
    fi
done

# The same agent on a policy whose refund cap is $100: the $120 refund it expects to need an
# approval is now denied, so it must report the difference and exit 1.
sed 's/maxAmount: 500/maxAmount: 100/' "$here/customer_support/policies.yaml" >"$changed"
"$ACT_PY" "$here/customer_support/agent.py" "$changed" >"$log" 2>&1
status=$?
if [ "$status" -eq 1 ] && grep -q "expected approval_required (requireSecondApproval), got constraint_failed (maxAmount)" "$log"; then
    passed=$((passed + 1))
    echo "PASS examples/customer_support on a changed policy: exits 1 naming the decision that differs"
else
    failed=$((failed + 1))
    cat "$log"
    echo "FAIL examples/customer_support on a changed policy: exit status $status, or no report of the differing decision"
fi

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
