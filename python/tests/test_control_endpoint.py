"""The SDK against a real `act serve` on loopback: hot reload, cache, fail closed."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest
from act_sdk import ACT, ConfigError, SigningKey
from conftest import ARTICLE_POLICY, REPO

API_KEY = "test-api-key-123"


def act_binary() -> Path:
    found = os.environ.get("ACT_BIN") or shutil.which("act")
    for candidate in [found, REPO / "target" / "release" / "act", REPO / "target" / "debug" / "act"]:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail("the `act` binary is not built; python/run_tests.sh builds it (cargo build -p act-cli)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Tuple[str, SigningKey, Path]]:
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "support.yaml").write_text(ARTICLE_POLICY)
    key = SigningKey.generate()
    key_path = tmp_path / "control.pem"
    key.save(key_path)
    port = free_port()
    proc = subprocess.Popen(
        [
            str(act_binary()),
            "serve",
            "--policy",
            str(policies),
            "--key",
            str(key_path),
            "--addr",
            f"127.0.0.1:{port}",
            "--api-key",
            API_KEY,
            "--poll-ms",
            "100",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"act serve exited: {proc.stdout.read().decode() if proc.stdout else ''}")
            time.sleep(0.05)
    try:
        yield url, key, policies
    finally:
        proc.terminate()  # stopped by its own pid, never by name
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def refund(act: ACT, token: str, amount: float) -> str:
    return act.validate(
        token=token, action="process_refund", resource="order://customer:42/1001", context={"amount": amount}
    ).reason


def test_policy_change_reaches_a_running_client_within_two_seconds(
    server: Tuple[str, SigningKey, Path], tmp_path: Path
) -> None:
    url, key, policies = server
    issuer = ACT(policy_file=policies, signing_key=SigningKey.generate())
    token = issuer.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    with ACT(
        endpoint=url,
        api_key=API_KEY,
        trust_key=key.public_key,
        trusted_keys=[issuer.public_key],
        cache_dir=tmp_path / "cache",
    ) as act:
        assert act.status["mode"] == "endpoint"
        v1 = act.status["snapshot_version"]
        assert v1 >= 1, act.status
        assert refund(act, token, 300) == "approval_required"
        (policies / "support.yaml").write_text(ARTICLE_POLICY.replace("maxAmount: 500", "maxAmount: 200"))
        start = time.time()
        while refund(act, token, 300) != "constraint_failed":
            assert time.time() - start < 2.0, act.status
            time.sleep(0.02)
        assert act.status["snapshot_version"] > v1
        assert act.status["last_error"] is None


def test_restart_with_the_endpoint_down_serves_the_cached_snapshot(
    server: Tuple[str, SigningKey, Path], tmp_path: Path
) -> None:
    url, key, policies = server
    issuer = ACT(policy_file=policies, signing_key=SigningKey.generate())
    token = issuer.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    cache = tmp_path / "cache"
    with ACT(
        endpoint=url, api_key=API_KEY, trust_key=key.public_key, trusted_keys=[issuer.public_key], cache_dir=cache
    ) as act:
        assert refund(act, token, 50) == "allowed"
    dead = f"http://127.0.0.1:{free_port()}"
    with ACT(
        endpoint=dead,
        api_key=API_KEY,
        trust_key=key.public_key,
        trusted_keys=[issuer.public_key],
        cache_dir=cache,
        initial_sync=1,
    ) as act:
        assert refund(act, token, 50) == "allowed"
        deadline = time.time() + 5
        while not act.status["last_error"] and time.time() < deadline:
            time.sleep(0.05)
        assert act.status["last_error"], "the status says the endpoint is unreachable"
    # No cache and no endpoint: fail closed.
    with ACT(
        endpoint=dead, api_key=API_KEY, trust_key=key.public_key, trusted_keys=[issuer.public_key], initial_sync=1
    ) as act:
        assert refund(act, token, 50) == "no_snapshot"


def test_wrong_api_key_or_trust_key_never_serves(server: Tuple[str, SigningKey, Path]) -> None:
    url, key, _ = server
    with ACT(endpoint=url, api_key="wrong", trust_key=key.public_key, initial_sync=1) as act:
        assert act.status["snapshot_version"] == 0
        assert "401" in (act.status["last_error"] or ""), act.status
    other = SigningKey.generate()
    with ACT(endpoint=url, api_key=API_KEY, trust_key=other.public_key, initial_sync=1) as act:
        assert act.status["snapshot_version"] == 0
        assert act.status["last_error"], act.status


def test_endpoint_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="trust_key"):
        ACT(endpoint="http://127.0.0.1:1")
    with pytest.raises(ConfigError, match="either policy_file or endpoint"):
        ACT(policy_file="x.yaml", endpoint="http://127.0.0.1:1", trust_key=SigningKey.generate().public_key)
    with pytest.raises(ConfigError, match="policy_file"):
        ACT()
    with pytest.raises(ConfigError, match="http"):
        ACT(endpoint="ftp://x", trust_key=SigningKey.generate().public_key)
