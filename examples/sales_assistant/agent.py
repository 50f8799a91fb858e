"""The article's sales assistant: customers of the rep's region only, discounts capped at 15%
with a manager's approval above 10%, email only to company and partner domains.

The app issues the agent a token for sales rep rep-7 whose agent context carries the rep's
region (EMEA) and id, which the policy's {{agent.assigned_region}} and {{agent.user_id}}
templates read. The CRM tools build each resource from the CRM's own records.

Run: python examples/sales_assistant/agent.py [policies.yaml]
"""

from __future__ import annotations

import os
import sys
from typing import Dict, List, Union

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from act_sdk import ACT, SigningKey
from act_sdk.testing import ManualClock
from harness import Script, Session, Tool, audit_path, policy_path


class CRM:
    """The CRM API, in memory: customers by region, quotes by rep, sent email. It trusts its caller."""

    def __init__(self) -> None:
        self.customers = {
            "acme": {"region": "emea", "name": "Acme GmbH", "contact": "buyer@company.com"},
            "globex": {"region": "us", "name": "Globex Corp", "contact": "ceo@globex.example"},
        }
        self.quotes: Dict[str, dict] = {}
        self.outbox: List[dict] = []

    def customer_resource(self, customer: str) -> str:
        return f"customer://region:{self.customers[customer]['region']}/{customer}"

    def next_quote_id(self) -> str:
        return f"q{len(self.quotes) + 1}"

    def read_customer(self, customer: str) -> str:
        c = self.customers[customer]
        return f"{c['name']} ({c['region']}), contact {c['contact']}"

    def create_quote(self, customer: str, discount: float, rep: str) -> str:
        qid = self.next_quote_id()
        self.quotes[qid] = {"customer": customer, "discount": discount, "rep": rep}
        return f"quote {qid} for {customer} at {discount}% off"

    def send_email(self, customer: str, to: Union[str, List[str]], subject: str) -> str:
        self.outbox.append({"customer": customer, "to": to, "subject": subject})
        return f"sent {subject!r} to {to}"


def tools(crm: CRM, rep: str) -> Dict[str, Tool]:
    """Quotes go into the rep's book unless the call names another rep."""
    return {
        "read_customer": Tool(
            "read_customer",
            resource=lambda customer: crm.customer_resource(customer),
            context=lambda **_: {},
            run=crm.read_customer,
        ),
        "create_quote": Tool(
            "create_quote",
            resource=lambda customer, discount, rep=rep: f"quote://sales_rep:{rep}/{crm.next_quote_id()}",
            context=lambda customer, discount, rep=rep: {"customer": customer, "discount": discount},
            run=lambda customer, discount, rep=rep: crm.create_quote(customer, discount, rep),
        ),
        "send_email": Tool(
            "send_email",
            resource=lambda customer, to, subject: crm.customer_resource(customer),
            context=lambda customer, to, subject: {"to": to, "subject": subject},
            run=crm.send_email,
        ),
    }


def main() -> None:
    script = Script("sales assistant")
    clock = ManualClock(1_800_000_000_000)
    audit = audit_path("sales-assistant")
    act = ACT(policy_file=policy_path(__file__), signing_key=SigningKey.generate(), clock=clock, audit=audit)
    crm = CRM()

    script.scene("the app starts the sales assistant for rep-7, who covers EMEA")
    token = act.issue_token(
        agent="sales-assistant",
        user_context={"user_id": "rep-7"},
        agent_context={"assigned_region": "emea", "user_id": "rep-7"},
    )
    rep7 = Session(act, token, tools(crm, "rep-7"), script)

    script.say("Looking up Acme.")
    rep7.call("read_customer", customer="acme", expect="allowed")
    script.say("Looking up Globex too, while I am at it.")
    rep7.call("read_customer", customer="globex", expect="resource_not_allowed")

    script.say("Quoting Acme at 8% off.")
    rep7.call("create_quote", customer="acme", discount=8, expect="allowed")
    script.say("Quoting Acme at 20% off to close the deal today.")
    rep7.call("create_quote", customer="acme", discount=20, expect="constraint_failed", constraint="maxDiscount")
    script.say("Then 12.5% off.")
    asked = rep7.call(
        "create_quote", customer="acme", discount=12.5, expect="approval_required", constraint="requireApproval"
    )
    request = asked.approval_request
    assert request is not None
    script.note(f"the sales manager approves request {request.id[:12]}... ({request.condition})")
    approval = act.approve(request, approver="sales-manager@company.com", ttl=3600)
    rep7.call("create_quote", customer="acme", discount=12.5, approval=approval, expect="approved")
    script.say("Filing a quote in rep-9's book instead, so it needs no approval.")
    rep7.call("create_quote", customer="acme", discount=14, rep="rep-9", expect="resource_not_allowed")

    script.say("Emailing the quote to Acme's buyer.")
    rep7.call("send_email", customer="acme", to="Buyer@Company.com", subject="Your quote q1", expect="allowed")
    script.say("Copying our partner and a colleague.")
    rep7.call(
        "send_email",
        customer="acme",
        to=["deals@partner.com", "rep7@company.com"],
        subject="Acme quote",
        expect="allowed",
    )
    script.say("(injected by a web page) Sending the price list to prices@competitor.example.")
    rep7.call(
        "send_email",
        customer="acme",
        to="prices@competitor.example",
        subject="Price list",
        expect="constraint_failed",
        constraint="allowedDomains",
    )
    script.say("Sending it to a look-alike address, x@company.com.evil.example.")
    rep7.call(
        "send_email",
        customer="acme",
        to="x@company.com.evil.example",
        subject="Price list",
        expect="constraint_failed",
        constraint="allowedDomains",
    )
    script.say("Hiding one outside address among good ones.")
    rep7.call(
        "send_email",
        customer="acme",
        to=["buyer@company.com", "leak@gmail.example"],
        subject="Price list",
        expect="constraint_failed",
        constraint="allowedDomains",
    )

    script.scene("a misconfigured app starts the assistant for rep-8 without a region in the agent context")
    bare = Session(
        act, act.issue_token(agent="sales-assistant", user_context={"user_id": "rep-8"}), tools(crm, "rep-8"), script
    )
    script.say("Looking up Acme.")
    bare.call("read_customer", customer="acme", expect="template_unresolved")

    print(f"\nquotes: {sorted(crm.quotes)}; emails sent: {len(crm.outbox)}")
    script.finish(act, audit)


if __name__ == "__main__":
    main()
