"""The framework guards in endpoint mode against a real `act serve`: the agent holds no key to sign
approvals with, so on approval_required each guard asks the endpoint (`request_approval`), an
operator grants or denies over HTTP, and the guard picks the answer up (`wait_for_approval`)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest
from test_control_plane import APPROVER, ISSUER, Serve, serve

FIXTURES = (serve,)  # `act serve` on loopback, the fixture the tests below take by name

RESOURCE = "order://customer:{customer_id}/{order_id}"
REFUND = {"customer_id": "42", "order_id": "1001", "amount": 120}


class Operator(threading.Thread):
    """Decides the first pending approval once it appears, as an approver would in the console,
    and keeps the argument values it was shown."""

    def __init__(self, serve: Serve, verb: str, reason: str, delay: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.serve, self.verb, self.reason, self.delay = serve, verb, reason, delay
        self.seen: List[Dict[str, Any]] = []
        self.start()

    def run(self) -> None:
        deadline = time.time() + 20
        while time.time() < deadline:
            pending = self.serve.call("GET", "/v1/approvals?status=pending", APPROVER)["approvals"]
            if pending:
                self.seen.append(pending[0]["context"])
                time.sleep(self.delay)  # a human takes a while
                path = f"/v1/approvals/{pending[0]['id']}/{self.verb}"
                self.serve.call("POST", path, APPROVER, {"reason": self.reason})
                return
            time.sleep(0.05)

    def done(self) -> None:
        self.join()
        assert [c["amount"] for c in self.seen] == [120], self.seen  # the approver saw the arguments


def operator(serve: Serve, verb: str, reason: str, delay: float = 0.0) -> Operator:
    return Operator(serve, verb, reason, delay)


@pytest.fixture
def agent(serve: Serve) -> Iterator[Any]:
    with serve.client(issuer_api_key=ISSUER) as act:
        assert act.ready(10)
        assert act.public_key is None  # nothing in this process could sign an approval
        token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, ttl=600)
        yield act, token


def approvals(serve: Serve, status: str) -> List[Dict[str, Any]]:
    return list(serve.call("GET", f"/v1/approvals?status={status}", APPROVER)["approvals"])


@pytest.mark.parametrize("verb", ["grant", "deny"])
def test_langchain_asks_the_endpoint_instead_of_interrupting(serve: Serve, agent: Any, verb: str) -> None:
    pytest.importorskip("langchain")
    from langchain_core.messages import AIMessage
    from test_langchain_guard import CONFIG, build, refund_call, tool_messages

    act, token = agent
    graph, _, _, ran = build(act, [refund_call(120), AIMessage(content="done")], approval_wait=20)
    decider = operator(serve, verb, "receipt checked" if verb == "grant" else "no receipt")
    out = graph.invoke({"messages": [("user", "refund 120")]}, CONFIG, context={"act_token": token})
    decider.done()
    assert "__interrupt__" not in out
    [msg] = tool_messages(out)
    if verb == "grant":
        assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 120.0}]
        assert msg.content == "refunded 120.0"
        assert [a["status"] for a in approvals(serve, "granted")] == ["granted"]
    else:
        assert ran == []
        assert msg.content.startswith("A human refused this call (approval_denied): no receipt"), msg.content


def test_langchain_async_waits_off_the_event_loop(serve: Serve, agent: Any) -> None:
    pytest.importorskip("langchain")
    from langchain_core.messages import AIMessage
    from test_langchain_guard import CONFIG, build, refund_call

    act, token = agent
    graph, _, _, ran = build(act, [refund_call(120), AIMessage(content="done")], approval_wait=20)
    ticks: List[float] = []

    async def main() -> Any:
        async def tick() -> None:
            while True:
                ticks.append(time.time())
                await asyncio.sleep(0.05)

        ticker = asyncio.create_task(tick())
        decider = operator(serve, "grant", "ok", delay=1.0)
        out = await graph.ainvoke({"messages": [("user", "refund 120")]}, CONFIG, context={"act_token": token})
        ticker.cancel()
        decider.done()
        return out

    asyncio.run(main())
    assert len(ran) == 1
    # The approver took 1 s: a blocked loop would have ticked once or twice, a free one ~20 times.
    assert len(ticks) > 10, "the event loop kept running while the guard waited for the approver"


@pytest.mark.parametrize("verb", ["grant", "deny"])
def test_openai_agents_asks_the_endpoint_instead_of_interrupting(serve: Serve, agent: Any, verb: str) -> None:
    pytest.importorskip("agents")
    from act_sdk.integrations.openai_agents import AgentsGuard
    from agents import Agent, Runner, set_tracing_disabled
    from agents.testing import ScriptedModel, assistant_message, function_call

    set_tracing_disabled(True)
    act, token = agent
    ran: List[float] = []

    def process_refund(customer_id: str, order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append(amount)
        return f"refunded {amount}"

    guard = AgentsGuard(act, token=lambda ctx: ctx["act_token"], approval_wait=20)
    # 120.0, not 120: the SDK interrupts on its own when its parameter model changes an argument.
    call = function_call("process_refund", {**REFUND, "amount": 120.0}, call_id="c1")
    model = ScriptedModel([[call], [assistant_message("done")]])
    bot = Agent(name="support", tools=[guard.function_tool(process_refund, resource=RESOURCE)], model=model)
    decider = operator(serve, verb, "receipt checked" if verb == "grant" else "no receipt")
    result = asyncio.run(Runner.run(bot, "refund 120", context={"act_token": token}))
    decider.done()
    assert result.interruptions == []
    outputs = [str(i.output) for i in result.new_items if i.type == "tool_call_output_item"]
    if verb == "grant":
        assert ran == [120.0] and outputs == ["refunded 120.0"]
    else:
        assert ran == []
        assert outputs[0].startswith("A human refused this call (approval_denied): no receipt"), outputs


def test_mcp_asks_the_endpoint(serve: Serve, agent: Any) -> None:
    pytest.importorskip("mcp")
    from test_mcp_guard import call, text
    from test_mcp_guard import serve as mcp_server

    act, token = agent
    server, ran = mcp_server(act, token)
    decider = operator(serve, "grant", "ok")
    result, asked = call(server, "process_refund", REFUND)
    decider.done()
    assert not result.is_error, text(result)
    assert asked == [] and len(ran) == 1  # the endpoint's approver decided, not the MCP client
