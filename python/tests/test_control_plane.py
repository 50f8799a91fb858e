"""An agent in endpoint mode against a real `act serve` on loopback: audit shipping with the chain
intact, approvals asked and decided over HTTP, tokens minted through the endpoint, fleet status."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import act_sdk
import pytest
from act_sdk import (
    ACT,
    ApprovalDenied,
    ApprovalHandle,
    ApprovalTimeout,
    ConfigError,
    EndpointError,
    SigningKey,
    TokenError,
)
from conftest import ARTICLE_POLICY
from test_control_endpoint import act_binary, free_port

AGENT = "agent-key-0123456789"
ISSUER = "issuer-key-0123456789"
APPROVER = "approver-key-0123456789"
ADMIN = "admin-key-0123456789"
ORDER = "order://customer:42/1001"


class Serve:
    def __init__(self, url: str, key: SigningKey, proc: Any) -> None:
        self.url = url
        self.key = key
        self.proc = proc

    def call(self, method: str, path: str, key: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {key}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def client(self, **kwargs: Any) -> ACT:
        args: Dict[str, Any] = dict(endpoint=self.url, api_key=AGENT, trust_key=self.key.public_key)
        args.update(kwargs)
        return ACT(**args)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    import subprocess

    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "support.yaml").write_text(ARTICLE_POLICY)
    key = SigningKey.generate()
    key.save(tmp_path / "control.pem")
    port = free_port()
    proc = subprocess.Popen(
        [
            str(act_binary()),
            "serve",
            "--policy",
            str(policies),
            "--key",
            str(tmp_path / "control.pem"),
            "--addr",
            f"127.0.0.1:{port}",
            "--api-key",
            AGENT,
            "--issuer-api-key",
            ISSUER,
            "--approver-api-key",
            APPROVER,
            "--admin-api-key",
            ADMIN,
            "--poll-ms",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    server = Serve(f"http://127.0.0.1:{port}", key, proc)
    deadline = time.time() + 20
    while True:
        try:
            urllib.request.urlopen(server.url + "/healthz", timeout=0.5).read()
            break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"act serve did not start: {proc.stdout.read().decode() if proc.stdout else ''}")
            time.sleep(0.05)
    try:
        yield server
    finally:
        proc.terminate()  # by its own pid, never by name
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def refund(act: ACT, token: str, amount: int, approval: Optional[str] = None) -> act_sdk.Decision:
    return act.validate(
        token=token, action="process_refund", resource=ORDER, context={"amount": amount}, approval=approval
    )


def decide_later(serve: Serve, approval_id: str, verb: str, reason: str, delay: float = 0.3) -> threading.Thread:
    def run() -> None:
        time.sleep(delay)
        serve.call("POST", f"/v1/approvals/{approval_id}/{verb}", APPROVER, {"reason": reason})

    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_token_minted_through_the_endpoint_an_approval_granted_over_http_and_the_audit_chain_intact(
    serve: Serve, tmp_path: Path
) -> None:
    local_log = tmp_path / "local.jsonl"
    with serve.client(issuer_api_key=ISSUER, audit=str(local_log), cache_dir=tmp_path / "cache") as act:
        assert act.ready(5)
        # C4: no signing key here, so the endpoint mints (with the issuer credential).
        token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, ttl=600)
        info = act.inspect_token(token)
        assert (info.agent, info.subject) == ("customer-support-bot", "42")
        assert info.jti and info.expires_at > time.time() and len(info.chain) == 1
        assert act.validate(token=token, action="read_order", resource=ORDER, context={"rows": 1}).allowed

        # C3: the approval is asked, granted by an approver call, picked up by the long poll.
        pending = refund(act, token, 300)
        assert pending.outcome == "approval_required"
        handle = act.request_approval(pending)
        assert isinstance(handle, ApprovalHandle) and handle.status == "pending"
        assert handle.id == pending.approval_request.id
        listed = serve.call("GET", "/v1/approvals?status=pending", APPROVER)["approvals"]
        assert [a["context"] for a in listed if a["id"] == handle.id] == [{"amount": 300}]
        granter = decide_later(serve, handle.id, "grant", "customer verified by phone")
        started = time.time()
        approval = act.wait_for_approval(handle, timeout=20)
        granter.join()
        assert time.time() - started < 10, "the long poll answers as soon as the approver decides"
        first = refund(act, token, 300, approval)
        assert (first.allowed, first.reason) == (True, "approved")
        again = refund(act, token, 300, approval)
        assert (again.allowed, again.reason) == (False, "approval_replayed"), "an approval works exactly once"

        # Every decision reached the endpoint, in order, on this instance's chain.
        assert act.wait_audit_delivered(10), act.status
        status = act.status
        assert sorted(status) == sorted(act_sdk.STATUS_FIELDS)
        assert status["audit"]["delivered"] >= 4 and status["audit"]["dropped"] == 0, status
        local = [json.loads(line) for line in local_log.read_text().splitlines()]
        chains = serve.call("GET", "/v1/audit/chains", ADMIN)["chains"]
        ours = [c for c in chains if c["instance"] == act.instance_id]
        assert len(ours) == 1, chains
        chain = ours[0]
        assert chain["records"] == len(local) == status["audit_written"]
        assert (chain["gaps"], chain["forks"], chain["flagged"]) == (0, 0, False), chain
        assert chain["last_id"] == local[-1]["id"] and chain["last_hash"] == local[-1]["hash"]

        # C2: the fleet view knows this instance, its SDK and the version it serves.
        deadline = time.time() + 10
        while True:
            fleet = serve.call("GET", "/v1/fleet", ADMIN)["instances"]
            mine = [i for i in fleet if i["instance_id"] == act.instance_id]
            if mine and mine[0]["snapshot_version"] == status["snapshot_version"]:
                break
            assert time.time() < deadline, fleet
            time.sleep(0.1)
        assert mine[0]["user_agent"].startswith("act-sdk/python/"), mine


def test_a_denial_carries_the_approvers_reason_and_a_wait_times_out_on_its_own_error(serve: Serve) -> None:
    issuer = ACT(policy_text=ARTICLE_POLICY, signing_key=SigningKey.generate())
    with serve.client(trusted_keys=[issuer.public_key]) as act:
        assert act.ready(5)
        token = issuer.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
        pending = refund(act, token, 250)
        handle = act.request_approval(pending)
        denier = decide_later(serve, handle.id, "deny", "refund policy: needs a receipt")
        with pytest.raises(ApprovalDenied) as denied:
            act.wait_for_approval(handle, timeout=20)
        denier.join()
        assert denied.value.reason == "refund policy: needs a receipt"
        assert denied.value.decided_by == "dev-approver" and denied.value.status == "denied"
        assert denied.value.code == "approval_denied"

        other = act.request_approval(refund(act, token, 260))
        started = time.time()
        with pytest.raises(ApprovalTimeout) as late:
            act.wait_for_approval(ApprovalHandle(other.id), timeout=1)
        assert 0.9 <= time.time() - started < 5
        assert late.value.code == "approval_timeout" and late.value.approval_id == other.id
        assert isinstance(late.value, TimeoutError)


def test_endpoint_errors_are_typed_with_their_cause(serve: Serve) -> None:
    with serve.client() as act, pytest.raises(ConfigError, match="issuer_api_key"):
        act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    with serve.client(issuer_api_key="not-a-key") as act:
        with pytest.raises(EndpointError) as refused:
            act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
        assert refused.value.status == 401 and refused.value.endpoint_code == "unauthorized"
    with serve.client(issuer_api_key=ISSUER) as act:
        with pytest.raises(EndpointError) as bad:
            act.issue_token(agent="customer-support-bot", user_context={"no_user_id": "x"})
        assert bad.value.status == 400
        with pytest.raises(TokenError):
            act.inspect_token("not.a.token")
    down = ACT(
        endpoint=f"http://127.0.0.1:{free_port()}",
        trust_key=serve.key.public_key,
        issuer_api_key=ISSUER,
        initial_sync=1,
    )
    with pytest.raises(EndpointError) as unreachable:
        down.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    assert unreachable.value.status is None and unreachable.value.endpoint_code == "unreachable"
    assert unreachable.value.__cause__ is not None, "the transport error is the cause"
    down.close()


def test_the_environment_fills_the_endpoint_and_without_it_the_error_says_what_to_set(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACT_ENDPOINT", raising=False)
    monkeypatch.delenv("ACT_TRUST_KEY", raising=False)
    with pytest.raises(ConfigError) as missing:
        ACT(api_key=AGENT)
    text = str(missing.value)
    assert "ACT_ENDPOINT" in text and "ACT_TRUST_KEY" in text and "act serve" in text
    monkeypatch.setenv("ACT_ENDPOINT", serve.url)
    monkeypatch.setenv("ACT_TRUST_KEY", str(serve.key.public_key))
    with ACT(api_key=AGENT) as act:
        assert act.status["mode"] == "endpoint" and act.status["snapshot_version"] >= 1, act.status


def status_keys(act: ACT) -> List[str]:
    return sorted(act.status)


def test_the_status_has_the_cores_fields_in_every_mode(serve: Serve, policy_file: Path) -> None:
    with ACT(policy_file=policy_file) as embedded, serve.client() as endpoint:
        assert status_keys(embedded) == status_keys(endpoint) == sorted(act_sdk.STATUS_FIELDS)
        assert embedded.status["audit"] is None and endpoint.status["audit"] is not None


def test_a_redis_outage_is_a_counter_store_error_not_a_snapshot_error(policy_file: Path) -> None:
    with pytest.raises(act_sdk.CounterStoreError) as down:
        ACT(policy_file=policy_file, counters=f"redis://127.0.0.1:{free_port()}/0")
    assert down.value.code == "counter_store_failed"
    assert not isinstance(down.value, act_sdk.SnapshotError)
    assert set(act_sdk.ERROR_CODES) >= {"audit_chain_broken", "counter_store_failed", "approval_denied"}
