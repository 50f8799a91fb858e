"""The act_sdk pytest plugin, run through pytester as a user's test suite would use it."""

import importlib.metadata
from typing import Any

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import pytest
from pathlib import Path

POLICY = """
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 2
      requireSecondApproval: amount > 100
"""


def refund(act, token, amount, **kw):
    return act.validate(token=token, action="process_refund", resource="order://customer:42/1", context={"amount": amount}, **kw)


def test_allow_and_deny(act_engine, mint_token):
    act = act_engine(POLICY)
    token = mint_token(agent="customer-support-bot", user_context={"user_id": "42"})
    assert refund(act, token, 80).allowed
    assert refund(act, token, 600).reason == "constraint_failed"


def test_daily_limit_rolls_with_the_clock(act_engine, mint_token, act_clock):
    act = act_engine(POLICY)
    token = mint_token(agent="customer-support-bot", user_context={"user_id": "42"}, ttl=3 * 86400)
    assert [refund(act, token, 10).reason for _ in range(3)] == ["allowed", "allowed", "rate_limited"]
    act_clock.advance_ms(86_400_000 + 1)
    assert refund(act, token, 10).allowed


def test_approval_round_trip_and_audit(act_engine, mint_token, act_audit):
    act = act_engine(POLICY)
    token = mint_token(agent="customer-support-bot", user_context={"user_id": "42"})
    asked = refund(act, token, 120)
    approval = act.approve(asked.approval_request, approver="supervisor@example.com", ttl=60)
    assert refund(act, token, 120, approval=approval).reason == "approved"
    assert act_audit.reasons == ["approval_required", "approved"]


def test_policy_as_dict_and_path(act_engine, mint_token, tmp_path):
    act = act_engine({"agent": "bot", "policy": {"actions": ["read"], "resources": ["doc://*"]}})
    token = mint_token(agent="bot")
    assert act.validate(token=token, action="read", resource="doc://a").allowed
    path = tmp_path / "p.yaml"
    path.write_text(POLICY)
    other = act_engine(path)
    assert mint_token(agent="customer-support-bot", engine=other) != token


def test_other_users_orders_are_out_of_reach(act_engine, mint_token):
    act = act_engine(POLICY)
    token = mint_token(agent="customer-support-bot", user_context={"user_id": "7"})
    assert refund(act, token, 10).reason == "resource_not_allowed"


def test_a_failing_policy_test_fails(act_engine, mint_token):
    act = act_engine(POLICY)
    token = mint_token(agent="customer-support-bot", user_context={"user_id": "42"})
    assert refund(act, token, 600).allowed, "this one must fail"


def test_mint_without_engine_says_what_to_do(mint_token):
    from act_sdk import ConfigError
    with pytest.raises(ConfigError, match="call act_engine"):
        mint_token(agent="x")


def test_a_bad_policy_names_the_key(act_engine):
    from act_sdk import PolicyError
    with pytest.raises(PolicyError) as e:
        act_engine("agent: bot\\npolicy:\\n  actions: [read]\\n  resources: ['a://*']\\n  maxAmmount: 5\\n")
    assert "maxAmmount" in str(e.value)
'''


def test_plugin_fixtures_in_a_user_suite(pytester: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Load the plugin explicitly and only once, whether or not act-sdk's entry point is installed.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_user_policies=USER_TESTS)
    result = pytester.runpytest("-p", "act_sdk.pytest_plugin", "-q")
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["*test_a_failing_policy_test_fails*", "*this one must fail*"])


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    try:
        dist = importlib.metadata.distribution("act-sdk")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("act-sdk is not installed (run from python/run_tests.sh, which installs it)")
    points = [ep for ep in dist.entry_points if ep.group == "pytest11"]
    assert [(ep.name, ep.value) for ep in points] == [("act_sdk", "act_sdk.pytest_plugin")]
