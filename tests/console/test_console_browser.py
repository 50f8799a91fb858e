"""The operator console in a real headless browser (Debian's chromium driven by Playwright),
against a real `act server` subprocess on loopback, with the Python SDK as the agent."""

import hashlib
import json
import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from act_sdk import ACT, SigningKey
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ACT_CHROMIUM", "/usr/bin/chromium")
AGENT = "customer-support-bot"
ORDER = "order://customer:42/1001"
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

KEYS = {role: f"{role}-{secrets.token_urlsafe(18)}" for role in ["agent", "issuer", "alice", "bob", "admin"]}


def act_binary() -> Path:
    for candidate in [os.environ.get("ACT_BIN"), REPO / "target" / "debug" / "act"]:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail("the `act` binary is not built (tests/console/run.sh builds it: cargo build -p act-cli)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, url: str, key: SigningKey, proc: "subprocess.Popen[bytes]") -> None:
        self.url = url
        self.key = key
        self.proc = proc

    def call(self, key: str, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {key}")
        req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
            return json.loads(text) if text else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("console")
    (tmp / "policies").mkdir()
    (tmp / "policies" / "support.yaml").write_text(POLICY)
    key = SigningKey.generate()
    key.save(tmp / "control.pem")
    roles = {"agent": "agent", "issuer": "issuer", "alice": "approver", "bob": "approver", "admin": "admin"}
    identities = {
        "agent": "support-host",
        "issuer": "minter",
        "alice": "alice@example.com",
        "bob": "bob@example.com",
        "admin": "ops@example.com",
    }
    creds = []
    for name, role in roles.items():
        entry = {
            "identity": identities[name],
            "role": role,
            "key_sha256": hashlib.sha256(KEYS[name].encode()).hexdigest(),
        }
        if role == "issuer":
            entry["agents"] = ["*"]
        creds.append(entry)
    (tmp / "credentials.json").write_text(json.dumps({"credentials": creds}))
    port = free_port()
    proc = subprocess.Popen(
        [
            str(act_binary()),
            "server",
            "--policy",
            str(tmp / "policies"),
            "--key",
            str(tmp / "control.pem"),
            "--credentials",
            str(tmp / "credentials.json"),
            "--state-dir",
            str(tmp / "state"),
            "--audit-log",
            str(tmp / "audit.jsonl"),
            "--addr",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                pytest.fail(f"act server did not start: {proc.stdout.read().decode() if proc.stdout else ''}")
            time.sleep(0.05)
    try:
        yield Server(url, key, proc)
    finally:
        proc.terminate()  # by its own pid, never by name
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


Agent = Tuple[ACT, str, List[Dict[str, Any]]]


@pytest.fixture(scope="module")
def agent(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """The SDK in endpoint mode (long-polling the server), a token for user 42, and its audit records."""
    policies = tmp_path_factory.mktemp("issuer") / "support.yaml"
    policies.write_text(POLICY)
    issuer = ACT(policy_file=policies, signing_key=SigningKey.generate())
    token = issuer.issue_token(agent=AGENT, user_context={"user_id": "42"})
    records: List[Dict[str, Any]] = []
    with ACT(
        endpoint=server.url,
        api_key=KEYS["agent"],
        trust_key=server.key.public_key,
        trusted_keys=[issuer.public_key],
        audit=records.append,
    ) as act:
        assert act.status["snapshot_version"] >= 1, act.status
        yield act, token, records


def login(browser: Browser, server: Server, who: str) -> Tuple[BrowserContext, Page]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(server.url + "/console/login")
    page.get_by_label("API key").fill(KEYS[who])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Approvals", exact=True)).to_be_visible()
    return ctx, page


def refund(agent: Agent, amount: int, approval: Optional[str] = None) -> Any:
    act, token, _ = agent
    return act.validate(
        token=token, action="process_refund", resource=ORDER, context={"amount": amount}, approval=approval
    )


def ask(server: Server, agent: Agent, amount: int) -> str:
    """The agent's approval_required decision, posted as core serialises its approval_request."""
    d = refund(agent, amount)
    assert d.outcome == "approval_required", d
    created = server.call(KEYS["agent"], "POST", "/v1/approvals", d.to_dict()["approval_request"])
    return str(created["id"])


def test_an_agent_key_cannot_log_in(browser: Browser, server: Server) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(server.url + "/console/login")
    page.get_by_label("API key").fill(KEYS["agent"])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_contain_text("role agent")
    assert not [c for c in ctx.cookies() if c["name"] == "act_console"], "no session for an agent key"
    page.goto(server.url + "/console/approvals")
    assert page.url.endswith("/console/login")
    ctx.close()


def test_a_request_is_approved_in_the_browser_and_used_exactly_once(
    browser: Browser, server: Server, agent: Agent
) -> None:
    alice, page = login(browser, server, "alice")
    # The inbox is open before the request exists: it must appear without a reload.
    request_id = ask(server, agent, 300)
    card = page.locator(f'article[data-id="{request_id}"]')
    expect(card).to_be_visible(timeout=6000)
    expect(card.locator(".arg-value")).to_have_text("300")
    expect(page).to_have_title("(1) Approvals · ACT console")
    expect(card).to_contain_text("customer-support-bot/process_refund/requireSecondApproval")
    expect(card).to_contain_text("amount > 100")
    card.get_by_label("Reason").fill("customer called, refund checked")
    card.get_by_role("button", name="Approve").click()
    expect(page.locator("#notice")).to_contain_text("granted")

    decided = server.call(KEYS["agent"], "GET", f"/v1/approvals/{request_id}?wait=5")
    assert decided["status"] == "granted" and decided["decided_by"] == "alice@example.com"
    first = refund(agent, 300, approval=decided["approval"])
    second = refund(agent, 300, approval=decided["approval"])
    assert (first.allowed, first.reason) == (True, "approved")
    assert (second.allowed, second.reason) == (False, "approval_replayed")

    bob, bob_page = login(browser, server, "bob")
    bob_page.get_by_label("Status").select_option("granted")
    bob_page.get_by_role("button", name="Search").click()
    row = bob_page.locator(f'#decided tr[data-id="{request_id}"]')
    expect(row).to_contain_text("granted")
    expect(row).to_contain_text("alice@example.com")
    expect(bob_page.locator(f'article[data-id="{request_id}"]')).to_have_count(0)
    alice.close()
    bob.close()


def test_forged_form_posts_are_refused(browser: Browser, server: Server, agent: Agent) -> None:
    request_id = ask(server, agent, 350)
    ctx, page = login(browser, server, "alice")
    card = page.locator(f'article[data-id="{request_id}"]')
    expect(card).to_be_visible()
    # The console's own form, its CSRF token stripped: refused with a clear 403.
    card.locator('input[name="csrf"]').evaluate("el => el.remove()")
    card.get_by_label("Reason").fill("forged")
    with page.expect_response(lambda r: "/decide" in r.url) as answer:
        card.get_by_role("button", name="Approve").click()
    assert answer.value.status == 403
    expect(page.get_by_role("heading", name="Refused: missing or wrong CSRF token")).to_be_visible()
    # A cross-site page posting the same form: the SameSite=Strict cookie stays home.
    evil = ctx.new_page()
    evil.set_content(
        f'<form method="post" action="{server.url}/console/approvals/{request_id}/decide">'
        '<input name="decision" value="grant"><input name="reason" value="x"><button>go</button></form>'
    )
    with evil.expect_response(lambda r: "/decide" in r.url) as answer:
        evil.get_by_role("button", name="go").click()
    assert answer.value.status in (401, 403)
    assert server.call(KEYS["admin"], "GET", f"/v1/approvals/{request_id}")["status"] == "pending"
    ctx.close()


def test_a_kill_switch_flipped_in_the_console_denies_within_a_second(
    browser: Browser, server: Server, agent: Agent
) -> None:
    act, token, _ = agent
    assert act.validate(token=token, action="read_order", resource=ORDER).allowed
    ctx, page = login(browser, server, "admin")
    page.get_by_role("link", name="Kill switches & revocations").click()
    form = page.locator("#kill-form")
    form.get_by_label("Deny").select_option("agent")
    form.get_by_label("Agent or action").fill(AGENT)
    form.get_by_label("Reason").fill("runaway refunds at 3 a.m.")
    form.get_by_label("I confirm").check()
    # Timed from the click: the browser's post, the server's new snapshot, the SDK's long poll.
    flipped = time.monotonic()
    form.get_by_role("button", name="Turn on").click()
    while True:
        d = act.validate(token=token, action="read_order", resource=ORDER)
        if d.reason == "kill_switch":
            print(f"kill switch reached the SDK {1000 * (time.monotonic() - flipped):.0f} ms after the click")
            break
        assert time.monotonic() - flipped < 1.0, f"still {d.reason} after a second"
        time.sleep(0.01)
    expect(page.locator("#switches")).to_contain_text(AGENT)
    expect(page.locator("#history")).to_contain_text("runaway refunds at 3 a.m.")
    # Lifted again through the console (with its own reason and confirmation).
    lift = page.locator("#switches form")
    lift.get_by_label("Reason").fill("fixed")
    lift.get_by_label("I confirm lifting").check()
    lift.get_by_role("button", name="Lift").click()
    expect(page.locator("#no-switches")).to_be_visible()
    ctx.close()


def test_a_pushed_version_is_diffed_and_rolled_back_in_the_console(browser: Browser, server: Server) -> None:
    stricter = POLICY.replace("maxAmount: 500", "maxAmount: 200")
    assert stricter != POLICY
    pushed = server.call(
        KEYS["admin"], "POST", "/v1/policies", {"files": {"support.yaml": stricter}, "reason": "lower refund limit"}
    )
    ctx, page = login(browser, server, "admin")
    page.get_by_role("link", name="Policies").click()
    expect(page.locator("#current")).to_have_text(str(pushed["version"]))
    expect(page.locator("#versions")).to_contain_text("lower refund limit")
    page.get_by_role("link", name=f"from {pushed['version'] - 1}").click()
    expect(page.locator("#diff .diff-add").filter(has_text="200")).to_have_count(1)
    page.goto(server.url + f"/console/policies?v={pushed['version'] - 1}")
    form = page.locator("#rollback-form")
    form.get_by_label("Reason").fill("finance is not ready")
    form.get_by_label("I confirm").check()
    form.get_by_role("button", name="Roll back").click()
    expect(page.locator("#current")).to_have_text(str(pushed["version"] + 1))
    expect(page.locator("#versions")).to_contain_text("finance is not ready")
    ctx.close()


def test_an_audit_search_finds_a_denied_call_and_shows_its_reason(
    browser: Browser, server: Server, agent: Agent
) -> None:
    denied = refund(agent, 900)
    assert denied.reason == "constraint_failed", denied
    act, _, records = agent
    act.flush_audit()
    assert records, "the SDK recorded its decisions"
    # In endpoint mode the SDK ships its own audit chain to POST /v1/audit, under its instance id.
    assert act.wait_audit_delivered(10), act.status
    ctx, page = login(browser, server, "admin")
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Reason").select_option("constraint_failed")
    page.get_by_label("Agent").fill(AGENT)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#records tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("constraint_failed")
    rows.first.get_by_role("link").click()
    detail = page.locator("#detail")
    expect(detail).to_contain_text("constraint_failed")
    expect(detail).to_contain_text(denied.message)
    expect(page.locator("table.args")).to_contain_text("900")
    page.get_by_role("link", name="Back to the search").click()
    expect(page.locator("#chains")).to_contain_text(act.instance_id)
    ctx.close()


UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
    .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
    .map((el) => el.name || el.id)"""


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_labels_its_controls_and_fits_the_screen(browser: Browser, server: Server, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.goto(server.url + "/console/login")
    assert page.evaluate(UNLABELLED) == []
    page.get_by_label("API key").fill(KEYS["admin"])
    page.keyboard.press("Enter")  # the keyboard alone logs in
    expect(page.get_by_role("heading", name="Approvals", exact=True)).to_be_visible()
    for path in ["/console/approvals", "/console/switches", "/console/audit", "/console/fleet", "/console/policies"]:
        page.goto(server.url + path)
        assert page.evaluate(UNLABELLED) == [], path
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} is {overflow}px wider than a {width}px screen"
    ctx.close()
