#!/usr/bin/env python3
"""Writes tests/vectors/approval_requests.json: what the approver sees is what gets approved
(issue 15). Each step's `expect.approval_request` pins the argument values an approval request
carries (`context`, after the policy's redaction), their RFC 8785 hash (`context_hash`), every
approval rule that fired (`conditions`) and the delegation chain (`chain`, root first).
A redacted value's digest depends on the token id (random per token), so redacted fields are
named in `context_redacted` (the value must be a `[redacted:...]` string) instead of pinned.
Run: python3 tests/vectors/tools/approval_requests.py"""

import base64
import hashlib
import json

import vectorlib
from vectorlib import write

BOT = "customer-support-bot"
RES = "order://customer:42/1001"

POLICY = f"""agent: {BOT}
policy:
  actions: [process_refund]
  resources: ["order://customer:{{{{authenticated_user_id}}}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
      requireApproval: amount > 100
      requireSecondApproval: risk > 5
  audit:
    redact: [card_number, customer.ssn]
"""


def jcs(value):
    """RFC 8785 for the values these vectors use (ASCII keys, strings, integers, objects):
    sorted keys, no whitespace, JSON string escaping."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def context_hash(context):
    """core/src/approval.rs `context_hash`: SHA-256 over length-prefixed parts, base64url."""
    h = hashlib.sha256()
    for part in ("act-context-jcs-v1", jcs(context)):
        data = part.encode()
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode()


def cond(rule, condition):
    return {"constraint": f"{BOT}/process_refund/{rule}", "condition": condition}


FIRST = cond("requireApproval", "amount > 100")
SECOND = cond("requireSecondApproval", "risk > 5")


def step(name, sent, token="alice", **request):
    return {
        "name": name,
        "token": token,
        "action": "process_refund",
        "resource": RES,
        "context": sent,
        "expect": {"outcome": "approval_required", "reason": "approval_required", "approval_request": request},
    }


def suite(name, description, steps, tokens=None):
    return vectorlib.suite(name, description, POLICY, tokens or vectorlib.alice(BOT), steps)


plain = {"amount": 120, "risk": 1, "note": "damaged in transit", "items": [{"sku": "A-1", "qty": 2}]}
redacted = {
    "amount": 120,
    "risk": 1,
    "card_number": "4111111111111111",
    "customer": {"ssn": "078-05-1120", "tier": "gold"},
}
both = {"amount": 150, "risk": 7}

suites = [
    suite(
        "an approval request carries the argument values and their canonical hash",
        "context is the request's context (nothing to redact here); context_hash is SHA-256 over its RFC 8785 form",
        [
            step(
                "every value, nested ones included, with the hash over exactly them",
                plain,
                context=plain,
                context_hash=context_hash(plain),
                conditions=[FIRST],
                chain=[BOT],
            ),
            step(
                "key order does not change the hash (canonical form)",
                {"items": [{"qty": 2, "sku": "A-1"}], "risk": 1, "note": "damaged in transit", "amount": 120},
                context=plain,
                context_hash=context_hash(plain),
            ),
        ],
    ),
    suite(
        "redacted values reach the approver as digests, nested paths included",
        "audit.redact [card_number, customer.ssn]: the approver sees every other value as sent",
        [
            step(
                "card_number and customer.ssn are digests; amount and customer.tier are shown",
                redacted,
                context={"amount": 120, "risk": 1, "customer": {"tier": "gold"}},
                context_redacted=["card_number", "customer.ssn"],
                conditions=[FIRST],
            ),
        ],
    ),
    suite(
        "every approval rule that fired is on the request, in policy order",
        "requireApproval and requireSecondApproval both hold: one request names both",
        [
            step("both rules", both, context=both, context_hash=context_hash(both), conditions=[FIRST, SECOND]),
            step("only the second rule", {"amount": 50, "risk": 9}, conditions=[SECOND]),
        ],
    ),
    suite(
        "a delegated agent's request names the chain, root first",
        "the sub-agent asks; the approver sees on whose behalf",
        [step("the child's request", {"amount": 120, "risk": 1}, token="child", chain=[BOT, "refund-worker"])],
        tokens={
            "parent": {"issue": {"agent": BOT, "user_context": {"user_id": "42"}, "holder": "holder", "ttl": 7200}},
            "child": {
                "delegate": {
                    "parent": "parent",
                    "holder": "holder",
                    "agent": "refund-worker",
                    "ttl": 600,
                    "policy": {
                        "actions": ["process_refund"],
                        "resources": ["order://customer:{{authenticated_user_id}}/*"],
                    },
                }
            },
        },
    ),
]

path = write("approval_requests.json", suites)
print(f"wrote {path}: {len(suites)} suites")
