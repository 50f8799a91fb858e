"""The core's Decision fields as Python reads them: the shadow outcome, the approver's view of an
approval request (context, hash, every condition, the chain), sealing a delegated token."""

from __future__ import annotations

from pathlib import Path

import pytest
from act_sdk import ACT, ApprovalCondition, ConfigError, ShadowOutcome, SigningKey, TokenError

ORDER = "order://customer:42/1001"

SHADOW_POLICY = """\
agent: customer-support-bot
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
---
agent: customer-support-bot
shadow: true
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 100
"""


def test_the_shadow_outcome_rides_on_the_decision_and_is_none_without_one(tmp_path: Path, act: ACT) -> None:
    policy = tmp_path / "shadow.yaml"
    policy.write_text(SHADOW_POLICY)
    with ACT(policy_file=policy, signing_key=SigningKey.generate()) as shadowed:
        token = shadowed.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
        d = shadowed.validate(token=token, action="process_refund", resource=ORDER, context={"amount": 120})
        assert d.allowed
        s = d.shadow
        assert isinstance(s, ShadowOutcome)
        assert (s.outcome, s.reason, s.rule) == ("deny", "constraint_failed", "customer-support-bot")
        assert "amount <= 100" in s.message and s.constraint
        assert d.to_dict()["shadow"]["outcome"] == "deny"
    alice = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    assert act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 50}).shadow is None


def test_the_approval_request_carries_the_approvers_view(act: ACT) -> None:
    holder = SigningKey.generate()
    parent = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, holder_key=holder.public_key)
    child = act.delegate(
        parent,
        holder_key=holder,
        agent="refund-subagent",
        ttl=300,
        policy={"actions": ["process_refund"], "resources": ["order://customer:42/*"]},
    )
    context = {"amount": 120, "note": "damaged", "items": [1, 2]}
    d = act.validate(token=child, action="process_refund", resource=ORDER, context=context)
    assert d.outcome == "approval_required"
    r = d.approval_request
    assert r is not None
    assert r.context == context
    assert r.context_hash and r.chain == ["customer-support-bot", "refund-subagent"]
    assert r.conditions and all(isinstance(c, ApprovalCondition) for c in r.conditions)
    assert (r.conditions[0].constraint, r.conditions[0].condition) == (r.constraint, "amount > 100")
    as_dict = r.to_dict()
    assert as_dict["context"] == context and as_dict["chain"] == r.chain
    assert as_dict["conditions"] == [{"constraint": c.constraint, "condition": c.condition} for c in r.conditions]
    approval = act.approve(r, approver="supervisor@example.com", ttl=600)
    again = act.validate(token=child, action="process_refund", resource=ORDER, context=context, approval=approval)
    assert again.reason == "approved"


def test_a_delegated_token_with_a_next_holder_acts_only_once_sealed(act: ACT) -> None:
    holder, sub = SigningKey.generate(), SigningKey.generate()
    parent = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, holder_key=holder.public_key)
    child = act.delegate(
        parent,
        holder_key=holder,
        agent="lookup-subagent",
        ttl=300,
        policy={"actions": ["read_order"], "resources": ["order://customer:42/*"]},
        next_holder_key=sub.public_key,
    )
    assert act.validate(token=child, action="read_order", resource=ORDER, context={"rows": 1}).reason == (
        "delegation_unsealed"
    )
    sealed = act.seal(child, holder_key=sub, ttl=60)
    assert act.validate(token=sealed, action="read_order", resource=ORDER, context={"rows": 1}).allowed
    with pytest.raises(TokenError):
        act.seal(child, holder_key=SigningKey.generate(), ttl=60)
    with pytest.raises(ConfigError):
        act.seal(child, holder_key=sub, ttl=0)
    with pytest.raises(TypeError):
        act.seal(child, holder_key=sub.public_key, ttl=60)  # type: ignore[arg-type]


def test_context_limits_are_the_cores(act: ACT) -> None:
    import act_sdk._native as native  # noqa: F401  (the limits are documented in docs/python.md)

    alice = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    with pytest.raises(ConfigError, match=r"context\['rows'\]|context\[\"rows\"\].* more than 100000 values"):
        act.check(token=alice, action="read_order", resource=ORDER, context={"rows": [0] * 100_000})
    deep: object = 1
    for _ in range(65):
        deep = [deep]
    with pytest.raises(ConfigError, match="nests deeper than 64"):
        act.check(token=alice, action="read_order", resource=ORDER, context={"x": deep})
    ok = act.check(token=alice, action="read_order", resource=ORDER, context={"rows": 1, "tags": [0] * 1000})
    assert ok.allowed
