"""Runs every conformance vector in tests/vectors/ (same semantics as core/tests/vectors.rs)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from act_sdk import ACT, ActError, SigningKey, verify_audit_log
from act_sdk.testing import ManualClock
from conftest import VECTORS


def _suites() -> List[Tuple[str, Dict[str, Any]]]:
    index = json.loads((VECTORS / "index.json").read_text())
    assert index["format"] == 1, "unknown vector format"
    out = []
    for file in index["suites"]:
        doc = json.loads((VECTORS / file).read_text())
        for suite in doc["suites"]:
            out.append((file, suite))
    return out


SUITES = _suites()


def test_every_vector_file_has_suites() -> None:
    assert len(SUITES) >= 5, f"only {len(SUITES)} suites found in {VECTORS}"


def _b64d(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _b64e(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Suite:
    def __init__(self, file: str, suite: Dict[str, Any], tmp: Path) -> None:
        self.name = f"{file}: {suite.get('name', '?')}"
        self.keys = {k: SigningKey.from_seed(_b64d(v)) for k, v in (suite.get("keys") or {}).items()}
        self.clock = ManualClock(suite.get("now_ms", 1_800_000_000_000))
        self.policy = tmp / "policy.yaml"
        self.policy.write_text(suite.get("policy", ""))
        self.audit = tmp / "audit.jsonl"
        signing = suite.get("signing_key")
        self.act = ACT(
            policy_file=self.policy,
            signing_key=self.keys[signing] if signing else None,
            trusted_keys=[self.keys[t].public_key for t in suite.get("trusted", [])],
            audience=suite.get("audience"),
            clock=self.clock,
            audit=str(self.audit),
        )
        self.tokens: Dict[str, str] = {}
        self.approvals: Dict[str, str] = {}

    def make_tokens(self, specs: Dict[str, Any]) -> None:
        for name, spec in specs.items():
            if "raw" in spec:
                token = spec["raw"]
            elif "tamper" in spec:
                t = spec["tamper"]
                header, claims, sig = self.tokens[t["token"]].split(".")
                patched = json.loads(_b64d(claims))
                patched.update(t.get("claims_patch") or {})
                token = f"{header}.{_b64e(json.dumps(patched, separators=(',', ':')).encode())}.{sig}"
            elif "issue" in spec:
                i = spec["issue"]
                kwargs: Dict[str, Any] = dict(
                    agent=i["agent"],
                    user_context=i.get("user_context") or {},
                    agent_context=i.get("agent_context"),
                    policy=i.get("policy"),
                    ttl=i.get("ttl", 3600),
                    holder_key=self.keys[i["holder"]].public_key if i.get("holder") else None,
                )
                if i.get("signed_by"):
                    # Another issuer with the same policies and its own key, not trusted by the suite.
                    with ACT(policy_file=self.policy, signing_key=self.keys[i["signed_by"]], clock=self.clock) as other:
                        token = other.issue_token(**kwargs)
                else:
                    token = self.act.issue_token(**kwargs)
            elif "delegate" in spec:
                d = spec["delegate"]
                token = self.act.delegate(
                    self.tokens[d["parent"]],
                    holder_key=self.keys[d["holder"]],
                    agent=d["agent"],
                    agent_context=d.get("agent_context"),
                    policy=d.get("policy"),
                    ttl=d.get("ttl", 600),
                    next_holder_key=self.keys[d["next_holder"]].public_key if d.get("next_holder") else None,
                )
            else:
                raise AssertionError(f"{self.name}: token `{name}` needs raw, tamper, issue or delegate")
            self.tokens[name] = token

    def run_step(self, i: int, step: Dict[str, Any]) -> int:
        label = f"{self.name} step {i} ({step.get('name', '')})"
        if "advance_ms" in step:
            self.clock.advance_ms(step["advance_ms"])
        token = self.tokens[step["token"]] if "token" in step else step.get("token_raw", "")
        approval = self.approvals[step["approval"]] if "approval" in step else None
        enforced = 0
        repeat = step.get("repeat", 1)
        for n in range(repeat):
            at = f"{label} #{n}" if repeat > 1 else label
            call = self.act.check if step.get("mode") == "check" else self.act.validate
            enforced += call is not self.act.check
            d = call(
                token=token,
                action=step["action"],
                resource=step["resource"],
                context=step.get("context") or {},
                approval=approval,
            )
            e = step["expect"]
            assert d.outcome == e["outcome"], f"{at}: {d!r}"
            assert d.reason == e["reason"], f"{at}: {d!r}"
            if "rule" in e:
                assert d.rule == e["rule"], f"{at}: rule {d.rule!r}"
            if "constraint" in e:
                assert d.constraint == e["constraint"], f"{at}: constraint {d.constraint!r}"
            if "message_contains" in e:
                assert e["message_contains"] in d.message, (
                    f"{at}: message {d.message!r} lacks {e['message_contains']!r}"
                )
            assert (d.approval_request is not None) == (d.outcome == "approval_required"), at
            if "approval_request" in e:
                _check_approval_request(at, d.approval_request, e["approval_request"])
            if "shadow" in e:
                _check_shadow(at, d.shadow, e["shadow"])
            if step.get("approve_as"):
                assert d.approval_request is not None, f"{at}: nothing to approve"
                self.approvals[step["approve_as"]] = self.act.approve(
                    d.approval_request, approver="vector-approver", ttl=600
                )
        return enforced


def _check_approval_request(at: str, got: Any, want: Dict[str, Any]) -> None:
    """`expect.approval_request` (tests/vectors/README.md): what the approver sees; redacted
    fields (digests of the random token id) are checked by shape, not value."""
    assert got is not None, f"{at}: no approval request"
    redacted = want.get("context_redacted", [])
    if "context" in want:
        pinned = json.loads(json.dumps(got.context))
        for path in redacted:
            *parents, last = path.split(".")
            node = pinned
            for k in parents:
                node = node.get(k, {})
            node.pop(last, None)
        assert pinned == want["context"], f"{at}: approval request context {pinned!r}"
    for path in redacted:
        v: Any = got.context
        for k in path.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        assert isinstance(v, str) and v.startswith("[redacted:"), f"{at}: {path} shown as {v!r}"
    if "context_hash" in want:
        assert got.context_hash == want["context_hash"], f"{at}: context_hash"
    if "conditions" in want:
        conditions = [{"constraint": c.constraint, "condition": c.condition} for c in got.conditions]
        assert conditions == want["conditions"], f"{at}: conditions {conditions!r}"
    if "chain" in want:
        assert list(got.chain) == want["chain"], f"{at}: chain {got.chain!r}"


def _check_shadow(at: str, got: Any, want: Any) -> None:
    """`expect.shadow`: None (no shadow evaluated) or the shadow's outcome, reason and rule."""
    if want is None:
        assert got is None, f"{at}: shadow {got!r}"
        return
    assert got is not None, f"{at}: no shadow outcome"
    assert got.outcome == want["outcome"], f"{at}: shadow outcome {got.outcome!r}"
    assert got.reason == want["reason"], f"{at}: shadow reason {got.reason!r}"
    if "rule" in want:
        assert got.rule == want["rule"], f"{at}: shadow rule {got.rule!r}"


def _decision_records(log: Path) -> int:
    """Records of decisions: alert records (`event`, e.g. `breaker_opened`) share the chain."""
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return sum(1 for r in lines if "id" in r and "event" not in r)


@pytest.mark.parametrize("file,suite", SUITES, ids=[f"{f}:{s.get('name')}" for f, s in SUITES])
def test_vector_suite(file: str, suite: Dict[str, Any], tmp_path: Path) -> None:
    if "policy_error" in suite:
        path = tmp_path / "policy.yaml"
        path.write_text(suite.get("policy", ""))
        with pytest.raises(ActError) as err:
            Suite(file, suite, tmp_path)
        for needle in suite["policy_error"]["contains"]:
            assert needle in str(err.value), f"{file}: error {err.value} lacks {needle!r}"
        return
    s = Suite(file, suite, tmp_path)
    s.make_tokens(suite.get("tokens") or {})
    enforced = 0
    for i, step in enumerate(suite.get("steps") or []):
        enforced += s.run_step(i, step)
    # Enforced decisions left records (never more), and the chain verifies.
    s.act.flush_audit()
    verify_audit_log(s.audit)
    records = _decision_records(Path(s.audit))
    assert records <= enforced and (records > 0 or enforced == 0), (
        f"{s.name}: {records} records for {enforced} decisions"
    )
    s.act.close()
