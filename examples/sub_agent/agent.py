"""A sub-agent delegated a narrower token: the child can only narrow, never widen.

The customer-support bot works for customer 42 with a token that names its holder key
(`holder_key=`), which it seals with that key to act itself. It hands order look-ups to a sub-agent by delegating its token offline
(`act.delegate`): the child token is signed by the parent's holder key and carries a
narrower capability. A second, greedy sub-agent is delegated a capability that lists more
than the parent has: every extra action, resource and looser limit gains it nothing, the
parent's approval rule and daily refund cap still hold, and its token dies with the parent's.

Run: python examples/sub_agent/agent.py [policies.yaml]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from act_sdk import ACT, SigningKey, TokenError
from act_sdk.testing import ManualClock
from harness import Script, Session, Tool, audit_path, policy_path


class OrderStore:
    """The shop's order API, in memory. It trusts its caller."""

    def __init__(self) -> None:
        self.orders = {
            "1001": {"customer": "42", "item": "mug", "total": 18.50},
            "1002": {"customer": "43", "item": "headphones", "total": 89.00},
            "1003": {"customer": "42", "item": "furniture bundle", "total": 600.00},
            "1004": {"customer": "42", "item": "winter jacket", "total": 120.00},
        }
        self.refunded = 0.0

    def resource(self, order_id: str) -> str:
        return f"order://customer:{self.orders[order_id]['customer']}/{order_id}"

    def read(self, order_id: str, rows: int = 1) -> str:
        o = self.orders[order_id]
        return f"order {order_id}: {o['item']}, ${o['total']:.2f}"

    def refund(self, order_id: str, amount: float) -> str:
        self.refunded += amount
        return f"refunded ${amount:.2f} on order {order_id}"


def tools(orders: OrderStore) -> dict:
    return {
        "read_order": Tool(
            "read_order",
            resource=lambda order_id, **_: orders.resource(order_id),
            context=lambda rows=1, **_: {"rows": rows},
            run=orders.read,
        ),
        "process_refund": Tool(
            "process_refund",
            resource=lambda order_id, **_: orders.resource(order_id),
            context=lambda amount, **_: {"amount": amount},
            run=orders.refund,
        ),
        "delete_customer": Tool(
            "delete_customer",
            resource=lambda customer_id: f"order://customer:{customer_id}/all",
            context=lambda **_: {},
            run=lambda customer_id: f"deleted customer {customer_id}",
        ),
    }


def main() -> None:
    script = Script("delegated sub-agent")
    clock = ManualClock(1_800_000_000_000)
    audit = audit_path("sub-agent")
    act = ACT(policy_file=policy_path(__file__), signing_key=SigningKey.generate(), clock=clock, audit=audit)
    orders = OrderStore()

    script.scene("the app starts the support bot for customer 42; the bot holds the key named in its token")
    bot_key = SigningKey.generate()  # the parent agent's own key, never shared with its sub-agents
    parent = act.issue_token(
        agent="customer-support-bot", user_context={"user_id": "42"}, ttl=600, holder_key=bot_key.public_key
    )
    # A token that names a holder key may delegate but not act: the bot seals it with its key
    # (a last link for itself, with nothing added), so a sub-agent that holds `parent~child`
    # cannot drop its link and act as the bot (see docs/tokens.md, "Sealed chains").
    sealed = act.delegate(parent, holder_key=bot_key, agent="customer-support-bot", ttl=600)
    bot = Session(act, sealed, tools(orders), script)
    script.say("(parent) Refunding the mug.")
    bot.call("process_refund", order_id="1001", amount=18.50, expect="allowed")

    script.scene("the bot delegates look-ups to `order-lookup`: read_order only, at most 10 rows")
    lookup_token = act.delegate(
        parent,
        holder_key=bot_key,
        agent="order-lookup",
        ttl=300,
        policy={
            "actions": ["read_order"],
            "resources": ["order://customer:42/*"],
            "constraints": {"read_order": {"maxRowsPerQuery": 10}},
        },
    )
    lookup = Session(act, lookup_token, tools(orders), script)
    script.say("(order-lookup) Reading order 1001.")
    lookup.call("read_order", order_id="1001", rows=1, expect="allowed")
    script.say("(order-lookup) Reading 20 rows of order history (the parent may read 50).")
    lookup.call("read_order", order_id="1001", rows=20, expect="constraint_failed", constraint="maxRowsPerQuery")
    script.say("(order-lookup) Refunding $10 on order 1001 (the parent may).")
    lookup.call("process_refund", order_id="1001", amount=10, expect="action_not_allowed")
    script.say("(order-lookup) Reading order 1002 of customer 43.")
    lookup.call("read_order", order_id="1002", rows=1, expect="resource_not_allowed")
    script.say("(order-lookup) Dropping its own link and refunding $10 with what is left: the parent's token.")
    Session(act, lookup_token.rsplit("~", 1)[0], tools(orders), script).call(
        "process_refund", order_id="1001", amount=10, expect="delegation_unsealed"
    )

    script.scene(
        "the bot delegates to `refund-helper` a capability wider than its own, for longer than its own token lives"
    )
    helper_token = act.delegate(
        parent,
        holder_key=bot_key,
        agent="refund-helper",
        ttl=3600,
        policy={
            "actions": ["read_order", "process_refund", "delete_customer"],
            "resources": ["order://customer:*/*"],
            "constraints": {"process_refund": {"maxAmount": 10000}},
        },
    )
    helper = Session(act, helper_token, tools(orders), script)
    script.say("(refund-helper) Reading order 1002 of customer 43.")
    helper.call("read_order", order_id="1002", rows=1, expect="resource_not_allowed")
    script.say("(refund-helper) Deleting customer 42.")
    helper.call("delete_customer", customer_id="42", expect="action_not_allowed")
    script.say("(refund-helper) Refunding the $600 bundle (its capability says up to $10,000).")
    helper.call("process_refund", order_id="1003", amount=600, expect="constraint_failed", constraint="maxAmount")
    script.say("(refund-helper) Refunding the $120 jacket.")
    asked = helper.call(
        "process_refund", order_id="1004", amount=120, expect="approval_required", constraint="requireSecondApproval"
    )
    assert asked.approval_request is not None
    script.note(f"a supervisor approves request {asked.approval_request.id[:12]}... for the sub-agent")
    approval = act.approve(asked.approval_request, approver="supervisor@example.com", ttl=600)
    helper.call("process_refund", order_id="1004", amount=120, approval=approval, expect="approved")
    script.say(
        "(refund-helper) Refunding $5 on the mug, four times: it shares the parent's 5 refunds a day for customer 42."
    )
    for _ in range(3):
        helper.call("process_refund", order_id="1001", amount=5, expect="allowed")
    helper.call("process_refund", order_id="1001", amount=5, expect="rate_limited", constraint="maxPerDay")
    script.say("(parent) Refunding $5 on the mug.")
    bot.call("process_refund", order_id="1001", amount=5, expect="rate_limited", constraint="maxPerDay")

    script.scene("the sub-agents try to mint tokens of their own")
    script.expect_error(
        "refund-helper delegates onward with a key of its own (its token names no holder key)",
        TokenError,
        lambda: act.delegate(helper_token, holder_key=SigningKey.generate(), agent="helper-of-helper", ttl=60),
    )
    script.expect_error(
        "order-lookup signs a child of the parent's token with its own key",
        TokenError,
        lambda: act.delegate(
            parent,
            holder_key=SigningKey.generate(),
            agent="order-lookup",
            ttl=60,
            policy={"actions": ["process_refund"], "resources": ["order://customer:42/*"]},
        ),
    )
    # Bypassing the SDK: graft a child signed by another token's holder key onto the parent,
    # and a child made for another of the bot's own tokens (same key, same user).
    other_key = SigningKey.generate()
    other_parent = act.issue_token(
        agent="customer-support-bot", user_context={"user_id": "42"}, ttl=600, holder_key=other_key.public_key
    )
    other_child = act.delegate(other_parent, holder_key=other_key, agent="order-lookup", ttl=60)
    grafted = parent + "~" + other_child.split("~")[-1]
    script.say("(order-lookup, with a grafted token) Reading order 1003.")
    Session(act, grafted, tools(orders), script).call(
        "read_order", order_id="1003", rows=1, expect="delegation_invalid"
    )
    second = act.issue_token(
        agent="customer-support-bot", user_context={"user_id": "42"}, ttl=600, holder_key=bot_key.public_key
    )
    moved = second + "~" + lookup_token.split("~")[-1]
    script.say("(order-lookup, its link moved onto another of the bot's tokens) Reading order 1003.")
    Session(act, moved, tools(orders), script).call("read_order", order_id="1003", rows=1, expect="delegation_invalid")

    script.scene("11 minutes later: the parent's 10-minute token has expired, and the helper's with it")
    clock.advance_ms(11 * 60 * 1000)
    script.say("(refund-helper) Reading order 1001.")
    helper.call("read_order", order_id="1001", rows=1, expect="token_expired")

    print(f"\nrefunded ${orders.refunded:.2f} in total")
    script.finish(act, audit)


if __name__ == "__main__":
    main()
