#!/usr/bin/env python3
"""Writes tests/vectors/policy_rules.json: policies that must never be silently inert, and
requests whose resource or action must mean what the policy owner meant (issue 15).
Run: python3 tests/vectors/tools/policy_rules.py"""

import vectorlib
from vectorlib import perr, write

BOT = "bot"


def step(name, action, resource, outcome, reason, context=None, token="alice", **expect):
    e = {"outcome": outcome, "reason": reason}
    e.update(expect)
    s = {"name": name, "token": token, "action": action, "resource": resource, "context": context or {}, "expect": e}
    if token is None:  # a literal token string instead of a named one
        del s["token"]
        s["token_raw"] = "Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln"
    return s


def suite(name, description, policy, steps):
    return vectorlib.suite(name, description, policy, vectorlib.alice(BOT), steps)


def allow(name, action, resource, context=None):
    return step(name, action, resource, "allow", "allowed", context)


def deny(name, action, resource, reason, context=None, **kw):
    return step(name, action, resource, "deny", reason, context, **kw)


# ---- 1. constraint groups and glob actions -------------------------------------------------

GLOB_ACTION = """agent: bot
policy:
  actions: ["refund_*", read_order]
  resources: ["order://**"]
  constraints:
    refunds:
      maxAmount: 500
      requireApproval: amount > 100
"""

GLOB_GROUP = """agent: bot
policy:
  actions: [refund_full, refund_partial, read_order]
  resources: ["order://**"]
  constraints:
    "refund_*":
      maxAmount: 500
"""

groups = [
    suite(
        "a group resolving to a glob action applies to every action it covers",
        "`refunds` names the glob action `refund_*`; its cap and approval apply to refund_full, refund_x, ...",
        GLOB_ACTION,
        [
            deny(
                "refund_full over the cap",
                "refund_full",
                "order://1",
                "constraint_failed",
                {"amount": 600},
                constraint="bot/refund_*/maxAmount",
            ),
            step(
                "refund_partial over 100 needs approval",
                "refund_partial",
                "order://1",
                "approval_required",
                "approval_required",
                {"amount": 200},
                constraint="bot/refund_*/requireApproval",
            ),
            allow("a small refund", "refund_full", "order://1", {"amount": 50}),
            allow("read_order is not a refund", "read_order", "order://1", {}),
        ],
    ),
    suite(
        "a group named with a glob applies to every allowed action it matches",
        "`refund_*:` as a group covers refund_full and refund_partial, not read_order",
        GLOB_GROUP,
        [
            deny(
                "refund_full over the cap",
                "refund_full",
                "order://1",
                "constraint_failed",
                {"amount": 600},
                constraint="bot/refund_*/maxAmount",
            ),
            deny("refund_partial over the cap", "refund_partial", "order://1", "constraint_failed", {"amount": 501}),
            allow("read_order has no cap", "read_order", "order://1", {"amount": 600}),
        ],
    ),
    perr(
        "a glob group that covers no allowed action is refused",
        "every constraint must apply to at least one action the grant allows",
        GLOB_GROUP.replace("actions: [refund_full, refund_partial, read_order]", "actions: [read_order]"),
        "policy.yaml:6:",
        "refund_*",
        "covers no action",
    ),
]


# ---- 2. onlyOwnOrders / onlyOwnResources must prove what they claim --------------------------

OWN = """agent: bot
policy:
  actions: [read_order]
  resources:
    - "PATTERN"
  constraints:
    orders:
      onlyOwnOrders: true
"""


def own(pattern):
    return OWN.replace("PATTERN", pattern)


only_own = [
    perr(
        "onlyOwnOrders refuses a wildcard after the user id in its segment",
        "customer:{{authenticated_user_id}}* lets user 4 read customer:42's orders",
        own("order://customer:{{authenticated_user_id}}*/*"),
        "policy.yaml:8:",
        "policy.constraints.orders.onlyOwnOrders",
        "customer:{{authenticated_user_id}}*/*",
    ),
    perr(
        "onlyOwnOrders refuses a wildcard before the user id in its segment",
        "*{{authenticated_user_id}} lets user 2 read customer 42's orders",
        own("order://*{{authenticated_user_id}}/*"),
        "policy.yaml:8:",
        "onlyOwnOrders",
        "wildcard",
    ),
    perr(
        "onlyOwnResources refuses a globstar before the user id",
        "**/{{authenticated_user_id}} fixes no position: any path ending in the user's id matches",
        own("order://**/{{authenticated_user_id}}").replace("onlyOwnOrders", "onlyOwnResources"),
        "policy.yaml:8:",
        "onlyOwnResources",
        "wildcard",
    ),
    suite(
        "onlyOwnOrders accepts the user id filling a segment or ending one after a fixed prefix",
        "the accepted shapes compile and scope requests to the token's user",
        own("order://customer:{{authenticated_user_id}}/*").replace(
            '    - "order://customer', '    - "order://users/{{ user.id }}/**"\n    - "order://customer'
        ),
        [
            allow("alice reads her own order", "read_order", "order://customer:42/1001"),
            allow("alice reads under her user folder", "read_order", "order://users/42/a/b"),
            deny("alice cannot read customer 421", "read_order", "order://customer:421/1001", "resource_not_allowed"),
        ],
    ),
]


# ---- 3. resources have one canonical form; exclusions cannot be dodged ------------------------

REPO = """agent: bot
policy:
  actions: [read_file]
  resources:
    - "repo://acme/app/**"
    - "!repo://acme/app/secrets/**"
  excludeResources: ["repo://acme/app/**/.env"]
"""

INVALID = "resource_invalid"
canonical = [
    suite(
        "a resource has one spelling: what could read as another is refused before matching",
        "`//`, trailing `/`, `%25`, zero-width and format characters, non-NFC text and fullwidth "
        "look-alikes of `.` and `/` are resource_invalid, never matched",
        REPO,
        [
            allow("a plain file", "read_file", "repo://acme/app/src/main.rs"),
            deny("an empty segment", "read_file", "repo://acme/app//secrets/key", INVALID),
            deny("a trailing slash", "read_file", "repo://acme/app/src/", INVALID),
            deny("double percent-encoding", "read_file", "repo://acme/app/%252e%252e/x", INVALID),
            deny("a zero-width space", "read_file", "repo://acme/app/\u200bsecrets/key", INVALID),
            deny("a fullwidth solidus", "read_file", "repo://acme/app/secrets\uff0fkey", INVALID),
            deny("a fullwidth full stop", "read_file", "repo://acme/app/\uff0eenv", INVALID),
            deny("a right-to-left override", "read_file", "repo://acme/app/\u202eyek", INVALID),
            deny("decomposed text (not NFC)", "read_file", "repo://acme/app/cafe\u0301.txt", INVALID),
            allow("composed text (NFC) is fine", "read_file", "repo://acme/app/caf\u00e9.txt"),
        ],
    ),
    suite(
        "an exclusion covers the folder itself, what is inside, and every letter case",
        "`secrets/**` also excludes `secrets`; `.env` also excludes `.env/x`; `SECRETS/key` and `.ENV` stay excluded",
        REPO,
        [
            deny("the folder itself", "read_file", "repo://acme/app/secrets", "resource_not_allowed"),
            deny("inside the folder", "read_file", "repo://acme/app/secrets/key", "resource_not_allowed"),
            deny("upper case folder", "read_file", "repo://acme/app/SECRETS/key", "resource_not_allowed"),
            deny("mixed case folder", "read_file", "repo://acme/app/Secrets", "resource_not_allowed"),
            deny(".env in upper case", "read_file", "repo://acme/app/src/.ENV", "resource_not_allowed"),
            deny("inside a .env folder", "read_file", "repo://acme/app/src/.env/prod", "resource_not_allowed"),
            allow("a name that only starts like the folder", "read_file", "repo://acme/app/secrets_doc.md"),
        ],
    ),
    suite(
        "excludeFolders matches folder paths by prefix, case-insensitively",
        "`Confidential` also excludes `confidential`, `Confidential/`, `Confidential/2024` and `INBOX/Confidential`",
        """agent: bot
policy:
  actions: [read_email]
  resources: ["mail://**"]
  constraints:
    - excludeFolders: [Confidential, "HR/"]
""",
        [
            allow("the inbox", "read_email", "mail://inbox/1", {"folder": "INBOX"}),
            deny("as written", "read_email", "mail://inbox/1", "constraint_failed", {"folder": "Confidential"}),
            deny("lower case", "read_email", "mail://inbox/1", "constraint_failed", {"folder": "confidential"}),
            deny("trailing slash", "read_email", "mail://inbox/1", "constraint_failed", {"folder": "Confidential/"}),
            deny("a subfolder", "read_email", "mail://inbox/1", "constraint_failed", {"folder": "Confidential/2024"}),
            deny("under INBOX", "read_email", "mail://inbox/1", "constraint_failed", {"folder": "INBOX/Confidential"}),
            deny("a leading slash", "read_email", "mail://inbox/1", "constraint_failed", {"folder": "/hr/payroll"}),
            allow("a different folder", "read_email", "mail://inbox/1", {"folder": "Confidentiality-training"}),
        ],
    ),
    suite(
        "excludeFolders and requireKeywords fold letter case beyond ASCII, and look-alike forms",
        "names compare after Unicode NFKC and lowercase: PRIVÉ is Privé, fullwidth letters and slashes are "
        "their plain forms; folding only widens an exclusion",
        """agent: bot
policy:
  actions: [read_email]
  resources: ["mail://**"]
  constraints:
    - excludeFolders: [Privé, Confidential]
    - requireKeywords: [Dringend]
""",
        [
            allow("a plain folder", "read_email", "mail://inbox/1", {"folder": "INBOX", "subject": "dringend"}),
            deny(
                "non-ASCII upper case",
                "read_email",
                "mail://inbox/1",
                "constraint_failed",
                {"folder": "PRIVÉ", "subject": "dringend"},
            ),
            deny(
                "fullwidth letters",
                "read_email",
                "mail://inbox/1",
                "constraint_failed",
                {"folder": "\uff23\uff4fnfidential", "subject": "dringend"},
            ),
            deny(
                "a fullwidth slash after INBOX",
                "read_email",
                "mail://inbox/1",
                "constraint_failed",
                {"folder": "INBOX\uff0fConfidential", "subject": "dringend"},
            ),
            allow(
                "a keyword in upper case", "read_email", "mail://inbox/1", {"folder": "INBOX", "subject": "DRINGEND!"}
            ),
            allow(
                "a keyword in fullwidth letters",
                "read_email",
                "mail://inbox/1",
                {"folder": "INBOX", "subject": "\uff24RINGEND"},
            ),
            deny(
                "no keyword",
                "read_email",
                "mail://inbox/1",
                "constraint_failed",
                {"folder": "INBOX", "subject": "hello"},
            ),
        ],
    ),
]


# ---- 4. action names: one safe spelling ------------------------------------------------------

ACTIONS = """agent: bot
policy:
  actions: ["*"]
  resources: ["mail://**"]
killSwitches:
  actions: [send_email]
"""

actions = [
    suite(
        "action names use a safe character set, so a kill switch cannot be dodged",
        "requests name actions in a-z 0-9 _ . : - only; Send_Email, a Cyrillic look-alike or a zero-width "
        "space are request_invalid, never a different action",
        ACTIONS,
        [
            deny("the killed action", "send_email", "mail://out/1", "kill_switch"),
            deny("upper case", "Send_Email", "mail://out/1", "request_invalid"),
            deny("a Cyrillic e", "s\u0435nd_email", "mail://out/1", "request_invalid"),
            deny("a zero-width space", "send_\u200bemail", "mail://out/1", "request_invalid"),
            deny("a fullwidth letter", "\uff53end_email", "mail://out/1", "request_invalid"),
            deny("a slash", "send/email", "mail://out/1", "request_invalid"),
            allow("another action", "read_email", "mail://inbox/1"),
        ],
    ),
    perr(
        "a policy action outside the safe set is refused",
        "upper case in a policy's action would never match a request",
        ACTIONS.replace('actions: ["*"]', "actions: [Send_Email]"),
        "policy.yaml:3:",
        "Send_Email",
        "send_email",
    ),
    perr(
        "a kill switch naming an action outside the safe set is refused",
        "a kill switch that can never match is inert",
        ACTIONS.replace("actions: [send_email]", "actions: [SendEmail]"),
        "policy.yaml:6:",
        "killSwitches.actions",
        "SendEmail",
    ),
]


# ---- 5. allowedDomains: strict recipients in to, cc and bcc ----------------------------------

MAIL = """agent: bot
policy:
  actions: [send_email]
  resources: ["mail://**"]
  constraints:
    - allowedDomains: ["@company.com"]
"""


def send(name, outcome, **ctx):
    if outcome == "allow":
        return allow(name, "send_email", "mail://out/1", ctx)
    return deny(name, "send_email", "mail://out/1", "constraint_failed", ctx)


recipients = [
    suite(
        "allowedDomains reads one plain address per recipient, in to, cc and bcc",
        "lists, display names, quotes, CR/LF and several @ are refused; every recipient field is checked",
        MAIL,
        [
            send("one inside address", "allow", to="ann@company.com"),
            send("a list, any letter case", "allow", to=["ann@company.com", "Bob@Company.COM"], cc=["c@company.com"]),
            send("a comma-separated pair ending inside", "deny", to="eve@evil.com, ann@company.com"),
            send("a semicolon-separated pair", "deny", to="eve@evil.com;ann@company.com"),
            send("an angle-bracket address", "deny", to="<eve@evil.com>ann@company.com"),
            send("a display name", "deny", to="Ann <ann@company.com>"),
            send("a quoted local part", "deny", to='"eve@evil.com"@company.com'),
            send("a header injection", "deny", to="eve@evil.com\r\nBcc: ann@company.com"),
            send("several @", "deny", to="eve@evil.com@company.com"),
            send("an outside cc", "deny", to=["ann@company.com"], cc=["eve@evil.com"]),
            send("an outside bcc", "deny", to="ann@company.com", bcc="eve@evil.com"),
            send("an empty to with an outside cc", "deny", to=[], cc=["eve@evil.com"]),
            send("no recipient at all", "deny", to=[]),
            send("a subdomain look-alike", "deny", to="eve@company.com.evil.com"),
        ],
    ),
]


# ---- 6. errors a policy author understands ------------------------------------------------------

messages = [
    suite(
        "a type mismatch says so in words",
        "a string where a number is compared names the field, the type it needs and the value it got",
        """agent: bot
policy:
  actions: [process_refund]
  resources: ["order://**"]
  constraints:
    - maxAmount: 500
""",
        [
            deny(
                "a string amount",
                "process_refund",
                "order://1",
                "context_invalid",
                {"amount": "120"},
                message_contains='`amount` must be a number; got the string "120"',
            ),
            step(
                "a Bearer prefix on the token",
                "process_refund",
                "order://1",
                "deny",
                "token_malformed",
                {"amount": 1},
                token=None,
                message_contains="drop the `Bearer ` prefix",
            ),
        ],
    ),
    perr(
        "the article's quoted rate followed by text shows the two accepted spellings",
        "`ifRateLimit: \"100/hour\" not exceeded` is not YAML; the error says how to write it",
        """agent: bot
policy:
  actions: [read_order]
  resources: ["order://**"]
  constraints:
    - ifRateLimit: "100/hour" not exceeded
""",
        "policy.yaml:6:",
        'ifRateLimit: "100/hour"',
        "ifRateLimit: 100/hour not exceeded",
    ),
]


# ---- time zone abbreviations that name several zones are refused -----------------------------

zones = [
    perr(
        "an ambiguous time zone abbreviation is refused with the IANA names it may mean",
        "IST is India, Ireland or Israel; CST is US Central, China or Cuba",
        """agent: bot
policy:
  actions: [read_order]
  resources: ["order://**"]
  constraints:
    - ifTime: between 9am-5pm IST
""",
        "policy.yaml:6:",
        "ambiguous",
        "Asia/Kolkata",
        "Europe/Dublin",
    ),
]


# ---- two approval rules on one request: both are shown, one approval covers the request -------

TWO_APPROVALS = """agent: bot
policy:
  actions: [process_refund]
  resources: ["order://**"]
  constraints:
    process_refund:
      requireApproval: amount > 100
      requireSecondApproval: risk > 5
"""


def with_keys(s, **keys):
    s.update(keys)
    return s


both = {"amount": 150, "risk": 7}
two_approvals = [
    suite(
        "two approval rules that fire on one request are both named, and one approval covers it",
        "the approval is bound to the request (token, action, resource, context), not to a rule",
        TWO_APPROVALS,
        [
            with_keys(
                step(
                    "both rules fire and both are named",
                    "process_refund",
                    "order://9",
                    "approval_required",
                    "approval_required",
                    both,
                    message_contains="so does `requireSecondApproval` (risk > 5)",
                ),
                approve_as="both",
            ),
            with_keys(
                step("the one approval allows the request", "process_refund", "order://9", "allow", "approved", both),
                approval="both",
            ),
            step(
                "one rule fires",
                "process_refund",
                "order://9",
                "approval_required",
                "approval_required",
                {"amount": 150, "risk": 1},
                message_contains="(amount > 100)",
            ),
        ],
    ),
]


# ---- indentation slips and YAML structure errors name the likely cause -----------------------

indentation = [
    perr(
        "an empty constraint group followed by constraint keys suggests indenting them",
        "the keys after `refunds:` sit at its indentation, so they would apply to every action",
        """agent: bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://**"]
  constraints:
    refunds:
    maxAmount: 500
    maxPerDay: 5
""",
        "policy.yaml:6:",
        "`refunds` has no constraints under it",
        "`maxAmount`, `maxPerDay`",
        "indent them under `refunds:`",
    ),
    perr(
        "a group at the indentation of an empty `constraints:` suggests indenting it",
        "`process_refund:` was meant under `constraints:`",
        """agent: bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://**"]
  constraints:
  process_refund:
    maxAmount: 500
""",
        "policy.yaml:6:",
        "unknown key `process_refund`",
        "`constraints:` on line 5 has nothing under it",
    ),
    perr(
        "a line indented to no enclosing block names the levels it could align with",
        "`maxPerDay` is one space short of the group's other keys",
        """agent: bot
policy:
  actions: [read_order, process_refund]
  resources: ["order://**"]
  constraints:
    process_refund:
      maxAmount: 500
     maxPerDay: 5
""",
        "policy.yaml:8:",
        "invalid YAML",
        "line 8 is indented by 5 spaces",
        "6, 4, 2, 0",
    ),
    perr(
        "a tab in the indentation is named as the cause",
        "YAML indentation must be spaces",
        "agent: bot\npolicy:\n  actions: [read_order]\n\tresources: [\"order://**\"]\n",
        "policy.yaml:4:",
        "line 4 is indented with a tab",
    ),
]


def main():
    out = {
        "suites": groups + only_own + canonical + actions + recipients + messages + zones + indentation + two_approvals
    }
    write("policy_rules.json", out["suites"])


main()
