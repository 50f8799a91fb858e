"""The MCP guard, driven end to end: a real mcp 2.x MCPServer and a real mcp Client connected
in-process (both the 2026-07-28 protocol and the legacy handshake), no network."""

from __future__ import annotations  # the guard must resolve string annotations too

from typing import Any, Dict, List, Optional

import anyio
import pytest

pytest.importorskip("mcp")

from act_sdk import ACT, ConfigError
from act_sdk.integrations.mcp import MCPGuard
from mcp import Client, types
from mcp.server.mcpserver import Context, MCPServer

RESOURCE = "order://customer:{customer_id}/{order_id}"


def serve(act: ACT, token: Any, approver: Any = "client-user") -> Any:
    server = MCPServer("orders")
    guard = MCPGuard(act, token=token, approver=approver)
    ran: List[Dict[str, Any]] = []

    @server.tool()
    @guard.tool(action="process_refund", resource=RESOURCE)
    def process_refund(customer_id: str, order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append({"customer_id": customer_id, "order_id": order_id, "amount": amount})
        return f"refunded {amount}"

    @server.tool()
    @guard.tool(action="read_order", resource="order://customer:{customer_id}/{order_id}", context=lambda: {"rows": 1})
    async def read_order(customer_id: str, order_id: str, ctx: Context) -> str:
        """Read an order (async, takes the MCP Context itself)."""
        assert isinstance(ctx, Context)
        ran.append({"read": order_id})
        return f"order {order_id}: shipped"

    return server, ran


def call(
    server: Any, name: str, args: Dict[str, Any], answer: Optional[Dict[str, Any]] = None, mode: str = "auto"
) -> Any:
    asked: List[str] = []

    async def on_elicit(context: Any, params: Any) -> Any:
        asked.append(params.message)
        assert answer is not None
        return types.ElicitResult(**answer)

    async def go() -> Any:
        kwargs: Dict[str, Any] = {"mode": mode}
        if answer is not None:
            kwargs["elicitation_callback"] = on_elicit
        async with Client(server, **kwargs) as client:
            return await client.call_tool(name, args)

    result = anyio.run(go)
    return result, asked


def text(result: Any) -> str:
    return "".join(c.text for c in result.content if c.type == "text")


def refund(amount: Any, customer: str = "42") -> Dict[str, Any]:
    return {"customer_id": customer, "order_id": "1001", "amount": amount}


def test_allow_runs_the_tool(act: ACT, alice: str) -> None:
    server, ran = serve(act, alice)
    result, asked = call(server, "process_refund", refund(80))
    assert not result.is_error and text(result) == "refunded 80.0"
    assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 80.0}]
    result, _ = call(server, "read_order", {"customer_id": "42", "order_id": "7"})
    assert text(result) == "order 7: shipped"
    assert asked == []


@pytest.mark.parametrize(
    "args, reason", [(refund(600), "constraint_failed"), (refund(10, "43"), "resource_not_allowed")]
)
def test_deny_returns_the_reason_to_the_client(act: ACT, alice: str, args: Dict[str, Any], reason: str) -> None:
    server, ran = serve(act, alice)
    result, _ = call(server, "process_refund", args)
    assert result.is_error
    assert f"ACT denied this call ({reason}):" in text(result)
    assert ran == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_approval_is_elicited_and_runs_once_approved(act: ACT, alice: str, mode: str) -> None:
    server, ran = serve(act, alice)
    result, asked = call(
        server, "process_refund", refund(120), {"action": "accept", "content": {"approve": True}}, mode
    )
    assert text(result) == "refunded 120.0" and not result.is_error
    assert len(asked) == 1 and "Approve process_refund on order://customer:42/1001?" in asked[0]
    assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 120.0}]


@pytest.mark.parametrize(
    "answer", [{"action": "accept", "content": {"approve": False}}, {"action": "decline"}, {"action": "cancel"}]
)
def test_a_human_saying_no_refuses(act: ACT, alice: str, answer: Dict[str, Any]) -> None:
    server, ran = serve(act, alice)
    result, asked = call(server, "process_refund", refund(120), answer)
    assert result.is_error and "A human refused this call (approval_required)" in text(result)
    assert len(asked) == 1 and ran == []


def test_without_elicitation_or_approver_approval_required_reaches_the_model(act: ACT, alice: str) -> None:
    server, ran = serve(act, alice)
    result, _ = call(server, "process_refund", refund(120))  # the client offers no elicitation
    assert result.is_error and "ACT needs a human's approval for this call (approval_required)" in text(result)
    server, ran2 = serve(act, alice, approver=None)
    result, asked = call(server, "process_refund", refund(120), {"action": "accept", "content": {"approve": True}})
    assert asked == [] and "(approval_required)" in text(result)
    assert ran == ran2 == []


def test_token_from_the_context_and_bad_tokens(act: ACT, alice: str) -> None:
    server, ran = serve(act, lambda ctx: alice if isinstance(ctx, Context) else "")
    assert not call(server, "process_refund", refund(5))[0].is_error
    server, _ = serve(act, "garbage")
    result, _ = call(server, "process_refund", refund(5))
    assert "ACT denied this call (token_malformed)" in text(result)
    assert len(ran) == 1


def test_engine_error_fails_closed(act: ACT, alice: str) -> None:
    server, ran = serve(act, alice)
    act.close()
    result, _ = call(server, "process_refund", refund(5))
    assert result.is_error and text(result) == "Error executing tool process_refund"  # details stay on the server
    assert ran == []


def test_schema_is_the_tools_own(act: ACT, alice: str) -> None:
    server, _ = serve(act, alice)

    async def go() -> Any:
        async with Client(server) as client:
            return (await client.list_tools()).tools

    tools = {t.name: t for t in anyio.run(go)}
    schema = tools["process_refund"].input_schema
    assert sorted(schema["properties"]) == ["amount", "customer_id", "order_id"]
    assert sorted(tools["read_order"].input_schema["properties"]) == ["customer_id", "order_id"]
    # Arguments that fail the tool's schema never reach ACT or the tool.
    result, _ = call(server, "process_refund", refund("lots"))
    assert result.is_error and "amount" in text(result)


def test_configuration_errors(act: ACT, alice: str) -> None:
    guard = MCPGuard(act, token=alice)
    with pytest.raises(ConfigError, match="reserves"):
        guard.tool(resource="x://{act_ctx}")(lambda act_ctx: act_ctx)
    with pytest.raises(ConfigError, match="resource= is required"):
        guard.tool()(lambda a: a)
    with pytest.raises(TypeError, match=r"act must be an act_sdk\.ACT"):
        MCPGuard(object(), token=alice)  # type: ignore[arg-type]


def test_approver_from_the_context(act: ACT, alice: str) -> None:
    seen: List[Any] = []

    def approver(ctx: Any) -> str:
        seen.append(ctx)
        return "alice@example.com"

    server, ran = serve(act, alice, approver=approver)
    result, _ = call(server, "process_refund", refund(150), {"action": "accept", "content": {"approve": True}})
    assert text(result) == "refunded 150.0" and len(ran) == 1
    assert len(seen) == 1 and isinstance(seen[0], Context)
    server, ran = serve(act, alice, approver=lambda ctx: "")
    result, _ = call(server, "process_refund", refund(150), {"action": "accept", "content": {"approve": True}})
    assert result.is_error and ran == []  # a nameless approver is a configuration error: nothing runs


def test_in_endpoint_mode_the_approval_comes_from_the_endpoints_approvers(tmp_path: Any) -> None:
    """No key to sign with in the agent: the guard asks `act serve`, an approver grants over HTTP,
    the tool runs once; a denial reaches the model with the approver's reason."""
    import threading
    import time

    from test_control_plane import APPROVER, ISSUER
    from test_control_plane import serve as start_serve

    fixture = start_serve.__wrapped__(tmp_path)  # the generator behind the pytest fixture
    endpoint = next(fixture)
    try:
        act = endpoint.client(issuer_api_key=ISSUER)
        token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
        server, ran = serve(act, token)

        def decide(verb: str, reason: str) -> threading.Thread:
            def run() -> None:
                deadline = time.time() + 10
                while time.time() < deadline:
                    pending = endpoint.call("GET", "/v1/approvals?status=pending", APPROVER)["approvals"]
                    if pending:
                        endpoint.call("POST", f"/v1/approvals/{pending[0]['id']}/{verb}", APPROVER, {"reason": reason})
                        return
                    time.sleep(0.05)

            t = threading.Thread(target=run)
            t.start()
            return t

        granter = decide("grant", "verified")
        result, asked = call(server, "process_refund", refund(120))
        granter.join()
        assert text(result) == "refunded 120.0" and not result.is_error and asked == []
        assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 120.0}]

        denier = decide("deny", "no receipt")
        result, _ = call(server, "process_refund", refund(130))
        denier.join()
        assert result.is_error and "no receipt" in text(result)
        assert len(ran) == 1
        act.close()
    finally:
        fixture.close()
