#!/usr/bin/env python3
"""Writes tests/vectors/limit_scopes.json (who shares a limit: user, agent, global, token) and
tests/vectors/budgets.json (weighted limits: sums of a context field, lengths of list fields),
issue 19 items 1 and 2. Edit this script, not the JSON. Run: python3 tests/vectors/tools/limits.py"""

from vectorlib import perr, register, suite, write

DAY = 86_400_000
HOUR = 3_600_000
BOT = "customer-support-bot"
REFUND = "process_refund"


def policy(constraints, agent=BOT, actions=(REFUND,), resource="order://customer:{{authenticated_user_id}}/*"):
    body = "\n".join("      " + line for line in constraints.strip("\n").split("\n"))
    return (
        f"agent: {agent}\npolicy:\n  actions: [{', '.join(actions)}]\n  resources:\n    - \"{resource}\"\n"
        f"  constraints:\n    {actions[0]}:\n{body}\n"
    )


def user(uid, ttl=172800):
    return {"issue": {"agent": BOT, "user_context": {"user_id": uid}, "ttl": ttl}}


def req(name, token, outcome, reason, context=None, uid=None, action=REFUND, repeat=None, advance=None, **expect):
    uid = uid or token.removeprefix("u")
    s = {"name": name}
    if advance is not None:
        s["advance_ms"] = advance
    s.update({"token": token, "action": action, "resource": f"order://customer:{uid}/1", "context": context or {}})
    if repeat:
        s["repeat"] = repeat
    e = {"outcome": outcome, "reason": reason}
    e.update(expect)
    s["expect"] = e
    return s


def ok(name, token, context=None, **kw):
    return req(name, token, "allow", "allowed", context, **kw)


def limited(name, token, context=None, **kw):
    return req(name, token, "deny", "rate_limited", context, **kw)


def scope_suites():
    users = {f"u{i}": user(str(i)) for i in range(1, 22)}
    agent_cap = policy("maxPerDay: 5\nrateLimit: {rate: 100/day, per: agent}")
    steps = [ok(f"user {i}: five refunds", f"u{i}", {"amount": 10}, repeat=5) for i in range(1, 21)]
    steps += [
        limited(
            "a 21st customer's first refund meets the agent-wide 100/day cap",
            "u21",
            {"amount": 10},
            constraint=f"{BOT}/{REFUND}/rateLimit",
            message_contains="100 per day for the agent",
        ),
        limited(
            "user 1's sixth refund meets the per-user shorthand first",
            "u1",
            {"amount": 10},
            constraint=f"{BOT}/{REFUND}/maxPerDay",
        ),
        limited("three hours later, still full", "u21", {"amount": 10}, advance=3 * HOUR),
        limited("a clock stepped back two hours frees nothing", "u21", {"amount": 10}, advance=-2 * HOUR),
        ok("a day after the refunds the agent has room again", "u21", {"amount": 10}, advance=DAY - HOUR),
    ]
    per_user = policy("maxPerDay: 2")
    global_cap = policy("maxPerHour: {count: 3, per: global}")
    token_cap = policy("maxPerDay: {count: 2, scope: token}")
    a_tokens = {"a1": user("1"), "a2": user("1"), "b": user("2")}
    return [
        suite(
            "agent-wide refund cap: 20 customers x 5 refunds",
            "maxPerDay: 5 stays per user (the article's meaning); rateLimit {rate: 100/day, per: agent} caps "
            "every user of the agent together, checked and consumed with the per-user limit in one step.",
            agent_cap,
            users,
            steps,
        ),
        suite(
            "shorthand limits keep their per-user meaning",
            "maxPerDay: 2 counts per (agent, user): another user has their own two.",
            per_user,
            {"u1": user("1"), "u2": user("2")},
            [
                ok("user 1 twice", "u1", repeat=2),
                limited("user 1 a third time", "u1", message_contains="2 per day"),
                ok("user 2 has their own two", "u2", repeat=2),
                limited("and no more", "u2"),
            ],
        ),
        suite(
            "a global limit is shared by everyone",
            "maxPerHour {count: 3, per: global}: one counter for the rule, whichever user asks.",
            global_cap,
            {"u1": user("1"), "u2": user("2"), "u3": user("3")},
            [
                ok("user 1", "u1", repeat=2),
                ok("user 2", "u2"),
                limited("user 3 finds it used up", "u3", message_contains="3 per hour for everyone"),
                ok("an hour later", "u3", advance=HOUR),
            ],
        ),
        suite(
            "a per-token limit: each token of one user has its own",
            "maxPerDay {count: 2, scope: token}: two tokens issued to the same user count apart.",
            token_cap,
            a_tokens,
            [
                ok("first token twice", "a1", uid="1", repeat=2),
                limited("first token a third time", "a1", uid="1"),
                ok("second token of the same user", "a2", uid="1", repeat=2),
                ok("another user", "b", uid="2"),
            ],
        ),
        perr(
            "an unknown scope is an error",
            "per: team",
            policy("maxPerDay: {count: 5, per: team}"),
            "`per` must be user, agent, global or token",
            "team",
        ),
        perr(
            "per and scope together are an error",
            "",
            policy("maxPerDay: {count: 5, per: agent, scope: user}"),
            "not both",
        ),
        perr(
            "a limit map needs a positive count",
            "",
            policy("maxPerHour: {count: 0, per: agent}"),
            "`count` must be a positive whole number",
        ),
        perr("an unknown key in a limit map is named", "", policy("maxPerDay: {limit: 5}"), "unknown key `limit`"),
        perr("rateLimit's map form needs a rate", "", policy("rateLimit: {per: agent}"), "`rate` is required"),
    ]


def budget_suites():
    users = {"alice": user("42"), "bob": user("7")}
    amount = policy("budget: {sum: amount, max: 2000, window: 1d, per: agent}\nrequireApproval: amount > 1800")
    bid = f"{BOT}/{REFUND}/budget"
    amount_steps = [
        limited(
            "2000.01 in one refund is over the budget",
            "alice",
            {"amount": 2000.01},
            uid="42",
            constraint=bid,
            message_contains="budget used up: 2000 of `amount` per day for the agent",
        ),
        req(
            "1900 asks for approval and consumes nothing",
            "alice",
            "approval_required",
            "approval_required",
            {"amount": 1900},
            uid="42",
        ),
        ok("1500 from alice", "alice", {"amount": 1500}, uid="42"),
        limited("500.01 from bob would make 2000.01", "bob", {"amount": 500.01}, uid="7", constraint=bid),
        ok("exactly 500 from bob makes exactly 2000", "bob", {"amount": 500}, uid="7"),
        ok("a refund of 0 needs no room", "alice", {"amount": 0}, uid="42"),
        limited("four hours later 0.01 more is over", "alice", {"amount": 0.01}, uid="42", advance=4 * HOUR),
        limited(
            "the clock steps back three hours: nothing is freed", "alice", {"amount": 0.01}, uid="42", advance=-3 * HOUR
        ),
        ok(
            "a day after the refunds, the full budget again: 1800",
            "alice",
            {"amount": 1800},
            uid="42",
            advance=DAY - HOUR,
        ),
        ok("and 200", "bob", {"amount": 200}, uid="7"),
        limited("and it is used up again", "bob", {"amount": 0.5}, uid="7"),
    ]
    invalid = [
        req(
            "a negative amount is refused, naming the field",
            "alice",
            "deny",
            "context_invalid",
            {"amount": -5},
            uid="42",
            constraint=bid,
            message_contains="`amount` is negative",
        ),
        req(
            "a string amount is refused",
            "alice",
            "deny",
            "context_invalid",
            {"amount": "12"},
            uid="42",
            message_contains="`amount` must be a number",
        ),
        req(
            "a missing amount is refused",
            "alice",
            "deny",
            "context_invalid",
            {},
            uid="42",
            message_contains="`amount` is missing",
        ),
        req(
            "a list amount is refused",
            "alice",
            "deny",
            "context_invalid",
            {"amount": [1, 2]},
            uid="42",
            message_contains="`amount` must be a number",
        ),
        ok("none of those consumed anything: 1800 and 200 fit", "alice", {"amount": 1800}, uid="42"),
        ok("200", "bob", {"amount": 200}, uid="7"),
        limited("then it is full", "bob", {"amount": 0.01}, uid="7"),
    ]
    atomic = policy("maxPerDay: 3\nbudget: {sum: amount, max: 2000, window: 1d, per: agent}")
    rows = policy(
        "budget: {sum: rows, max: 100, window: 1h}",
        agent="analytics-bot",
        actions=("export_rows",),
        resource="db://reports/*",
    )
    rows_tokens = {"t": {"issue": {"agent": "analytics-bot", "user_context": {"user_id": "9"}, "ttl": 172800}}}

    def export(name, outcome, reason, n, **kw):
        s = req(name, "t", outcome, reason, {"rows": n}, action="export_rows", **kw)
        s["resource"] = "db://reports/q"
        return s

    mail = policy(
        "budget: {count: [to, cc, bcc], max: 5, window: 1d, per: token}",
        agent="email-bot",
        actions=("send_email",),
        resource="mailbox://{{authenticated_user_id}}/outbox",
    )
    mail_tokens = {"m": {"issue": {"agent": "email-bot", "user_context": {"user_id": "5"}, "ttl": 172800}}}

    def send(name, outcome, reason, ctx, **kw):
        s = req(name, "m", outcome, reason, ctx, action="send_email", **kw)
        s["resource"] = "mailbox://5/outbox"
        return s

    two = policy(
        "budget:\n  - {sum: amount, max: 1000, window: 1d, per: agent}\n  - {sum: amount, max: 300, window: 1d}"
    )
    return [
        suite(
            "an agent-wide refund budget of 2000 a day, at the boundary",
            "budget {sum: amount, max: 2000, window: 1d, per: agent}: exact in millionths (2000 allowed, "
            "2000.01 refused), shared by every user, consumed only by an allow, never freed by a backwards clock.",
            amount,
            users,
            amount_steps,
        ),
        suite(
            "a budget refuses weights it cannot sum, naming the field",
            "negative, non-numeric or missing weights deny with context_invalid and consume nothing.",
            amount,
            users,
            invalid,
        ),
        suite(
            "a budget and a count limit are consumed together or not at all",
            "maxPerDay: 3 (per user) with an agent-wide 2000 budget: a request refused by one consumes neither.",
            atomic,
            users,
            [
                ok("alice three times 100", "alice", {"amount": 100}, uid="42", repeat=3),
                limited(
                    "alice's fourth meets maxPerDay",
                    "alice",
                    {"amount": 100},
                    uid="42",
                    constraint=f"{BOT}/{REFUND}/maxPerDay",
                ),
                ok("bob 1700: the refused 100 was not taken from the budget", "bob", {"amount": 1700}, uid="7"),
                limited("bob 0.01 more", "bob", {"amount": 0.01}, uid="7", constraint=bid),
                ok(
                    "bob's count limit was not consumed by that refusal either", "bob", {"amount": 0}, uid="7", repeat=2
                ),
            ],
        ),
        suite(
            "rows: at most 100 an hour",
            "budget {sum: rows, max: 100, window: 1h} per user.",
            rows,
            rows_tokens,
            [
                export("60 rows", "allow", "allowed", 60),
                export("41 more would be 101", "deny", "rate_limited", 41, message_contains="100 of `rows` per hour"),
                export("40 more is exactly 100", "allow", "allowed", 40),
                export("an hour after the first export, 60 rows again", "allow", "allowed", 60, advance=HOUR),
                export("41 still over (the 40 is in the window)", "deny", "rate_limited", 41),
            ],
        ),
        suite(
            "recipients: a budget counting list fields",
            "budget {count: [to, cc, bcc], max: 5, window: 1d, per: token}: a list counts its items, a string "
            "counts one, an absent field none.",
            mail,
            mail_tokens,
            [
                send("two to and one cc", "allow", "allowed", {"to": ["a@x.com", "b@x.com"], "cc": "c@x.com"}),
                send(
                    "three more would be six",
                    "deny",
                    "rate_limited",
                    {"to": ["d@x.com", "e@x.com", "f@x.com"]},
                    message_contains="5 items of `to`, `cc`, `bcc` per day for the token",
                ),
                send("one to and one bcc make five", "allow", "allowed", {"to": "g@x.com", "bcc": ["h@x.com"]}),
                send("one more is over", "deny", "rate_limited", {"to": "i@x.com"}),
                send(
                    "a number of recipients is refused, naming the field",
                    "deny",
                    "context_invalid",
                    {"to": 7},
                    message_contains="`to` must be a list",
                ),
            ],
        ),
        suite(
            "several budgets under one key each keep their own total",
            "budget: [agent-wide 1000 a day, 300 a day per user].",
            two,
            users,
            [
                ok("alice 300", "alice", {"amount": 300}, uid="42"),
                limited(
                    "alice 0.01 more meets her own 300",
                    "alice",
                    {"amount": 0.01},
                    uid="42",
                    constraint=f"{BOT}/{REFUND}/budget[1]",
                ),
                ok("bob 300", "bob", {"amount": 300}, uid="7"),
            ],
        ),
        perr("a budget needs sum or count", "", policy("budget: {max: 5, window: 1d}"), "exactly one of `sum: FIELD`"),
        perr(
            "a budget needs a positive max",
            "",
            policy("budget: {sum: amount, max: 0, window: 1d}"),
            "`max` must be more than 0",
        ),
        perr(
            "a budget max beyond millionths is refused",
            "",
            policy("budget: {sum: amount, max: 1.0000001, window: 1d}"),
            "more than 6 decimals",
        ),
        perr("a budget needs a window", "", policy("budget: {sum: amount, max: 5}"), "needs `window`"),
        perr(
            "a budget window must be a duration", "", policy("budget: {sum: amount, max: 5, window: soon}"), "`window`"
        ),
        perr(
            "a budget field must be a name",
            "",
            policy("budget: {sum: [1, 2], max: 5, window: 1d}"),
            "expected a context field name",
        ),
    ]


def main():
    write("limit_scopes.json", scope_suites(), ensure_ascii=False)
    write("budgets.json", budget_suites(), ensure_ascii=False)
    register("limit_scopes.json")
    register("budgets.json")


if __name__ == "__main__":
    main()
