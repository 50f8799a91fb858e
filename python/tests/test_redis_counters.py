"""Two ACT instances (as two processes would) share one limit through a real redis-server."""

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from act_sdk import ACT, ConfigError, SigningKey


@pytest.fixture
def redis_url() -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed (scripts/test-all.sh installs it from Debian's packages)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert time.time() < deadline, "redis-server did not start"
            time.sleep(0.02)
    try:
        yield f"redis://127.0.0.1:{port}/"
    finally:
        proc.terminate()  # this child, by pid
        proc.wait(timeout=10)


def test_two_clients_share_one_daily_limit(policy_file: Path, redis_url: str) -> None:
    key = SigningKey.generate()
    a = ACT(policy_file=policy_file, signing_key=key, counters=redis_url)
    b = ACT(policy_file=policy_file, signing_key=key, counters=redis_url)
    token = a.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    reasons = [
        (a if i % 2 else b)
        .validate(token=token, action="process_refund", resource="order://customer:42/1", context={"amount": 20})
        .reason
        for i in range(8)
    ]
    assert reasons == ["allowed"] * 5 + ["rate_limited"] * 3
    a.close()
    b.close()


def test_bad_counters_are_refused(policy_file: Path) -> None:
    with pytest.raises(ConfigError, match="memory"):
        ACT(policy_file=policy_file, counters="mongodb://x")
    with pytest.raises(Exception, match="redis"):
        ACT(policy_file=policy_file, counters="redis://127.0.0.1:1/")
