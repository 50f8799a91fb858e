"""Type-checked (mypy --strict) by run_tests.sh: the public API as users write it."""

import logging
from typing import List, Optional

from act_sdk import ACT, ActError, ApprovalRequired, Decision, Denied, PolicyError, SigningKey, VerifyingKey


def main(policy: str) -> None:
    key: SigningKey = SigningKey.generate()
    public: VerifyingKey = key.public_key
    with ACT(policy_file=policy, signing_key=key, audit=[logging.getLogger("act"), "audit.jsonl"]) as act:
        token: str = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, ttl=600)
        result: Decision = act.validate(
            token=token, action="process_refund", resource="order://customer:42/1", context={"amount": 120}
        )
        allowed: bool = result.allowed
        reason: str = result.reason
        rule: Optional[str] = result.rule
        if result.approval_request is not None:
            approval: str = act.approve(result.approval_request, approver="lead", ttl=600)
            act.validate(
                token=token,
                action="process_refund",
                resource="order://customer:42/1",
                context={"amount": 120},
                approval=approval,
            )
        version: int = act.reload()

        @act.guard(action="process_refund", resource="order://customer:42/{order_id}", token=token)
        def refund(order_id: str, amount: float) -> str:
            return order_id

        out: str = refund("1", 10.0)
        try:
            refund("1", 1000.0)
        except ApprovalRequired as e:
            print(e.approval_request.id)
        except Denied as e:
            print(e.code, e.decision.message)
        print(public.kid, allowed, reason, rule, version, out)
    try:
        ACT(policy_file="missing.yaml")
    except PolicyError as e:
        lines: List[int] = [d.line for d in e.diagnostics]
        print(lines)
    except ActError as e:
        print(e.code)
