"""The article's customer-support scenario, end to end through the Python API."""

from act_sdk import ACT, Decision, SigningKey

ORDER = "order://customer:42/1001"


def test_refund_under_100_is_allowed(act: ACT, alice: str) -> None:
    result = act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 80})
    assert isinstance(result, Decision)
    assert result.allowed and bool(result)
    assert result.outcome == "allow" and result.reason == "allowed"
    assert result.rule == "customer-support-bot"
    assert result.agent == "customer-support-bot" and result.subject == "42"
    assert result.snapshot_version == 1
    assert result.audit_id  # logAllActions: true
    assert "Decision(outcome='allow'" in repr(result)


def test_refund_over_500_is_denied_naming_the_constraint(act: ACT, alice: str) -> None:
    result = act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 600})
    assert not result and result.outcome == "deny" and result.reason == "constraint_failed"
    assert result.constraint == "customer-support-bot/process_refund/maxAmount"
    assert "amount <= 500" in result.message


def test_other_customers_orders_are_out_of_reach(act: ACT, alice: str) -> None:
    result = act.validate(token=alice, action="read_order", resource="order://customer:43/1001")
    assert result.reason == "resource_not_allowed"


def test_admin_functions_are_not_granted(act: ACT, alice: str) -> None:
    assert act.validate(token=alice, action="delete_customer", resource=ORDER).reason == "action_not_allowed"


def test_large_refund_needs_a_human_then_passes_once(act: ACT, alice: str) -> None:
    ctx = {"amount": 120}
    first = act.validate(token=alice, action="process_refund", resource=ORDER, context=ctx)
    assert first.outcome == "approval_required" and first.reason == "approval_required"
    request = first.approval_request
    assert request is not None
    assert request.condition == "amount > 100" and request.resource == ORDER and request.action == "process_refund"
    assert request.to_dict()["id"] == request.id
    approval = act.approve(request, approver="supervisor@example.com", ttl=600)
    # The approval is bound to the exact request: another amount does not use it.
    other = act.validate(
        token=alice, action="process_refund", resource=ORDER, context={"amount": 130}, approval=approval
    )
    assert other.reason == "approval_invalid"
    ok = act.validate(token=alice, action="process_refund", resource=ORDER, context=ctx, approval=approval)
    assert ok.allowed and ok.reason == "approved"
    again = act.validate(token=alice, action="process_refund", resource=ORDER, context=ctx, approval=approval)
    assert again.reason == "approval_replayed"
    # Approving by id works too.
    assert act.approve(request.id, approver="supervisor", ttl=60).count(".") == 2


def test_five_refunds_a_day_then_rate_limited_until_tomorrow(act: ACT, alice: str, clock) -> None:
    for _ in range(5):
        assert act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 50}).allowed
    sixth = act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 50})
    assert sixth.reason == "rate_limited"
    assert sixth.constraint == "customer-support-bot/process_refund/maxPerDay"
    clock.advance_ms(86_400_000)
    assert act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 50}).allowed


def test_check_and_explain_do_not_consume_limits(act: ACT, alice: str) -> None:
    for _ in range(10):
        d = act.check(token=alice, action="process_refund", resource=ORDER, context={"amount": 50})
        assert d.allowed and d.audit_id == "" and d.trace is None
    explained = act.explain(token=alice, action="process_refund", resource=ORDER, context={"amount": 600})
    assert explained.reason == "constraint_failed"
    assert explained.trace and explained.trace[0].stage == "token"
    assert any("amount <= 500" in s.detail for s in explained.trace)
    for _ in range(5):
        assert act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 50}).allowed


def test_forged_and_foreign_tokens_are_denies_not_exceptions(act: ACT, alice: str, policy_file) -> None:
    assert act.validate(token="not-a-token", action="read_order", resource=ORDER).reason == "token_malformed"
    tampered = alice[:-3] + ("AAA" if not alice.endswith("AAA") else "BBB")
    assert act.validate(token=tampered, action="read_order", resource=ORDER).reason == "token_signature_invalid"
    with ACT(policy_file=policy_file, signing_key=SigningKey.generate()) as other:
        foreign = other.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    assert act.validate(token=foreign, action="read_order", resource=ORDER).reason == "token_unknown_key"


def test_expired_token(act: ACT, clock) -> None:
    token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, ttl=60)
    clock.advance_ms(120_000)
    assert act.validate(token=token, action="read_order", resource=ORDER).reason == "token_expired"


def test_inline_policy_from_the_article(tmp_path, key, clock) -> None:
    # Step 2 of the article's "Combined Architecture": a token scoped to Alice's mail.
    (tmp_path / "p.yaml").write_text(
        "agent: email-assistant\npolicy:\n  actions: [read]\n  resources: [\"email://{{user.id}}/*\"]\n"
    )
    with ACT(policy_file=tmp_path / "p.yaml", signing_key=key, clock=clock) as act:
        token = act.issue_token(
            agent="email-assistant",
            user_context={"user_id": "alice", "oauth_scopes": ["read:email"]},
            policy={"actions": ["read"], "resources": ["email://alice/*"]},
        )
        assert act.validate(token=token, action="read", resource="email://alice/17").allowed
        assert act.validate(token=token, action="read", resource="email://bob/17").reason == "resource_not_allowed"


def test_delegation_narrows(act: ACT, clock) -> None:
    holder = SigningKey.generate()
    parent = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, holder_key=holder.public_key)
    child = act.delegate(
        parent,
        holder_key=holder,
        agent="lookup-subagent",
        ttl=300,
        policy={"actions": ["read_order"], "resources": ["order://customer:42/*"]},
    )
    assert child.startswith(parent + "~")
    assert act.validate(token=child, action="read_order", resource=ORDER, context={"rows": 1}).allowed
    refused = act.validate(token=child, action="process_refund", resource=ORDER, context={"amount": 10})
    assert refused.reason == "action_not_allowed"


def test_reload_picks_up_the_edited_file(act: ACT, alice: str, policy_file) -> None:
    assert (
        act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 450}).outcome
        == "approval_required"
    )
    policy_file.write_text(policy_file.read_text().replace("maxAmount: 500", "maxAmount: 400"))
    assert act.reload() == 2
    d = act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 450})
    assert d.reason == "constraint_failed" and d.snapshot_version == 2
    assert act.status["snapshot_version"] == 2
