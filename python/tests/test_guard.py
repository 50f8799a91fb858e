"""@act.guard on sync and async tool functions."""

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from act_sdk import ACT, ApprovalRequired, Denied


def test_sync_guard_allows_denies_and_asks(act: ACT, alice: str) -> None:
    ran: List[Any] = []

    @act.guard(action="process_refund", resource="order://customer:{customer_id}/{order_id}", token=alice)
    def process_refund(customer_id: str, order_id: int, amount: float, note: str = "") -> str:
        ran.append((customer_id, order_id, amount))
        return f"refunded {amount}"

    assert process_refund.__name__ == "process_refund"
    assert process_refund("42", 1001, 80) == "refunded 80"
    with pytest.raises(Denied) as denied:
        process_refund("42", 1001, amount=600)
    assert denied.value.code == "constraint_failed"
    assert denied.value.decision.constraint == "customer-support-bot/process_refund/maxAmount"
    with pytest.raises(Denied) as other:
        process_refund("43", 1001, 10)
    assert other.value.code == "resource_not_allowed"
    with pytest.raises(ApprovalRequired) as asked:
        process_refund("42", 1001, 120)
    assert asked.value.code == "approval_required"
    assert asked.value.approval_request.condition == "amount > 100"
    assert ran == [("42", 1001, 80)]


def test_context_is_built_from_json_arguments_only(act: ACT, alice: str, clock: Any) -> None:
    seen: List[Dict[str, Any]] = []
    act2 = ACT(policy_file=act.status["policy_file"], clock=clock, audit=seen.append, trusted_keys=[act.public_key])  # type: ignore[list-item]

    class Orders:
        @act2.guard(action="process_refund", resource="order://customer:42/{order_id}", token=lambda token: token)
        def refund(self, order_id: str, amount: int, token: str, db: object = object(), **extra: Any) -> int:
            return amount

    assert Orders().refund("1001", 50, alice, reason="damaged") == 50
    act2.flush_audit()
    ctx = seen[-1]["context"]
    # self, the token and the non-JSON db handle stay out; **extra is flattened.
    assert ctx == {"order_id": "1001", "amount": 50, "reason": "damaged"}
    act2.close()


def test_context_selection_and_callables(act: ACT, alice: str) -> None:
    @act.guard(
        action="process_refund",
        resource=lambda order_id: f"order://customer:42/{order_id}",
        token=alice,
        context=["amount"],
    )
    def refund(order_id: str, amount: int, secret: str) -> int:
        return amount

    assert refund("7", 10, "s3cr3t") == 10
    with pytest.raises(Denied):
        refund("7", 501, "s3cr3t")

    @act.guard(
        action="process_refund",
        resource="order://customer:42/1",
        token=alice,
        context=lambda cents: {"amount": cents / 100},
    )
    def refund_cents(cents: int) -> int:
        return cents

    assert refund_cents(5000) == 5000
    with pytest.raises(Denied):
        refund_cents(50001)


def test_approval_round_trip_through_the_guard(act: ACT, alice: str) -> None:
    approvals: Dict[str, Optional[str]] = {"current": None}

    @act.guard(
        action="process_refund",
        resource="order://customer:42/{order_id}",
        token=alice,
        approval=lambda: approvals["current"],
    )
    def refund(order_id: str, amount: int) -> str:
        return "done"

    with pytest.raises(ApprovalRequired) as asked:
        refund("9", 300)
    approvals["current"] = act.approve(asked.value.approval_request, approver="lead", ttl=300)
    assert refund("9", 300) == "done"
    with pytest.raises(Denied) as replay:
        refund("9", 300)
    assert replay.value.code == "approval_replayed"


def test_async_guard(act: ACT, alice: str) -> None:
    @act.guard(action="read_order", resource="order://customer:{customer}/{order}", token=alice)
    async def read_order(customer: str, order: str, rows: int = 10) -> str:
        await asyncio.sleep(0)
        return f"order {order}"

    assert asyncio.iscoroutinefunction(read_order)
    assert asyncio.run(read_order("42", "1")) == "order 1"
    with pytest.raises(Denied):
        asyncio.run(read_order("42", "1", rows=500))
    with pytest.raises(Denied):
        asyncio.run(read_order("41", "1"))
