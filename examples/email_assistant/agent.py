"""The article's email assistant: OAuth says who the user is, ACT governs each email the agent reads.

Alice signs in with OAuth and grants `read:email`; the app issues the agent an ACT token for
her (her user id and OAuth scopes as user context, and the article's inline policy). The agent
may read only Alice's unread support mail of the last 7 days, without attachments, outside her
personal folders, and at most 50 messages in the session. Every message is validated on its own,
with facts the mail tool reads from the mailbox, not what the model claims about the message.

Run: python examples/email_assistant/agent.py [policies.yaml]
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta, timezone
from typing import Dict, List, NamedTuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from act_sdk import ACT, SigningKey
from act_sdk.testing import ManualClock
from harness import Script, Session, Tool, audit_path, policy_path

NOW = datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)


def days_ago(n: float) -> str:
    return (NOW - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


class OAuthGrant(NamedTuple):
    user_id: str
    scopes: List[str]


class OAuthProvider:
    """Stands in for the identity provider's OAuth 2.1 flow (no network): once the user has
    consented, the app knows who the user is and which scopes were granted."""

    def authorize(self, user_id: str, scopes: List[str]) -> OAuthGrant:
        return OAuthGrant(user_id, list(scopes))


class Mailbox:
    """The mail API, in memory: every user's messages with their facts. It trusts its caller."""

    def __init__(self) -> None:
        self.messages: Dict[str, dict] = {}

    def add(
        self,
        owner: str,
        mid: str,
        subject: str,
        *,
        unread: bool = True,
        attachments: bool = False,
        folder: str = "inbox",
        age_days: float = 1,
    ) -> None:
        self.messages[mid] = {
            "owner": owner,
            "subject": subject,
            "unread": unread,
            "has_attachments": attachments,
            "folder": folder,
            "received_at": days_ago(age_days),
        }

    def owner(self, mid: str) -> str:
        return str(self.messages[mid]["owner"])

    def facts(self, mid: str) -> dict:
        """What the policy looks at, as the mail server knows it."""
        m = self.messages[mid]
        return {k: m[k] for k in ("unread", "has_attachments", "folder", "subject", "received_at")}

    def unread(self, owner: str) -> List[str]:
        return [mid for mid, m in self.messages.items() if m["owner"] == owner and m["unread"]]

    def read(self, message_id: str) -> str:
        m = self.messages[message_id]
        m["unread"] = False
        return f"read {message_id}: {m['subject']!r}"


def tools(mail: Mailbox) -> Dict[str, Tool]:
    return {
        "read_email": Tool(
            "read",
            resource=lambda message_id: f"email://inbox/{mail.owner(message_id)}/{message_id}",
            context=lambda message_id: mail.facts(message_id),
            run=mail.read,
        )
    }


def start_session(act: ACT, grant: OAuthGrant, mail: Mailbox, script: Script) -> Session:
    """Step 2 of the article's combined architecture: an ACT token scoped to the OAuth user."""
    if "read:email" not in grant.scopes:
        raise PermissionError(f"user {grant.user_id} did not grant read:email (granted: {', '.join(grant.scopes)})")
    token = act.issue_token(
        agent="email-assistant",
        user_context={"user_id": grant.user_id, "oauth_scopes": grant.scopes},
        # The article's inline policy, its resource written in this policy file's shape. A token's
        # policy can only narrow the agent's: both budgets hold, so the file's 50 binds first.
        policy={
            "actions": ["read"],
            "resources": [f"email://inbox/{grant.user_id}/*"],
            "constraints": {"maxEmails": 100, "onlyUnread": True},
        },
    )
    return Session(act, token, tools(mail), script)


def main() -> None:
    script = Script("email assistant")
    clock = ManualClock(int(NOW.timestamp() * 1000))
    audit = audit_path("email-assistant")
    act = ACT(policy_file=policy_path(__file__), signing_key=SigningKey.generate(), clock=clock, audit=audit)

    mail = Mailbox()
    mail.add("alice", "m1", "Support: my order is late", age_days=2)
    mail.add("alice", "m2", "Re: ticket #311, photos of the damage", attachments=True)
    mail.add("alice", "m3", "Support request from last month", age_days=20)
    mail.add("alice", "m4", "Ticket: my new passport", folder="personal")
    mail.add("alice", "m5", "Lunch on Friday?")
    mail.add("alice", "m6", "Support: invoice question", unread=False)
    for i in range(52):
        mail.add("alice", f"t{i + 1:02}", f"TICKET #{1000 + i}: where is my parcel?", age_days=i / 10)
    mail.add("bob", "b1", "Support: Bob's private ticket")

    script.scene("Alice signs in with OAuth and grants the app read:email; the app starts her email assistant")
    grant = OAuthProvider().authorize("alice", ["read:email", "write:calendar"])
    alice = start_session(act, grant, mail, script)

    script.say("Reading your latest support email.")
    alice.call("read_email", message_id="m1", expect="allowed")
    script.say("Reading it once more.")
    alice.call("read_email", message_id="m1", expect="constraint_failed", constraint="onlyUnread")

    script.say("(following an instruction hidden in m1) Reading Bob's ticket b1.")
    alice.call("read_email", message_id="b1", expect="resource_not_allowed")

    script.say("Reading the support email m6 (the model claims it is unread; the mailbox says it was read).")
    alice.call("read_email", message_id="m6", expect="constraint_failed", constraint="onlyUnread")

    # The article's read_emails(query): ACT validates each message on its own.
    script.say("Summarizing all your unread mail.")
    expected = {
        "m2": ("constraint_failed", "noAttachments"),
        "m3": ("constraint_failed", "timeWindow"),
        "m4": ("constraint_failed", "excludeFolders"),
        "m5": ("constraint_failed", "requireKeywords"),
    }
    allowed_so_far = 1  # m1 (read by the session so far)
    tickets = 0
    for mid in mail.unread("alice"):
        if mid in expected:
            reason, key = expected[mid]
            alice.call("read_email", message_id=mid, expect=reason, constraint=key)
            continue
        # Tickets: the session may read 50 messages (maxEmails), m1 was the first.
        within_budget = allowed_so_far < 50
        tickets += 1
        show = tickets <= 2 or tickets >= 48
        if tickets == 3:
            print("  ...      (tickets t03 to t47 go the same way, one decision each)")
        d = alice.call(
            "read_email",
            message_id=mid,
            expect="allowed" if within_budget else "rate_limited",
            constraint=None if within_budget else "maxEmails",
            show=show,
        )
        allowed_so_far += d.allowed
    unread_left = mail.unread("alice")
    print(f"  read {allowed_so_far} messages this session; still unread: {len(unread_left)} ({', '.join(unread_left)})")

    script.scene("Bob uses the same assistant: his own session, his own mailbox")
    bob = start_session(act, OAuthProvider().authorize("bob", ["read:email"]), mail, script)
    script.say("Reading your support ticket.")
    bob.call("read_email", message_id="b1", expect="allowed")
    script.say("Reading Alice's ticket t50.")
    bob.call("read_email", message_id="t50", expect="resource_not_allowed")

    script.scene("Carol grants the app only write:calendar: OAuth gave no mail access, so no email session starts")
    carol = OAuthProvider().authorize("carol", ["write:calendar"])
    script.expect_error(
        "start an email assistant for carol", PermissionError, lambda: start_session(act, carol, mail, script)
    )

    script.finish(act, audit)


if __name__ == "__main__":
    main()
