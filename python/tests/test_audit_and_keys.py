"""Audit sinks (callable, logging, JSON Lines) and key handling."""

import json
import logging
import os
import stat
from typing import Any, Dict, List

import pytest
from act_sdk import ACT, GENESIS_HASH, REASONS, LoggingSink, SigningKey, VerifyingKey, verify_audit_log

ORDER = "order://customer:42/1001"


def test_callable_logging_and_file_sinks_together(policy_file, key, clock, tmp_path, caplog) -> None:
    records: List[Dict[str, Any]] = []
    log = tmp_path / "audit.jsonl"
    logger = logging.getLogger("act.audit.test")
    # Nested on purpose: parenthesized context managers need Python 3.10, the package supports 3.9.
    with caplog.at_level(logging.INFO, logger="act.audit.test"):  # noqa: SIM117
        with ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=[records.append, logger, log]) as act:
            token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
            allowed = act.validate(token=token, action="process_refund", resource=ORDER, context={"amount": 80})
            denied = act.validate(token=token, action="process_refund", resource=ORDER, context={"amount": 900})
        # close() flushed every sink.
    assert [r["id"] for r in records] == [allowed.audit_id, denied.audit_id]
    first = records[0]
    assert first["outcome"] == "allow" and first["reason"] == "allowed" and first["context"] == {"amount": 80}
    assert first["prev_hash"] == GENESIS_HASH and records[1]["prev_hash"] == first["hash"]
    assert {
        "id",
        "time",
        "agent",
        "subject",
        "jti",
        "action",
        "resource",
        "rule",
        "snapshot_version",
        "latency_us",
    } <= set(first)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines == records
    assert verify_audit_log(log) == 2
    levels = [(r.levelno, r.act_audit["reason"]) for r in caplog.records if r.name == "act.audit.test"]  # type: ignore[attr-defined]
    assert levels == [(logging.INFO, "allowed"), (logging.WARNING, "constraint_failed")]


def test_file_sink_continues_the_chain_after_restart(policy_file, key, clock, tmp_path) -> None:
    log = tmp_path / "audit.jsonl"
    for _ in range(2):
        with ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=log) as act:
            token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
            act.validate(token=token, action="read_order", resource=ORDER, context={"rows": 1})
    assert verify_audit_log(log) == 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_raising_callback_never_breaks_validation(policy_file, key, clock) -> None:
    def broken(record: Dict[str, Any]) -> None:
        raise RuntimeError("sink down")

    with ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=broken) as act:
        token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
        for _ in range(3):
            assert act.validate(token=token, action="read_order", resource=ORDER, context={"rows": 1}).allowed
        act.flush_audit()
        status = act.status
    assert status["audit_errors"] == 3
    assert "sink down" in status["audit_last_error"]


def test_logging_sink_respects_levels() -> None:
    logger = logging.getLogger("act.audit.quiet")
    logger.setLevel(logging.ERROR)
    LoggingSink(logger)({"outcome": "deny"})  # below ERROR: nothing, no error


def test_status_and_reasons(act: ACT) -> None:
    status = act.status
    assert status["mode"] == "embedded" and status["agents"] == ["customer-support-bot"]
    assert status["snapshot_version"] == 1 and not status["closed"]
    assert "rate_limited" in REASONS and "approval_required" in REASONS


def test_signing_key_formats_round_trip(tmp_path) -> None:
    key = SigningKey.generate()
    assert SigningKey.from_pem(key.to_pem()).kid == key.kid
    assert SigningKey.from_jwk(key.to_jwk()).kid == key.kid
    assert SigningKey.from_jwk(json.loads(key.to_jwk())).kid == key.kid
    path = tmp_path / "issuer.pem"
    key.save(path)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert SigningKey.load(path).kid == key.kid
    assert key.kid not in repr(key.to_pem()) and "PRIVATE" not in repr(key)
    seeded = SigningKey.from_seed(bytes(range(32)))
    assert seeded.kid == SigningKey.from_seed(bytes(range(32))).kid


def test_verifying_key_forms() -> None:
    public = SigningKey.generate().public_key
    text = str(public)
    assert text.startswith("ed25519:")
    assert VerifyingKey(text) == public and hash(VerifyingKey(text)) == hash(public)
    assert VerifyingKey.from_jwk(public.to_jwk()) == public
    assert VerifyingKey.from_bytes(public.to_bytes()) == public
    assert len({public, VerifyingKey(text)}) == 1
    assert repr(public) == f"VerifyingKey('{text}')"
    assert json.loads(public.to_jwk())["kid"] == public.kid


def test_trusted_keys_accept_other_issuers(policy_file, clock) -> None:
    other = SigningKey.generate()
    with ACT(policy_file=policy_file, signing_key=other, clock=clock) as issuer:
        token = issuer.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    with ACT(policy_file=policy_file, clock=clock, trusted_keys=[str(other.public_key)]) as verifier:
        assert verifier.public_key is None
        assert verifier.validate(token=token, action="read_order", resource=ORDER, context={"rows": 1}).allowed


def test_audit_key_checkpoints_the_log_and_a_truncated_tail_is_refused(policy_file, key, clock, tmp_path) -> None:
    from act_sdk import AuditChainError

    log = tmp_path / "audit.jsonl"
    audit_key = SigningKey.generate()
    with ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=log, audit_key=audit_key) as act:
        token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
        for _ in range(3):
            act.validate(token=token, action="read_order", resource=ORDER, context={"rows": 1})
    assert (tmp_path / "audit.jsonl.checkpoints").is_file()
    # Reopening an intact log continues it.
    with ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=log, audit_key=audit_key) as act:
        act.validate(token=token, action="read_order", resource=ORDER, context={"rows": 1})
    assert verify_audit_log(log) == 4
    lines = log.read_text().splitlines()
    log.write_text("\n".join(lines[:2]) + "\n")
    with pytest.raises(AuditChainError) as err:
        ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=log, audit_key=audit_key)
    assert err.value.code == "audit_chain_broken"
