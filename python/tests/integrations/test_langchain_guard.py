"""The LangChain 1.x middleware, driven end to end by a real create_agent graph with a scripted
chat model (no network, no model calls) and LangGraph's in-memory checkpointer."""

import asyncio
from typing import Any, Dict, List, Sequence

import pytest

pytest.importorskip("langchain")

from act_sdk import ACT, ActError, ConfigError
from act_sdk.integrations import ToolRule
from act_sdk.integrations.langchain import ACTMiddleware
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command


class ScriptedChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that accepts bind_tools (create_agent binds the tools) and records what it saw."""

    # A pydantic field, not class data: pydantic copies the default, so each model records its own calls.
    seen: List[List[Any]] = []  # noqa: RUF012

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> "ScriptedChatModel":
        return self

    def _generate(self, messages: List[Any], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        self.seen.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def refund_call(amount: Any, customer: str = "42", call_id: str = "call-1") -> AIMessage:
    args = {"customer_id": customer, "order_id": "1001", "amount": amount}
    return AIMessage(
        content="", tool_calls=[{"name": "process_refund", "args": args, "id": call_id, "type": "tool_call"}]
    )


def build(act: ACT, replies: List[Any], **mw: Any) -> Any:
    ran: List[Dict[str, Any]] = []

    @tool
    def process_refund(customer_id: str, order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append({"customer_id": customer_id, "order_id": order_id, "amount": amount})
        return f"refunded {amount}"

    @tool
    def delete_account(customer_id: str) -> str:
        """Delete an account (no ACT rule: must never run)."""
        ran.append({"deleted": customer_id})
        return "deleted"

    model = ScriptedChatModel(messages=iter(replies), seen=[])
    middleware = ACTMiddleware(
        act,
        token=lambda ctx: ctx["act_token"],
        rules={"process_refund": "order://customer:{customer_id}/{order_id}"},
        **mw,
    )
    agent = create_agent(
        model, tools=[process_refund, delete_account], middleware=[middleware], checkpointer=InMemorySaver()
    )
    return agent, middleware, model, ran


CONFIG = {"configurable": {"thread_id": "t1"}}


def tool_messages(out: Dict[str, Any]) -> List[ToolMessage]:
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def test_allow_runs_the_tool(act: ACT, alice: str) -> None:
    agent, _, _model, ran = build(act, [refund_call(80), AIMessage(content="done")])
    out = agent.invoke({"messages": [("user", "refund 80")]}, CONFIG, context={"act_token": alice})
    assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 80.0}]
    [msg] = tool_messages(out)
    assert msg.content == "refunded 80.0" and msg.status == "success"
    assert out["messages"][-1].content == "done"


@pytest.mark.parametrize(
    "amount, customer, reason", [(600, "42", "constraint_failed"), (10, "43", "resource_not_allowed")]
)
def test_deny_returns_the_reason_to_the_model(act: ACT, alice: str, amount: int, customer: str, reason: str) -> None:
    agent, _, model, ran = build(act, [refund_call(amount, customer), AIMessage(content="sorry")])
    out = agent.invoke({"messages": [("user", "refund")]}, CONFIG, context={"act_token": alice})
    assert ran == []
    [msg] = tool_messages(out)
    assert msg.status == "error"
    assert msg.content.startswith(f"ACT denied this call ({reason}):")
    # The model's second call saw that ToolMessage.
    assert any(isinstance(m, ToolMessage) and f"({reason})" in m.content for m in model.seen[1])


def test_a_tool_without_a_rule_never_runs(act: ACT, alice: str) -> None:
    call = AIMessage(
        content="",
        tool_calls=[{"name": "delete_account", "args": {"customer_id": "42"}, "id": "c9", "type": "tool_call"}],
    )
    agent, _, _, ran = build(act, [call, AIMessage(content="ok")])
    out = agent.invoke({"messages": [("user", "delete me")]}, CONFIG, context={"act_token": alice})
    assert ran == []
    assert "ACT has no rule for the tool `delete_account`" in tool_messages(out)[0].content


def test_approval_interrupts_and_runs_once_approved(act: ACT, alice: str) -> None:
    agent, mw, _, ran = build(act, [refund_call(120), AIMessage(content="refunded")])
    out = agent.invoke({"messages": [("user", "refund 120")]}, CONFIG, context={"act_token": alice})
    assert ran == []
    [pending] = out["__interrupt__"]
    assert pending.value["type"] == "act_approval"
    assert pending.value["request"]["condition"] == "amount > 100"
    assert pending.value["args"]["amount"] == 120.0

    resume = {pending.id: mw.approve(pending.value, approver="supervisor@example.com")}
    out = agent.invoke(Command(resume=resume), CONFIG, context={"act_token": alice})
    assert "__interrupt__" not in out
    assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 120.0}]
    assert tool_messages(out)[0].content == "refunded 120.0"
    assert out["messages"][-1].content == "refunded"


def test_reject_and_garbage_resume_values_refuse(act: ACT, alice: str) -> None:
    for resume_value, expected in [
        (ACTMiddleware.reject("A supervisor said no."), "A supervisor said no."),
        ({"approve": True}, "neither an approval nor a rejection"),
        ({"approval": "forged.approval.token"}, "ACT denied this call (approval_invalid)"),
    ]:
        agent, _, _, ran = build(act, [refund_call(120), AIMessage(content="ok")])
        out = agent.invoke({"messages": [("user", "refund 120")]}, CONFIG, context={"act_token": alice})
        out = agent.invoke(
            Command(resume={out["__interrupt__"][0].id: resume_value}), CONFIG, context={"act_token": alice}
        )
        assert ran == []
        assert expected in tool_messages(out)[0].content


def test_an_approval_for_another_amount_is_refused(act: ACT, alice: str) -> None:
    agent, mw, _, _ = build(act, [refund_call(120), AIMessage(content="ok")])
    out = agent.invoke({"messages": [("user", "refund 120")]}, CONFIG, context={"act_token": alice})
    other, _, _, ran = build(act, [refund_call(130), AIMessage(content="ok")])
    out2 = other.invoke({"messages": [("user", "refund 130")]}, CONFIG, context={"act_token": alice})
    approval_for_120 = mw.approve(out["__interrupt__"][0].value, approver="supervisor@example.com")
    out2 = other.invoke(
        Command(resume={out2["__interrupt__"][0].id: approval_for_120}), CONFIG, context={"act_token": alice}
    )
    assert ran == []
    assert tool_messages(out2)[0].content.startswith("ACT denied this call (approval_invalid)")


def test_async_agent(act: ACT, alice: str) -> None:
    agent, mw, _, ran = build(act, [refund_call(120), AIMessage(content="done")])

    async def go() -> Any:
        out = await agent.ainvoke({"messages": [("user", "refund")]}, CONFIG, context={"act_token": alice})
        pending = out["__interrupt__"][0]
        resume = {pending.id: mw.approve(pending.value, approver="supervisor@example.com")}
        return await agent.ainvoke(Command(resume=resume), CONFIG, context={"act_token": alice})

    out = asyncio.run(go())
    assert len(ran) == 1 and tool_messages(out)[0].content == "refunded 120.0"


def test_engine_error_fails_closed(act: ACT, alice: str) -> None:
    agent, _, _, ran = build(act, [refund_call(10), AIMessage(content="?")])
    act.close()
    with pytest.raises(ActError):
        agent.invoke({"messages": [("user", "refund")]}, CONFIG, context={"act_token": alice})
    assert ran == []


def test_configuration_errors_name_the_problem(act: ACT, alice: str) -> None:
    with pytest.raises(TypeError, match="rule for tool `x`"):
        ACTMiddleware(act, token=alice, rules={"x": 42})  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="ACT interrupt"):
        ACTMiddleware(act, token=alice, rules={}).approve({"type": "other"}, approver="a@example.com")
    # A resource template naming an argument the tool does not have: an error, and the tool does not run.
    agent, _, _, ran = build(act, [refund_call(10), AIMessage(content="?")])
    bad = ACTMiddleware(
        act,
        token=alice,
        rules={"process_refund": ToolRule(action="process_refund", resource="order://customer:{customer}/{order_id}")},
    )
    agent = create_agent(
        ScriptedChatModel(messages=iter([refund_call(10), AIMessage(content="?")]), seen=[]),
        tools=agent.nodes["tools"].bound.tools_by_name.values(),
        middleware=[bad],
    )
    with pytest.raises(ConfigError, match="needs an argument the tool call does not have: 'customer'"):
        agent.invoke({"messages": [("user", "x")]})
    assert ran == []
