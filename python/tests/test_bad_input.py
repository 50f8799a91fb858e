"""Every parameter's bad input raises the documented exception.

Documented contract (act_sdk.errors): a wrong Python type raises TypeError; a value of the
right type that cannot work raises the ActError subclass of its family, carrying `.code`.
An agent's bad input to validate (token, action, resource) is a deny, never an exception.
"""

import math
from typing import Any, Callable, Type

import act_sdk
import pytest
from act_sdk import (
    ACT,
    ActError,
    ActIOError,
    ActKeyError,
    AuditChainError,
    ConfigError,
    InternalError,
    PolicyError,
    SigningKey,
    TokenError,
    VerifyingKey,
    verify_audit_log,
)

ORDER = "order://customer:42/1001"


def raises(exc: Type[BaseException], fn: Callable[[], Any], code: str = "") -> BaseException:
    with pytest.raises(exc) as info:
        fn()
    if issubclass(exc, ActError):
        assert isinstance(info.value, ActError)
        assert info.value.code, "every ActError carries a code"
        if code:
            assert info.value.code == code
    return info.value


def test_constructor(policy_file, key, tmp_path) -> None:
    raises(ActIOError, lambda: ACT(policy_file=tmp_path / "missing.yaml"), "io_error")
    raises(TypeError, lambda: ACT(policy_file=123))  # type: ignore[arg-type]
    raises(ConfigError, lambda: ACT(), "invalid_argument")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "agent: x\npolicy:\n  actions: [a]\n  resources: ['**']\n  constraints:\n    a:\n      maxAmont: 5\n"
    )
    err = raises(PolicyError, lambda: ACT(policy_file=bad), "policy_invalid")
    assert isinstance(err, PolicyError)
    assert err.diagnostics and err.diagnostics[0].line == 7 and "maxAmont" in err.diagnostics[0].key
    raises(TypeError, lambda: ACT(policy_file=policy_file, signing_key="key"))  # type: ignore[arg-type]
    raises(TypeError, lambda: ACT(policy_file=policy_file, audience=5))  # type: ignore[arg-type]
    raises(ConfigError, lambda: ACT(policy_file=policy_file, audience=""), "invalid_argument")
    raises(TypeError, lambda: ACT(policy_file=policy_file, leeway="30"))  # type: ignore[arg-type]
    raises(ConfigError, lambda: ACT(policy_file=policy_file, leeway=-1))
    raises(ConfigError, lambda: ACT(policy_file=policy_file, leeway=10**30))
    raises(TypeError, lambda: ACT(policy_file=policy_file, audit=5))  # type: ignore[arg-type]
    raises(ActIOError, lambda: ACT(policy_file=policy_file, audit=str(tmp_path / "no" / "such" / "dir.jsonl")))
    raises(ActKeyError, lambda: ACT(policy_file=policy_file, trusted_keys=["rsa:abc"]), "key_invalid")
    raises(TypeError, lambda: ACT(policy_file=policy_file, trusted_keys=str(key.public_key)))  # type: ignore[arg-type]
    raises(TypeError, lambda: ACT(policy_file=policy_file, trusted_keys=[5]))  # type: ignore[list-item]
    raises(TypeError, lambda: ACT(policy_file=policy_file, issuer=5))  # type: ignore[arg-type]
    raises(ConfigError, lambda: ACT(policy_file=policy_file, issuer=" "))
    raises(TypeError, lambda: ACT(policy_file=policy_file, clock=123))  # type: ignore[arg-type]
    raises(ConfigError, lambda: ACT(policy_file=policy_file, endpoint="http://x"), "invalid_argument")
    raises(TypeError, lambda: ACT(endpoint=5, trust_key=key.public_key))  # type: ignore[arg-type]
    raises(ActKeyError, lambda: ACT(endpoint="http://127.0.0.1:1", trust_key="ed25519:nope"), "key_invalid")


def test_issue_token(act: ACT) -> None:
    ok = dict(agent="customer-support-bot", user_context={"user_id": "42"})
    raises(TypeError, lambda: act.issue_token(**{**ok, "agent": 5}))
    raises(ConfigError, lambda: act.issue_token(**{**ok, "agent": ""}))
    raises(ConfigError, lambda: act.issue_token(**{**ok, "agent": "unknown-bot"}))
    raises(TypeError, lambda: act.issue_token(agent="customer-support-bot"))  # type: ignore[call-arg]
    raises(TypeError, lambda: act.issue_token(**{**ok, "user_context": None}))
    raises(TypeError, lambda: act.issue_token(**{**ok, "user_context": [("user_id", "42")]}))
    raises(ConfigError, lambda: act.issue_token(**{**ok, "user_context": {}}))
    raises(TypeError, lambda: act.issue_token(**{**ok, "user_context": {"user_id": object()}}))
    raises(TypeError, lambda: act.issue_token(**{**ok, "user_context": {"user_id": "42", 1: "x"}}))
    raises(ConfigError, lambda: act.issue_token(**{**ok, "user_context": {"user_id": "42", "x": math.nan}}))
    raises(ConfigError, lambda: act.issue_token(**{**ok, "user_context": {"user_id": "42", "x": 2**70}}))
    raises(TypeError, lambda: act.issue_token(**ok, agent_context="x"))  # type: ignore[arg-type]
    raises(ConfigError, lambda: act.issue_token(**ok, policy="read everything"))  # type: ignore[arg-type]
    raises(PolicyError, lambda: act.issue_token(**ok, policy={"actoins": ["read"], "resources": ["**"]}))
    raises(TypeError, lambda: act.issue_token(**ok, policy={"actions": [object()]}))  # type: ignore[list-item]
    raises(ConfigError, lambda: act.issue_token(**ok, ttl=0))
    raises(ConfigError, lambda: act.issue_token(**ok, ttl=-5))
    raises(ConfigError, lambda: act.issue_token(**ok, ttl=10**9))
    raises(TypeError, lambda: act.issue_token(**ok, ttl="3600"))  # type: ignore[arg-type]
    raises(TypeError, lambda: act.issue_token(**ok, ttl=True))
    raises(ActKeyError, lambda: act.issue_token(**ok, holder_key="ed25519:short"))
    raises(TypeError, lambda: act.issue_token(**ok, holder_key=5))  # type: ignore[arg-type]
    big = {"user_id": "42", "blob": "x" * 20000}
    err = raises(TokenError, lambda: act.issue_token(**{**ok, "user_context": big}), "token_invalid")
    assert isinstance(err, TokenError) and err.reason == "token_too_large"


def test_validate_check_explain(act: ACT, alice: str) -> None:
    for call in (act.validate, act.check, act.explain):
        raises(TypeError, lambda: call(token=None, action="read_order", resource=ORDER))  # type: ignore[arg-type]
        raises(TypeError, lambda: call(token=alice, action=5, resource=ORDER))  # type: ignore[arg-type]
        raises(TypeError, lambda: call(token=alice, action="read_order", resource=None))  # type: ignore[arg-type]
        raises(TypeError, lambda: call(token=alice, action="read_order", resource=ORDER, context=[1]))  # type: ignore[arg-type]
        raises(TypeError, lambda: call(token=alice, action="read_order", resource=ORDER, context={"when": object()}))
        raises(ConfigError, lambda: call(token=alice, action="read_order", resource=ORDER, context={"x": math.inf}))
        raises(TypeError, lambda: call(token=alice, action="read_order", resource=ORDER, approval=5))  # type: ignore[arg-type]
        raises(TypeError, lambda: call(alice, "read_order", ORDER))  # type: ignore[misc]
        loop: list = []
        loop.append(loop)
        raises(ConfigError, lambda: call(token=alice, action="read_order", resource=ORDER, context={"loop": loop}))
    # An agent's bad input is a deny with a reason, not an exception.
    assert act.validate(token=alice, action="", resource=ORDER).reason == "request_invalid"
    assert (
        act.validate(token=alice, action="read_order", resource="order://customer:42/../43/1").reason
        == "resource_invalid"
    )
    assert act.validate(token="", action="read_order", resource=ORDER).reason == "token_malformed"
    assert act.validate(token=alice, action="read_order", resource=ORDER, approval="junk").outcome == "deny"


def test_approve(act: ACT, alice: str) -> None:
    d = act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 200})
    request = d.approval_request
    assert request is not None
    raises(TypeError, lambda: act.approve(5, approver="a", ttl=60))  # type: ignore[arg-type]
    raises(ConfigError, lambda: act.approve("not-an-id", approver="a", ttl=60))
    raises(ConfigError, lambda: act.approve(request, approver=" ", ttl=60))
    raises(TypeError, lambda: act.approve(request, approver=None, ttl=60))  # type: ignore[arg-type]
    raises(ConfigError, lambda: act.approve(request, approver="a", ttl=0))
    raises(ConfigError, lambda: act.approve(request, approver="a", ttl=30 * 86400))
    raises(TypeError, lambda: act.approve(request, approver="a"))  # type: ignore[call-arg]


def test_delegate(act: ACT) -> None:
    holder = SigningKey.generate()
    parent = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, holder_key=holder)
    no_cnf = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    raises(TypeError, lambda: act.delegate(parent, holder_key=holder.public_key, agent="sub", ttl=60))  # type: ignore[arg-type]
    err = raises(TokenError, lambda: act.delegate(parent, holder_key=SigningKey.generate(), agent="sub", ttl=60))
    assert isinstance(err, TokenError) and err.reason == "delegation_invalid"
    raises(TokenError, lambda: act.delegate(no_cnf, holder_key=holder, agent="sub", ttl=60))
    raises(TokenError, lambda: act.delegate("garbage", holder_key=holder, agent="sub", ttl=60))
    raises(ConfigError, lambda: act.delegate(parent, holder_key=holder, agent="", ttl=60))
    raises(ConfigError, lambda: act.delegate(parent, holder_key=holder, agent="sub", ttl=0))
    raises(TypeError, lambda: act.delegate(parent, holder_key=holder, agent="sub"))  # type: ignore[call-arg]
    raises(PolicyError, lambda: act.delegate(parent, holder_key=holder, agent="sub", ttl=60, policy={"actions": []}))


def test_keys(tmp_path) -> None:
    raises(ActKeyError, lambda: SigningKey.from_seed(b"short"), "key_invalid")
    raises(TypeError, lambda: SigningKey.from_seed("0" * 32))  # type: ignore[arg-type]
    raises(ActKeyError, lambda: SigningKey.from_pem("junk"))
    raises(ActKeyError, lambda: SigningKey.from_jwk("{"))
    raises(ActKeyError, lambda: SigningKey.from_jwk({"kty": "EC"}))
    raises(TypeError, lambda: SigningKey.from_jwk(5))  # type: ignore[arg-type]
    raises(ActIOError, lambda: SigningKey.load(tmp_path / "missing.pem"))
    (tmp_path / "junk.pem").write_text("junk")
    raises(ActKeyError, lambda: SigningKey.load(tmp_path / "junk.pem"))
    key = SigningKey.generate()
    key.save(tmp_path / "k.pem")
    err = raises(ActIOError, lambda: key.save(tmp_path / "k.pem"))
    assert isinstance(err.__cause__, FileExistsError)
    raises(ActKeyError, lambda: VerifyingKey("rsa:abc"))
    raises(ActKeyError, lambda: VerifyingKey("ed25519:AAAA"))
    raises(TypeError, lambda: VerifyingKey(5))  # type: ignore[arg-type]
    raises(ActKeyError, lambda: VerifyingKey.from_bytes(b"1"))
    raises(ActKeyError, lambda: VerifyingKey.from_jwk('{"kty":"OKP","crv":"Ed25519"}'))


def test_audit_log_verification(tmp_path, policy_file, key, clock) -> None:
    raises(ActIOError, lambda: verify_audit_log(tmp_path / "missing.jsonl"))
    log = tmp_path / "audit.jsonl"
    with ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=log) as act:
        token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
        for amount in (10, 20, 30):
            act.validate(token=token, action="process_refund", resource=ORDER, context={"amount": amount})
    assert verify_audit_log(log) == 3
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], lines[2]]) + "\n")
    err = raises(AuditChainError, lambda: verify_audit_log(log), "audit_chain_broken")
    assert isinstance(err, AuditChainError) and err.line == 2
    log.write_text("\n".join([lines[0], lines[1].replace('"amount":20', '"amount":2000'), lines[2]]) + "\n")
    raises(AuditChainError, lambda: verify_audit_log(log))


def test_closed_act_refuses_every_call(policy_file, key) -> None:
    act = ACT(policy_file=policy_file, signing_key=key)
    token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    act.close()
    act.close()  # idempotent
    assert act.closed and act.status["closed"]
    raises(ConfigError, lambda: act.validate(token=token, action="read_order", resource=ORDER))
    raises(ConfigError, lambda: act.check(token=token, action="read_order", resource=ORDER))
    raises(ConfigError, lambda: act.issue_token(agent="customer-support-bot", user_context={"user_id": "1"}))
    raises(ConfigError, lambda: act.reload())
    raises(ConfigError, lambda: act.flush_audit())


def test_guard_misuse(act: ACT, alice: str) -> None:
    raises(ConfigError, lambda: act.guard(action="", resource=ORDER, token=alice))
    raises(TypeError, lambda: act.guard(action="read_order", resource=5, token=alice))  # type: ignore[arg-type]
    raises(TypeError, lambda: act.guard(action="read_order", resource=ORDER, token=5))  # type: ignore[arg-type]
    raises(TypeError, lambda: act.guard(action="read_order", resource=ORDER, token=alice, context="amount"))
    deco = act.guard(action="read_order", resource="order://customer:42/{order}", token=alice)
    raises(ConfigError, lambda: deco(lambda order_id: order_id))


def test_a_panic_in_the_core_is_an_internal_error_not_panic_exception() -> None:
    err = raises(InternalError, act_sdk._native._panic_for_tests, "internal")
    assert "deliberate panic" in str(err)
    assert isinstance(err, RuntimeError)
