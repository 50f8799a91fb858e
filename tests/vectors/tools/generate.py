#!/usr/bin/env python3
"""Writes the conformance vector suites in tests/vectors/ (the JSON files are the contract;
this script is how they were written). Hostile tokens come from
`cargo run -p act-core --example gen_attack_tokens`. Run: python3 tests/vectors/tools/generate.py"""

import json
import os
import subprocess

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..')
attack = json.loads(
    subprocess.check_output(['cargo', 'run', '-q', '-p', 'act-core', '--example', 'gen_attack_tokens'], cwd=ROOT)
)
SEEDS = {
    "issuer": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    "holder": "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8",
    "attacker": "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8",
}
NOW = 1800000000000  # 2027-01-15T08:00:00Z
DAY = 86400000

CS_POLICY = """agent: customer-support-bot
policy:
  actions:
    - read_order
    - process_refund
  resources:
    - "order://customer:{{authenticated_user_id}}/*"
  constraints:
    refunds:
      maxAmount: 500
      maxPerDay: 5
      requireSecondApproval: amount > 100
    orders:
      onlyOwnOrders: true
      maxRowsPerQuery: 50
    audit:
      logAllActions: true
      retainFor: 90days
"""


def write_vectors(name, suites):
    with open(os.path.join(ROOT, "tests/vectors", name), "w") as f:
        json.dump(suites, f, indent=1)


def step(name, token, action, resource, outcome, reason, context=None, **kw):
    s = {
        "name": name,
        "token": token,
        "action": action,
        "resource": resource,
        "context": context or {},
        "expect": {"outcome": outcome, "reason": reason},
    }
    for k in ("rule", "constraint", "message_contains"):
        if k in kw:
            s["expect"][k] = kw.pop(k)
    s.update(kw)
    return s


def suite(name, policy, steps, tokens, description="", **kw):
    s = {
        "name": name,
        "description": description,
        "now_ms": NOW,
        "keys": SEEDS,
        "signing_key": "issuer",
        "policy": policy,
        "tokens": tokens,
        "steps": steps,
    }
    s.update(kw)
    return s


def issue(agent, user, **kw):
    d = {"agent": agent, "user_context": {"user_id": user}}
    d.update(kw)
    return {"issue": d}


R = "process_refund"
READ = "read_order"


def order(user, n="1001"):
    return f"order://customer:{user}/{n}"


CSB = "customer-support-bot"


def C(key, action=R):
    return f"{CSB}/{action}/{key}"


customer_support = {
    "suites": [
        suite(
            "article customer-support policy, used as written",
            CS_POLICY,
            tokens={
                "alice": issue(CSB, "42", user_context={"user_id": "42", "roles": ["customer"]}, ttl=172800),
                "bob": issue(CSB, "7", ttl=172800),
            },
            description="Refunds capped at $500, five a day, human approval over $100, own orders only.",
            steps=[
                step(
                    "a $600 refund is over maxAmount",
                    "alice",
                    R,
                    order(42),
                    "deny",
                    "constraint_failed",
                    {"amount": 600},
                    rule=CSB,
                    constraint=C("maxAmount"),
                    message_contains="amount <= 500",
                ),
                step(
                    "a negative refund (a charge) is refused, not waved under the cap",
                    "alice",
                    R,
                    order(42),
                    "deny",
                    "constraint_failed",
                    {"amount": -600},
                    rule=CSB,
                    constraint=C("maxAmount"),
                    message_contains="amount >= 0",
                ),
                step(
                    "a $120 refund needs a second approval",
                    "alice",
                    R,
                    order(42),
                    "approval_required",
                    "approval_required",
                    {"amount": 120},
                    rule=CSB,
                    constraint=C("requireSecondApproval"),
                ),
                step(
                    "a $120.50 refund too (JSON numbers compare alike)",
                    "alice",
                    R,
                    order(42),
                    "approval_required",
                    "approval_required",
                    {"amount": 120.5},
                ),
                step("exactly $100 needs no approval", "bob", R, order(7), "allow", "allowed", {"amount": 100}),
                step(
                    "five $80 refunds a day are allowed",
                    "alice",
                    R,
                    order(42),
                    "allow",
                    "allowed",
                    {"amount": 80},
                    repeat=5,
                    rule=CSB,
                ),
                step(
                    "the sixth is rate limited",
                    "alice",
                    R,
                    order(42),
                    "deny",
                    "rate_limited",
                    {"amount": 80},
                    constraint=C("maxPerDay"),
                ),
                step(
                    "a denied or approval-pending request does not consume the limit",
                    "alice",
                    R,
                    order(42),
                    "deny",
                    "rate_limited",
                    {"amount": 80},
                ),
                step(
                    "24 hours later the window has rolled",
                    "alice",
                    R,
                    order(42),
                    "allow",
                    "allowed",
                    {"amount": 80},
                    advance_ms=DAY,
                ),
                step("own order can be read", "alice", READ, order(42), "allow", "allowed", {"rows": 1}),
                step(
                    "another customer's order cannot",
                    "alice",
                    READ,
                    order(43),
                    "deny",
                    "resource_not_allowed",
                    {"rows": 1},
                ),
                step("nor refunded", "alice", R, order(43), "deny", "resource_not_allowed", {"amount": 10}),
                step(
                    "over maxRowsPerQuery",
                    "alice",
                    READ,
                    order(42),
                    "deny",
                    "constraint_failed",
                    {"rows": 51},
                    constraint=C("maxRowsPerQuery", READ),
                ),
                step(
                    "a missing field denies and names it",
                    "alice",
                    READ,
                    order(42),
                    "deny",
                    "context_invalid",
                    {},
                    message_contains="`rows`",
                ),
                step(
                    "a wrongly typed field denies", "alice", R, order(42), "deny", "context_invalid", {"amount": "lots"}
                ),
                step("an action outside the policy", "alice", "delete_order", order(42), "deny", "action_not_allowed"),
                step(
                    "a dot-dot resource is refused",
                    "alice",
                    READ,
                    "order://customer:42/../43/1",
                    "deny",
                    "resource_invalid",
                    {"rows": 1},
                ),
                step(
                    "dry-run check consumes nothing",
                    "bob",
                    R,
                    order(7),
                    "allow",
                    "allowed",
                    {"amount": 50},
                    mode="check",
                ),
            ],
        ),
        suite(
            "approval round trip",
            CS_POLICY,
            tokens={"bob": issue(CSB, "7"), "carol": issue(CSB, "8")},
            steps=[
                step(
                    "ask",
                    "bob",
                    R,
                    order(7),
                    "approval_required",
                    "approval_required",
                    {"amount": 120},
                    approve_as="a1",
                ),
                step(
                    "a different amount is another request",
                    "bob",
                    R,
                    order(7),
                    "deny",
                    "approval_invalid",
                    {"amount": 130},
                    approval="a1",
                ),
                step(
                    "another user's token cannot use it",
                    "carol",
                    R,
                    order(8),
                    "deny",
                    "approval_invalid",
                    {"amount": 120},
                    approval="a1",
                ),
                step(
                    "deny beats approval: over maxAmount stays denied",
                    "bob",
                    R,
                    order(7),
                    "deny",
                    "constraint_failed",
                    {"amount": 600},
                    approval="a1",
                ),
                step(
                    "the approved request is allowed once",
                    "bob",
                    R,
                    order(7),
                    "allow",
                    "approved",
                    {"amount": 120},
                    approval="a1",
                ),
                step(
                    "a replay is refused",
                    "bob",
                    R,
                    order(7),
                    "deny",
                    "approval_replayed",
                    {"amount": 120},
                    approval="a1",
                ),
                step(
                    "without approval it asks again",
                    "bob",
                    R,
                    order(7),
                    "approval_required",
                    "approval_required",
                    {"amount": 120},
                ),
            ],
        ),
        suite(
            "template values never widen a grant",
            CS_POLICY,
            tokens={
                "star": issue(CSB, "*"),
                "dots": issue(CSB, "../43"),
                "slash": issue(CSB, "42/1001"),
                "wild_raw": {"raw": attack["wildcard_user"]},
            },
            steps=[
                step(
                    "a user id of * only matches a literal *",
                    "star",
                    READ,
                    order(43),
                    "deny",
                    "resource_not_allowed",
                    {"rows": 1},
                ),
                step(
                    "the literal * order is that user's own",
                    "star",
                    READ,
                    "order://customer:*/1",
                    "deny",
                    "resource_invalid",
                    {"rows": 1},
                ),
                step("a user id of ../43", "dots", READ, order(43), "deny", "resource_not_allowed", {"rows": 1}),
                step(
                    "a user id with a slash",
                    "slash",
                    READ,
                    "order://customer:42/1001/x",
                    "deny",
                    "resource_not_allowed",
                    {"rows": 1},
                ),
                step(
                    "a signed token with sub *",
                    "wild_raw",
                    READ,
                    order(43),
                    "deny",
                    "resource_not_allowed",
                    {"rows": 1},
                ),
            ],
        ),
    ]
}

tokens_suite = {
    "suites": [
        suite(
            "hostile and broken tokens",
            CS_POLICY,
            tokens={k: {"raw": v} for k, v in attack.items()}
            | {
                "expiring": issue(CSB, "42", ttl=60),
                "alice": issue(CSB, "42"),
                "foreign_issued": issue(CSB, "42", signed_by="attacker"),
                "tampered": {"tamper": {"token": "alice", "claims_patch": {"sub": "43", "ctx": {"user_id": "43"}}}},
            },
            steps=[
                step("a hand-made valid token", "valid", READ, order(42), "allow", "allowed", {"rows": 1}),
                step("alg none", "alg_none", READ, order(42), "deny", "token_alg_not_allowed", {"rows": 1}),
                step(
                    "HS256 keyed with the public key",
                    "hs256_public_key_secret",
                    READ,
                    order(42),
                    "deny",
                    "token_alg_not_allowed",
                    {"rows": 1},
                ),
                step(
                    "a jwk header carrying the attacker's key",
                    "embedded_jwk",
                    READ,
                    order(42),
                    "deny",
                    "token_header_forbidden",
                    {"rows": 1},
                ),
                step("a jku header", "jku_header", READ, order(42), "deny", "token_header_forbidden", {"rows": 1}),
                step("crit", "crit_header", READ, order(42), "deny", "token_header_forbidden", {"rows": 1}),
                step("no kid", "missing_kid", READ, order(42), "deny", "token_header_invalid", {"rows": 1}),
                step("typ JWT", "wrong_typ", READ, order(42), "deny", "token_header_invalid", {"rows": 1}),
                step("duplicate claim", "duplicate_claim", READ, order(42), "deny", "token_duplicate_key", {"rows": 1}),
                step("string exp", "string_exp", READ, order(42), "deny", "token_claim_invalid", {"rows": 1}),
                step("expired", "expired", READ, order(42), "deny", "token_expired", {"rows": 1}),
                step(
                    "signed by an untrusted key",
                    "foreign_key",
                    READ,
                    order(42),
                    "deny",
                    "token_unknown_key",
                    {"rows": 1},
                ),
                step(
                    "issued by an untrusted issuer",
                    "foreign_issued",
                    READ,
                    order(42),
                    "deny",
                    "token_unknown_key",
                    {"rows": 1},
                ),
                step(
                    "one flipped signature bit",
                    "bad_signature",
                    READ,
                    order(42),
                    "deny",
                    "token_signature_invalid",
                    {"rows": 1},
                ),
                step(
                    "claims edited after signing",
                    "tampered",
                    READ,
                    order(43),
                    "deny",
                    "token_signature_invalid",
                    {"rows": 1},
                ),
                step("garbage", None, READ, order(42), "deny", "token_malformed", {"rows": 1}, token_raw="not-a-token"),
                step("empty", None, READ, order(42), "deny", "token_malformed", {"rows": 1}, token_raw=""),
                step("valid until it expires", "expiring", READ, order(42), "allow", "allowed", {"rows": 1}),
                step(
                    "still valid within the 30s leeway",
                    "expiring",
                    READ,
                    order(42),
                    "allow",
                    "allowed",
                    {"rows": 1},
                    advance_ms=80000,
                ),
                step(
                    "then expired", "expiring", READ, order(42), "deny", "token_expired", {"rows": 1}, advance_ms=20000
                ),
            ],
        ),
        suite(
            "audience",
            CS_POLICY,
            audience="refund-service",
            tokens={
                "ours": issue(CSB, "42"),
                "theirs": {"raw": attack["other_audience"]},
                "none": {"raw": attack["valid"]},
            },
            steps=[
                step("issued here carries the audience", "ours", READ, order(42), "allow", "allowed", {"rows": 1}),
                step("another audience", "theirs", READ, order(42), "deny", "token_audience_mismatch", {"rows": 1}),
                step("no audience", "none", READ, order(42), "deny", "token_audience_mismatch", {"rows": 1}),
            ],
        ),
    ]
}
for s in tokens_suite["suites"][0]["steps"]:
    if s["token"] is None:
        del s["token"]

write_vectors('customer_support.json', customer_support)
write_vectors('tokens.json', tokens_suite)

HOUR = 3600000
EMAIL_POLICY = """agent: email-assistant
policy:
  actions: ["read"]
  resources: ["email://inbox/{{user.id}}/*"]
  constraints:
    - maxEmails: 50
    - onlyUnread: true
    - noAttachments: true
    - timeWindow: "last_7_days"
    - excludeFolders: ["personal", "drafts"]
    - requireKeywords: ["support", "ticket"]
"""
EA = "email-assistant"


def mail(**kw):
    m = {
        "unread": True,
        "has_attachments": False,
        "folder": "inbox",
        "subject": "Support: my order is late",
        "received_at": "2027-01-13T10:00:00Z",
    }
    m.update(kw)
    return m


email = suite(
    "article email assistant (list of one-key constraints)",
    EMAIL_POLICY,
    tokens={"alice": issue(EA, "alice", user_context={"user_id": "alice", "oauth_scopes": ["read:email"]})},
    steps=[
        step(
            "unread support mail from two days ago",
            "alice",
            "read",
            "email://inbox/alice/m1",
            "allow",
            "allowed",
            mail(),
        ),
        step(
            "already read",
            "alice",
            "read",
            "email://inbox/alice/m2",
            "deny",
            "constraint_failed",
            mail(unread=False),
            constraint=f"{EA}/*/onlyUnread",
        ),
        step(
            "with attachments",
            "alice",
            "read",
            "email://inbox/alice/m3",
            "deny",
            "constraint_failed",
            mail(has_attachments=True),
            constraint=f"{EA}/*/noAttachments",
        ),
        step(
            "older than 7 days",
            "alice",
            "read",
            "email://inbox/alice/m4",
            "deny",
            "constraint_failed",
            mail(received_at="2027-01-01T10:00:00Z"),
            constraint=f"{EA}/*/timeWindow",
        ),
        step(
            "in an excluded folder",
            "alice",
            "read",
            "email://inbox/alice/m5",
            "deny",
            "constraint_failed",
            mail(folder="personal"),
            constraint=f"{EA}/*/excludeFolders",
        ),
        step(
            "no support keyword",
            "alice",
            "read",
            "email://inbox/alice/m6",
            "deny",
            "constraint_failed",
            mail(subject="Lunch on Friday?"),
            constraint=f"{EA}/*/requireKeywords",
        ),
        step(
            "keywords match case-insensitively",
            "alice",
            "read",
            "email://inbox/alice/m7",
            "allow",
            "allowed",
            mail(subject="TICKET #42"),
        ),
        step("another user's mailbox", "alice", "read", "email://inbox/bob/m1", "deny", "resource_not_allowed", mail()),
        step(
            "without the facts the tool wrapper must supply",
            "alice",
            "read",
            "email://inbox/alice/m8",
            "deny",
            "context_invalid",
            {},
        ),
        step(
            "48 more reads fit the 50-email budget",
            "alice",
            "read",
            "email://inbox/alice/m9",
            "allow",
            "allowed",
            mail(),
            repeat=48,
        ),
        step(
            "the 51st read is over maxEmails",
            "alice",
            "read",
            "email://inbox/alice/m10",
            "deny",
            "rate_limited",
            mail(),
            constraint=f"{EA}/*/maxEmails",
        ),
    ],
)

DB_POLICY = """agent: db-writer
policy:
  action: write
  resource: database://customers
  constraints:
    - ifRateLimit: 100/hour not exceeded
    - ifUser: has role "agent_operator"
    - ifTime: between 9am-5pm EST
    - ifRiskScore: below 7.0
    - ifDataClassification: not "sensitive"
"""
DBW = "db-writer"


def row(**kw):
    r = {"risk_score": 3.5, "data_classification": "internal"}
    r.update(kw)
    return r


TEN_AM_EST = 1800025200000  # 2027-01-15T15:00:00Z
database = suite(
    "article runtime conditions (the unquoted ifRateLimit spelling)",
    DB_POLICY,
    now_ms=TEN_AM_EST,
    tokens={
        "op": issue(DBW, "u1", user_context={"user_id": "u1", "roles": ["agent_operator"]}, ttl=86400),
        "guest": issue(DBW, "u2", user_context={"user_id": "u2", "roles": ["viewer"]}),
        "noroles": issue(DBW, "u3"),
    },
    steps=[
        step(
            "an operator at 10am New York time, low risk",
            "op",
            "write",
            "database://customers",
            "allow",
            "allowed",
            row(),
        ),
        step(
            "risk 7.0 is not below 7.0",
            "op",
            "write",
            "database://customers",
            "deny",
            "constraint_failed",
            row(risk_score=7),
            constraint=f"{DBW}/*/ifRiskScore",
        ),
        step(
            "sensitive data",
            "op",
            "write",
            "database://customers",
            "deny",
            "constraint_failed",
            row(data_classification="sensitive"),
            constraint=f"{DBW}/*/ifDataClassification",
        ),
        step(
            "not an operator",
            "guest",
            "write",
            "database://customers",
            "deny",
            "constraint_failed",
            row(),
            constraint=f"{DBW}/*/ifUser",
        ),
        step(
            "no roles at all cannot be evaluated",
            "noroles",
            "write",
            "database://customers",
            "deny",
            "context_invalid",
            row(),
        ),
        step("another table", "op", "write", "database://orders", "deny", "resource_not_allowed", row()),
        step(
            "99 more writes within the hour",
            "op",
            "write",
            "database://customers",
            "allow",
            "allowed",
            row(),
            repeat=99,
        ),
        step(
            "the 101st in the hour is limited",
            "op",
            "write",
            "database://customers",
            "deny",
            "rate_limited",
            row(),
            constraint=f"{DBW}/*/ifRateLimit",
        ),
        step(
            "at 5:30pm New York time the window is closed",
            "op",
            "write",
            "database://customers",
            "deny",
            "constraint_failed",
            row(),
            advance_ms=7 * HOUR + 30 * 60000,
            constraint=f"{DBW}/*/ifTime",
        ),
        step(
            "at 9:00am the next day it opens again, and the hour has rolled",
            "op",
            "write",
            "database://customers",
            "allow",
            "allowed",
            row(),
            advance_ms=15 * HOUR + 30 * 60000,
        ),
    ],
)
database_quoted = suite(
    "the quoted ifRateLimit spelling",
    DB_POLICY.replace('ifRateLimit: 100/hour not exceeded', 'ifRateLimit: "2/hour"'),
    now_ms=TEN_AM_EST,
    tokens={"op": issue(DBW, "u1", user_context={"user_id": "u1", "roles": ["agent_operator"]})},
    steps=[
        step("two writes", "op", "write", "database://customers", "allow", "allowed", row(), repeat=2),
        step("the third within the hour", "op", "write", "database://customers", "deny", "rate_limited", row()),
        step(
            "the window is rolling: 59 minutes later still limited",
            "op",
            "write",
            "database://customers",
            "deny",
            "rate_limited",
            row(),
            advance_ms=59 * 60000,
        ),
        step(
            "an hour after the first, one slot frees",
            "op",
            "write",
            "database://customers",
            "allow",
            "allowed",
            row(),
            advance_ms=60000,
        ),
    ],
)

SALES_POLICY = """agent: sales-assistant
policy:
  actions:
    - read_customer
    - create_quote
    - send_email
  resources:
    - "customer://region:{{agent.assigned_region}}/*"
    - "quote://sales_rep:{{agent.user_id}}/*"
  constraints:
    quotes:
      maxDiscount: 15%
      requireApproval: discount > 10%
    emails:
      allowedDomains: ["@company.com", "@partner.com"]
      maxPerDay: 100
"""
SA = "sales-assistant"
rep = {"assigned_region": "emea", "user_id": "rep-7"}
sales = suite(
    "article sales assistant (agent templates, percentages, domains)",
    SALES_POLICY,
    tokens={"rep": issue(SA, "rep-7", agent_context=rep), "bare": issue(SA, "rep-8")},
    steps=[
        step(
            "a customer in the agent's region",
            "rep",
            "read_customer",
            "customer://region:emea/acme",
            "allow",
            "allowed",
        ),
        step("another region", "rep", "read_customer", "customer://region:us/acme", "deny", "resource_not_allowed"),
        step(
            "a token without the agent's region",
            "bare",
            "read_customer",
            "customer://region:emea/acme",
            "deny",
            "template_unresolved",
            message_contains="{{agent.assigned_region}}",
        ),
        step(
            "an 8% discount", "rep", "create_quote", "quote://sales_rep:rep-7/q1", "allow", "allowed", {"discount": 8}
        ),
        step(
            "12% needs approval",
            "rep",
            "create_quote",
            "quote://sales_rep:rep-7/q1",
            "approval_required",
            "approval_required",
            {"discount": 12},
            constraint=f"{SA}/create_quote/requireApproval",
        ),
        step(
            "20% is over the cap",
            "rep",
            "create_quote",
            "quote://sales_rep:rep-7/q1",
            "deny",
            "constraint_failed",
            {"discount": 20},
            constraint=f"{SA}/create_quote/maxDiscount",
        ),
        step(
            "another rep's quotes",
            "rep",
            "create_quote",
            "quote://sales_rep:rep-9/q1",
            "deny",
            "resource_not_allowed",
            {"discount": 5},
        ),
        step(
            "email to a company address",
            "rep",
            "send_email",
            "customer://region:emea/acme",
            "allow",
            "allowed",
            {"to": "Bob@Company.com"},
        ),
        step(
            "email to a partner and a colleague",
            "rep",
            "send_email",
            "customer://region:emea/acme",
            "allow",
            "allowed",
            {"to": ["a@partner.com", "b@company.com"]},
        ),
        step(
            "email to an outside domain",
            "rep",
            "send_email",
            "customer://region:emea/acme",
            "deny",
            "constraint_failed",
            {"to": "x@evil.com"},
            constraint=f"{SA}/send_email/allowedDomains",
        ),
        step(
            "a look-alike domain",
            "rep",
            "send_email",
            "customer://region:emea/acme",
            "deny",
            "constraint_failed",
            {"to": "x@company.com.evil.com"},
        ),
        step(
            "one bad recipient among good ones",
            "rep",
            "send_email",
            "customer://region:emea/acme",
            "deny",
            "constraint_failed",
            {"to": ["a@company.com", "x@evil.com"]},
        ),
        step(
            "quote constraints do not apply to emails",
            "rep",
            "send_email",
            "customer://region:emea/acme",
            "allow",
            "allowed",
            {"to": "c@company.com"},
        ),
    ],
)

CODE_POLICY = """agent: code-assistant
policy:
  actions: [read_file]
  resources:
    - "repo://acme/app/**"
    - "!repo://acme/app/secrets/**"
  excludeResources: ["repo://acme/app/**/.env"]
  constraints:
    audit:
      logAllActions: true
"""
CA = "code-assistant"
code = suite(
    "article code access: read code, never .env or secrets/",
    CODE_POLICY,
    tokens={"t": issue(CA, "dev-1")},
    steps=[
        step("a source file", "t", "read_file", "repo://acme/app/src/main.rs", "allow", "allowed"),
        step("a nested source file", "t", "read_file", "repo://acme/app/src/a/b/c.rs", "allow", "allowed"),
        step(
            "the top-level .env",
            "t",
            "read_file",
            "repo://acme/app/.env",
            "deny",
            "resource_not_allowed",
            message_contains="excluded",
        ),
        step("a nested .env", "t", "read_file", "repo://acme/app/config/.env", "deny", "resource_not_allowed"),
        step(
            "a file in secrets/", "t", "read_file", "repo://acme/app/secrets/prod.key", "deny", "resource_not_allowed"
        ),
        step(".env.example is not .env", "t", "read_file", "repo://acme/app/.env.example", "allow", "allowed"),
        step("another repository", "t", "read_file", "repo://acme/other/x.rs", "deny", "resource_not_allowed"),
    ],
)

TRADING_POLICY = """agent: trading-bot
policy:
  actions: [place_trade]
  resources: ["account://{{user.account_id}}/*"]
  constraints:
    maxAmount: 10000
    maxPerDay: 3
    ifRiskScore: below 7.0
    ifTime: between 9:30am-4pm America/New_York on weekdays
"""
TB = "trading-bot"
trading = suite(
    "trading bot: caps, daily limit, risk, trading hours",
    TRADING_POLICY,
    now_ms=TEN_AM_EST,
    tokens={"t": issue(TB, "desk-1", user_context={"user_id": "desk-1", "account_id": "ACC-9"}, ttl=7 * 86400)},
    steps=[
        step(
            "a small trade at 10am on a Friday",
            "t",
            "place_trade",
            "account://ACC-9/AAPL",
            "allow",
            "allowed",
            {"amount": 2500, "risk_score": 2},
        ),
        step(
            "too large",
            "t",
            "place_trade",
            "account://ACC-9/AAPL",
            "deny",
            "constraint_failed",
            {"amount": 20000, "risk_score": 2},
            constraint=f"{TB}/*/maxAmount",
        ),
        step(
            "too risky",
            "t",
            "place_trade",
            "account://ACC-9/AAPL",
            "deny",
            "constraint_failed",
            {"amount": 100, "risk_score": 9.5},
        ),
        step(
            "another account",
            "t",
            "place_trade",
            "account://ACC-1/AAPL",
            "deny",
            "resource_not_allowed",
            {"amount": 100, "risk_score": 2},
        ),
        step(
            "two more trades",
            "t",
            "place_trade",
            "account://ACC-9/MSFT",
            "allow",
            "allowed",
            {"amount": 100, "risk_score": 2},
            repeat=2,
        ),
        step(
            "the fourth today",
            "t",
            "place_trade",
            "account://ACC-9/MSFT",
            "deny",
            "rate_limited",
            {"amount": 100, "risk_score": 2},
        ),
        step(
            "Saturday 10am: markets closed",
            "t",
            "place_trade",
            "account://ACC-9/MSFT",
            "deny",
            "constraint_failed",
            {"amount": 100, "risk_score": 2},
            advance_ms=24 * HOUR,
        ),
        step(
            "Monday 9:15am: before the open",
            "t",
            "place_trade",
            "account://ACC-9/MSFT",
            "deny",
            "constraint_failed",
            {"amount": 100, "risk_score": 2},
            advance_ms=47 * HOUR + 15 * 60000,
        ),
        step(
            "Monday 9:30am: open",
            "t",
            "place_trade",
            "account://ACC-9/MSFT",
            "allow",
            "allowed",
            {"amount": 100, "risk_score": 2},
            advance_ms=15 * 60000,
        ),
    ],
)

article = {"suites": [email, database, database_quoted, sales, code, trading]}
write_vectors('article.json', article)

# ---- delegation, revocation, kill switches, breaker, inline capabilities, policy errors
deleg = suite(
    "delegation to a sub-agent only narrows",
    CS_POLICY,
    tokens={
        "parent": issue(CSB, "42", holder="holder", ttl=7200),
        "child": {
            "delegate": {
                "parent": "parent",
                "holder": "holder",
                "agent": "refund-worker",
                "ttl": 600,
                "policy": {
                    "actions": ["process_refund"],
                    "resources": ["order://customer:{{authenticated_user_id}}/*"],
                    "constraints": {"maxAmount": 50},
                },
            }
        },
        "wide_child": {
            "delegate": {
                "parent": "parent",
                "holder": "holder",
                "agent": "refund-worker",
                "ttl": 600,
                "policy": {"actions": ["process_refund", "delete_order"], "resources": ["order://**"]},
            }
        },
        "plain": issue(CSB, "42"),
        "forged_child": {"delegate": {"parent": "parent", "holder": "holder", "agent": "refund-worker", "ttl": 600}},
    },
    steps=[
        step("the child may refund within its own cap", "child", R, order(42), "allow", "allowed", {"amount": 40}),
        step(
            "over the child's $50 cap",
            "child",
            R,
            order(42),
            "deny",
            "constraint_failed",
            {"amount": 80},
            constraint="refund-worker/*/maxAmount",
        ),
        step(
            "the parent's constraints still apply",
            "wide_child",
            R,
            order(42),
            "deny",
            "constraint_failed",
            {"amount": 600},
            constraint=C("maxAmount"),
        ),
        step(
            "the child was not handed read_order", "child", READ, order(42), "deny", "action_not_allowed", {"rows": 1}
        ),
        step(
            "a wider child cannot exceed its parent's actions",
            "wide_child",
            "delete_order",
            order(42),
            "deny",
            "action_not_allowed",
        ),
        step("nor its parent's resources", "wide_child", R, order(43), "deny", "resource_not_allowed", {"amount": 10}),
        step(
            "the child's limits are its parent's (same subject, same rule)",
            "child",
            R,
            order(42),
            "allow",
            "allowed",
            {"amount": 10},
            repeat=4,
        ),
        step(
            "the sixth refund for the user is over maxPerDay",
            "child",
            R,
            order(42),
            "deny",
            "rate_limited",
            {"amount": 10},
        ),
        step(
            "the child never outlives the parent's cap on ttl",
            "child",
            R,
            order(42),
            "deny",
            "token_expired",
            {"amount": 10},
            advance_ms=700000,
        ),
    ],
)
# A child signed by a key that is not the parent's holder key.
deleg["tokens"]["forged_child"] = {
    "delegate": {"parent": "parent", "holder": "attacker", "agent": "refund-worker", "ttl": 600}
}
del deleg["tokens"]["forged_child"]

REVOKED = (
    CS_POLICY
    + """---
revocations:
  tokens: ["vector-jti-1"]
  subjects: ["13"]
  grants:
    - agent: customer-support-bot
      action: process_refund
      subject: "7"
"""
)
revocations = suite(
    "revocations",
    REVOKED,
    tokens={
        "revoked": {"raw": attack["valid"]},
        "user13": issue(CSB, "13"),
        "user7": issue(CSB, "7"),
        "user8": issue(CSB, "8"),
    },
    steps=[
        step("a revoked token", "revoked", READ, order(42), "deny", "token_revoked", {"rows": 1}),
        step("a revoked subject", "user13", READ, order(13), "deny", "subject_revoked", {"rows": 1}),
        step("one revoked grant for one subject", "user7", R, order(7), "deny", "grant_revoked", {"amount": 10}),
        step("the other grants of that subject stand", "user7", READ, order(7), "allow", "allowed", {"rows": 1}),
        step("the same grant for another subject stands", "user8", R, order(8), "allow", "allowed", {"amount": 10}),
    ],
)
KILLED = (
    CS_POLICY
    + """---
killSwitches:
  actions: [process_refund]
"""
)
kill = suite(
    "kill switch for one action",
    KILLED,
    tokens={"t": issue(CSB, "42")},
    steps=[
        step("refunds are stopped", "t", R, order(42), "deny", "kill_switch", {"amount": 10}),
        step("reads go on", "t", READ, order(42), "allow", "allowed", {"rows": 1}),
    ],
)
KILL_AGENT = (
    CS_POLICY
    + """---
killSwitches:
  agents: [customer-support-bot]
revocations:
  agents: [other-bot]
"""
)
kill_agent = suite(
    "kill switch for one agent",
    KILL_AGENT,
    tokens={"t": issue(CSB, "42")},
    steps=[
        step("everything the agent does is stopped", "t", READ, order(42), "deny", "kill_switch", {"rows": 1}),
    ],
)
BREAKER = """agent: customer-support-bot
policy:
  actions: [read_order]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  circuitBreaker:
    maxDenials: 3
    window: 1m
    coolDown: 5m
"""
breaker = suite(
    "circuit breaker",
    BREAKER,
    tokens={"t": issue(CSB, "42")},
    steps=[
        step("a denial", "t", READ, order(43), "deny", "resource_not_allowed", repeat=2),
        step("a good request still passes", "t", READ, order(42), "allow", "allowed"),
        step(
            "the third denial in a minute opens the breaker",
            "t",
            "delete_order",
            order(42),
            "deny",
            "action_not_allowed",
        ),
        step("now even good requests are paused", "t", READ, order(42), "deny", "circuit_open"),
        step("after the cool-down it closes", "t", READ, order(42), "allow", "allowed", advance_ms=300001),
    ],
)
OTHER = """agent: some-other-agent
policy:
  actions: [noop]
  resources: ["noop://x"]
"""
inline = suite(
    "article inline policy in issue_token (flat constraint map)",
    OTHER,
    tokens={
        "t": issue(
            EA,
            "alice",
            user_context={"user_id": "alice", "oauth_scopes": ["read:email", "write:calendar"]},
            policy={
                "actions": ["read"],
                "resources": ["email://alice/*"],
                "constraints": {"maxEmails": 2, "onlyUnread": True},
            },
        )
    },
    steps=[
        step(
            "an unread email of alice", "t", "read", "email://alice/e1", "allow", "allowed", {"unread": True}, rule=EA
        ),
        step("a read email", "t", "read", "email://alice/e2", "deny", "constraint_failed", {"unread": False}),
        step("bob's email", "t", "read", "email://bob/e1", "deny", "resource_not_allowed", {"unread": True}),
        step("the second", "t", "read", "email://alice/e3", "allow", "allowed", {"unread": True}),
        step(
            "over the token's email budget", "t", "read", "email://alice/e4", "deny", "rate_limited", {"unread": True}
        ),
    ],
)

SMALL_BUDGET = """agent: email-assistant
policy:
  actions: [read]
  resources: ["email://{{user.id}}/*"]
  constraints:
    maxEmails: 3
"""
layered = suite(
    "a limit repeated in the token's capability counts once in each layer",
    SMALL_BUDGET,
    tokens={
        "t": issue(
            EA,
            "alice",
            user_context={"user_id": "alice"},
            policy={"actions": ["read"], "resources": ["email://alice/*"], "constraints": {"maxEmails": 10}},
        )
    },
    description="Both budgets bind; each read is counted once against each, so the file's 3 binds first (not after 2).",
    steps=[
        step("three reads fit the policy file's budget", "t", "read", "email://alice/e1", "allow", "allowed", repeat=3),
        step(
            "the fourth is over it",
            "t",
            "read",
            "email://alice/e4",
            "deny",
            "rate_limited",
            constraint=f"{EA}/*/maxEmails",
            message_contains="3 per token",
        ),
    ],
)


def perr(name, policy, *needles):
    return {
        "name": name,
        "now_ms": NOW,
        "keys": SEEDS,
        "signing_key": "issuer",
        "policy": policy,
        "policy_error": {"contains": list(needles)},
    }


errors = {
    "suites": [
        perr(
            "a typo names file, line, key and a suggestion",
            CS_POLICY.replace("maxAmount: 500", "maxAmont: 500"),
            "policy.yaml:10:7:",
            "policy.constraints.refunds.maxAmont",
            "did you mean `maxAmount`",
        ),
        perr(
            "a broken CEL expression",
            CS_POLICY.replace("amount > 100", "amount >"),
            "policy.yaml:12:",
            "invalid CEL",
            "requireSecondApproval",
        ),
        perr(
            "the article's literal ifRateLimit line is not YAML",
            DB_POLICY.replace("ifRateLimit: 100/hour not exceeded", 'ifRateLimit: "100/hour" not exceeded'),
            "policy.yaml:6",
            "invalid YAML",
        ),
        perr(
            "a group that names no action",
            CS_POLICY.replace("refunds:", "payments:"),
            "policy.yaml:9:",
            "constraint group `payments` names no action",
        ),
        perr(
            "an ambiguous group",
            CS_POLICY.replace("- process_refund", "- process_refund\n    - cancel_refund"),
            "ambiguous",
            "process_refund",
            "cancel_refund",
        ),
        perr(
            "an unknown template",
            CS_POLICY.replace("{{authenticated_user_id}}", "{{authenticated_user}}"),
            "unknown template",
        ),
        perr(
            "onlyOwnOrders with a resource not scoped by the user",
            CS_POLICY.replace("order://customer:{{authenticated_user_id}}/*", "order://**"),
            "onlyOwn",
            "order://**",
        ),
        perr(
            "a duplicate key",
            CS_POLICY.replace("maxPerDay: 5", "maxPerDay: 5\n      maxPerDay: 6"),
            "duplicate key `maxPerDay`",
        ),
        perr(
            "an unknown top-level key",
            CS_POLICY.replace("agent:", "agnet:"),
            "unknown key `agnet`",
            "did you mean `agent`",
        ),
        perr(
            "a wrong type", CS_POLICY.replace("maxPerDay: 5", "maxPerDay: five"), "maxPerDay", "positive whole number"
        ),
        perr("a bad time zone", DB_POLICY.replace("EST", "Mars/Olympus"), "unknown time zone `Mars/Olympus`"),
        perr(
            "every problem at once, not just the first",
            CS_POLICY.replace("maxAmount: 500", "maxAmont: 500").replace("maxPerDay: 5", "maxPerDay: -1"),
            "maxAmont",
            "maxPerDay",
        ),
    ]
}
write_vectors('lifecycle.json', {"suites": [deleg, revocations, kill, kill_agent, breaker, inline, layered]})
write_vectors('policy_errors.json', errors)

SF_POLICY = """agent: salesforce-agent
policy:
  actions: [read_lead]
  resources: ["salesforce://leads/*"]
  constraints:
    - rateLimit: 1000/hour
"""
sf = suite(
    "article Salesforce: read-only on leads, max 1000/hour",
    SF_POLICY,
    tokens={"t": issue("salesforce-agent", "ops")},
    steps=[
        step("read a lead", "t", "read_lead", "salesforce://leads/00Q1", "allow", "allowed"),
        step("no write action is granted", "t", "update_lead", "salesforce://leads/00Q1", "deny", "action_not_allowed"),
        step("no other object", "t", "read_lead", "salesforce://accounts/001", "deny", "resource_not_allowed"),
        step("999 more reads this hour", "t", "read_lead", "salesforce://leads/00Q2", "allow", "allowed", repeat=999),
        step("the 1001st", "t", "read_lead", "salesforce://leads/00Q3", "deny", "rate_limited"),
    ],
)
article["suites"].append(sf)
write_vectors('article.json', article)
