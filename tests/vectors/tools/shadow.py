#!/usr/bin/env python3
"""Writes tests/vectors/shadow.json: shadow policies and shadow rules are never enforced (issue 19
item 3): what every language must enforce when a policy folder carries shadows, and (`expect.shadow`)
what the shadow would have decided. A shadow's own limits are read, never consumed (docs/policy.md),
so the limits suite pins only the enforced outcome.
Run: python3 tests/vectors/tools/shadow.py"""

import vectorlib
from vectorlib import register, write

BOT = "customer-support-bot"
RES = '["order://customer:{{authenticated_user_id}}/*"]'


def doc(constraints, shadow=False, actions="[process_refund]"):
    head = f"agent: {BOT}\n" + ("shadow: true\n" if shadow else "")
    body = "".join(f"      {c}\n" for c in constraints)
    return f"{head}policy:\n  actions: {actions}\n  resources: {RES}\n  constraints:\n    process_refund:\n{body}"


def step(name, outcome, reason, amount, action="process_refund", repeat=None, **expect):
    s = {
        "name": name,
        "token": "alice",
        "action": action,
        "resource": "order://customer:42/1",
        "context": {"amount": amount},
    }
    if repeat:
        s["repeat"] = repeat
    s["expect"] = {"outcome": outcome, "reason": reason, **expect}
    return s


def shadow(outcome, reason):
    """`expect.shadow`: what the shadow policy would have decided (recorded, not enforced)."""
    return {"outcome": outcome, "reason": reason}


def suite(name, description, policy, steps):
    return vectorlib.suite(name, description, policy, vectorlib.alice(BOT), steps)


def perr(name, policy, *needles):
    return vectorlib.perr(name, "", policy, *needles)


def main():
    strict = doc(["maxAmount: 500"]) + "---\n" + doc(["maxAmount: 100"], shadow=True)
    loose = doc(["maxAmount: 100"]) + "---\n" + doc(["maxAmount: 500"], shadow=True)
    limits = doc(["maxPerDay: 3"]) + "---\n" + doc(["maxPerDay: 1"], shadow=True)
    rule = (
        f"agent: {BOT}\npolicy:\n  - actions: [read_order]\n    resources: {RES}\n"
        f"  - actions: [process_refund]\n    resources: {RES}\n    shadow: true\n"
    )
    suites = [
        suite(
            "a stricter shadow policy does not deny",
            "enforced maxAmount 500, shadow maxAmount 100: a 120 refund is allowed (the shadow would deny it).",
            strict,
            [
                step(
                    "120 is allowed by the enforced policy",
                    "allow",
                    "allowed",
                    120,
                    shadow=shadow("deny", "constraint_failed"),
                ),
                step(
                    "700 is denied by the enforced policy",
                    "deny",
                    "constraint_failed",
                    700,
                    message_contains="amount <= 500",
                    shadow=shadow("deny", "constraint_failed"),
                ),
            ],
        ),
        suite(
            "a looser shadow policy does not allow",
            "enforced maxAmount 100, shadow maxAmount 500: a 120 refund is denied (the shadow would allow it).",
            loose,
            [
                step(
                    "120 is denied",
                    "deny",
                    "constraint_failed",
                    120,
                    message_contains="amount <= 100",
                    shadow=shadow("allow", "allowed"),
                )
            ],
        ),
        suite(
            "a shadow policy's limits neither deny nor consume",
            "enforced maxPerDay 3, shadow maxPerDay 1: three allowed, the fourth denied by the enforced limit.",
            limits,
            [
                step("three refunds", "allow", "allowed", 10, repeat=3),
                step("the fourth", "deny", "rate_limited", 10, constraint=f"{BOT}/process_refund/maxPerDay"),
            ],
        ),
        suite(
            "a shadow rule grants nothing",
            "the rule granting process_refund is marked shadow: refunds are not allowed; reads are.",
            rule,
            [
                step("a refund", "deny", "action_not_allowed", 10, shadow=shadow("allow", "allowed")),
                step("a read", "allow", "allowed", 0, action="read_order", shadow=shadow("allow", "allowed")),
            ],
        ),
        perr(
            "an agent has one shadow policy",
            strict + "---\n" + doc(["maxAmount: 50"], shadow=True),
            "has a shadow policy already",
        ),
        perr(
            "shadow is true or false",
            doc(["maxAmount: 5"]).replace("policy:", "shadow: maybe\npolicy:", 1),
            "expected true or false",
        ),
    ]
    write("shadow.json", suites, ensure_ascii=False)
    register("shadow.json")


if __name__ == "__main__":
    main()
