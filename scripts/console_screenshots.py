"""Regenerates docs/console/*.png: one screenshot of each console page, with realistic data.

Run it with scripts/console-screenshots.sh (which builds `act` and the venv with act_sdk and
Playwright). It starts a real `act server` on loopback, plays an agent with the Python SDK
(approval requests, a denied call, audit records, a status report), and photographs each page
in Debian's chromium at laptop width (and the inbox at phone width)."""

import hashlib
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

from act_sdk import ACT, SigningKey
from playwright.sync_api import Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "console"
POLICY = """\
agent: customer-support-bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
      requireSecondApproval: amount > 100
"""
KEYS = {name: f"{name}-{secrets.token_urlsafe(18)}" for name in ["agent", "alice", "bob", "admin"]}


def call(url: str, key: str, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(), method=method)
    req.add_header("Authorization", f"Bearer {key}")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def start(tmp: Path) -> "tuple[str, SigningKey, subprocess.Popen[bytes]]":
    (tmp / "policies").mkdir()
    (tmp / "policies" / "support.yaml").write_text(POLICY)
    key = SigningKey.generate()
    key.save(tmp / "control.pem")
    roles = {
        "agent": ("support-host-eu-1", "agent"),
        "alice": ("alice@example.com", "approver"),
        "bob": ("bob@example.com", "approver"),
        "admin": ("ops@example.com", "admin"),
    }
    creds = [
        {"identity": i, "role": r, "key_sha256": hashlib.sha256(KEYS[n].encode()).hexdigest()}
        for n, (i, r) in roles.items()
    ]
    (tmp / "credentials.json").write_text(json.dumps({"credentials": creds}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    act = os.environ.get("ACT_BIN") or str(REPO / "target" / "debug" / "act")
    proc = subprocess.Popen(
        [
            act,
            "server",
            "--policy",
            str(tmp / "policies"),
            "--key",
            str(tmp / "control.pem"),
            "--credentials",
            str(tmp / "credentials.json"),
            "--state-dir",
            str(tmp / "state"),
            "--addr",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).close()
            return url, key, proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("act server did not start")


def seed(url: str, key: SigningKey, tmp: Path) -> None:
    issuer = ACT(policy_file=tmp / "policies", signing_key=SigningKey.generate())
    records: List[Dict[str, Any]] = []
    with ACT(
        endpoint=url,
        api_key=KEYS["agent"],
        trust_key=key.public_key,
        trusted_keys=[issuer.public_key],
        audit=records.append,
    ) as act:
        ids = []
        for user, amount, order in [("42", 300, "1001"), ("42", 180, "1002"), ("7", 450, "2210")]:
            token = issuer.issue_token(agent="customer-support-bot", user_context={"user_id": user})
            d = act.validate(
                token=token,
                action="process_refund",
                resource=f"order://customer:{user}/{order}",
                context={"amount": amount},
            )
            ids.append(call(url, KEYS["agent"], "POST", "/v1/approvals", d.to_dict()["approval_request"])["id"])
            act.validate(token=token, action="read_order", resource=f"order://customer:{user}/{order}")
        act.validate(token=token, action="process_refund", resource="order://customer:7/2210", context={"amount": 900})
        call(url, KEYS["alice"], "POST", f"/v1/approvals/{ids[2]}/grant", {"reason": "customer called; refund checked"})
        act.flush_audit()
    call(url, KEYS["agent"], "POST", "/v1/audit", records, headers={"X-Act-Instance": "sdk-python-eu1-7f3a9c2b1d"})
    call(
        url,
        KEYS["admin"],
        "POST",
        "/v1/kill-switches",
        {"on": True, "actions": ["delete_account"], "reason": "incident 4711: pause deletions"},
    )
    suite = (
        "tokens:\n  alice: {agent: customer-support-bot, user: {user_id: \"42\"}}\n"
        "tests:\n  - {name: own order, token: alice, action: read_order,"
        " resource: \"order://customer:42/1\", expect: allow}\n"
    )
    call(
        url,
        KEYS["admin"],
        "POST",
        "/v1/policies",
        {
            "files": {"support.yaml": POLICY.replace("maxAmount: 500", "maxAmount: 300"), "support_test.yaml": suite},
            "reason": "refunds above $300 go to finance",
        },
    )
    version = call(
        url,
        KEYS["admin"],
        "POST",
        "/v1/revocations",
        {"tokens": ["tok-leaked-3b1e"], "reason": "token pasted in a public ticket"},
    )["version"]
    for instance, v, breakers in [
        ("sdk-python-eu1-7f3a9c2b1d", version, []),
        ("sdk-node-us2-94be01aa77", version - 5000, [{"agent": "customer-support-bot", "subject": "7"}]),
    ]:
        call(
            url,
            KEYS["agent"],
            "POST",
            "/v1/status",
            {
                "instance_id": instance,
                "snapshot_version": v,
                "last_sync_ms": int(time.time() * 1000) - 1500,
                "last_error": None,
                "audit": {"queued": 0, "spilled": 0, "dropped": 0, "delivered": len(records)},
                "open_breakers": breakers,
            },
            headers={"X-Act-Instance": instance, "User-Agent": f"act-sdk/{instance.split('-')[1]}/0.1.0"},
        )


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/console/{name}.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url, key, proc = start(tmp)
        try:
            seed(url, key, tmp)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=os.environ.get("ACT_CHROMIUM", "/usr/bin/chromium"),
                    headless=True,
                    args=["--no-sandbox"],
                )
                for who, width, height in [("alice", 1280, 800), ("admin", 1280, 800)]:
                    ctx = browser.new_context(viewport={"width": width, "height": height})
                    page = ctx.new_page()
                    page.goto(url + "/console/login")
                    if who == "alice":
                        shoot(page, "login")
                    page.get_by_label("API key").fill(KEYS[who])
                    page.get_by_role("button", name="Log in").click()
                    page.wait_for_selector("h1")
                    if who == "alice":
                        shoot(page, "approvals")
                        phone = browser.new_context(
                            viewport={"width": 390, "height": 844}, storage_state=ctx.storage_state()
                        )
                        ph = phone.new_page()
                        ph.goto(url + "/console/approvals")
                        shoot(ph, "approvals-phone")
                        phone.close()
                    else:
                        for path, name in [
                            ("/console/switches", "switches"),
                            ("/console/fleet", "fleet"),
                            ("/console/policies", "policies"),
                            ("/console/audit?outcome=deny", "audit"),
                        ]:
                            page.goto(url + path)
                            shoot(page, name)
                        page.locator("#records tbody tr a").first.click()
                        shoot(page, "audit-detail")
                    ctx.close()
                browser.close()
        finally:
            proc.terminate()  # by its own pid
            proc.wait(timeout=10)


if __name__ == "__main__":
    main()
