"""The OpenAI Agents SDK guard, driven end to end by the real Runner with a scripted model
(agents.testing.ScriptedModel): no network, no model calls."""

import asyncio
import json
from typing import Any, Dict, List

import pytest

pytest.importorskip("agents")

from act_sdk import ACT, ActError, ConfigError
from act_sdk.integrations.openai_agents import AgentsGuard
from agents import Agent, Runner, set_tracing_disabled
from agents.exceptions import UserError
from agents.testing import ScriptedModel, assistant_message, function_call

RESOURCE = "order://customer:{customer_id}/{order_id}"

set_tracing_disabled(True)  # no trace export: these tests never touch the network


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def tool_outputs(result: Any) -> List[str]:
    return [str(item.output) for item in result.new_items if item.type == "tool_call_output_item"]


def refund_call(amount: Any, call_id: str = "call-1", customer: str = "42") -> Any:
    return function_call(
        "process_refund", {"customer_id": customer, "order_id": "1001", "amount": amount}, call_id=call_id
    )


def make(act: ACT, steps: List[Any]) -> Any:
    ran: List[Dict[str, Any]] = []

    def process_refund(customer_id: str, order_id: str, amount: float) -> str:
        """Refund an order."""
        ran.append({"customer_id": customer_id, "order_id": order_id, "amount": amount})
        return f"refunded {amount}"

    guard = AgentsGuard(act, token=lambda ctx: ctx["act_token"])
    model = ScriptedModel(steps)
    agent = Agent(name="support", tools=[guard.function_tool(process_refund, resource=RESOURCE)], model=model)
    return agent, guard, model, ran


def test_allow_runs_the_tool(act: ACT, alice: str) -> None:
    agent, _, model, ran = make(act, [[refund_call(80.0)], [assistant_message("done")]])
    result = run(Runner.run(agent, "refund 80", context={"act_token": alice}))
    assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 80.0}]
    assert tool_outputs(result) == ["refunded 80.0"]
    assert result.final_output == "done"
    model.assert_complete()


@pytest.mark.parametrize(
    "call, reason",
    [
        (refund_call(600.0), "constraint_failed"),  # maxAmount: 500
        (refund_call(10.0, customer="43"), "resource_not_allowed"),  # someone else's order
    ],
)
def test_deny_returns_the_reason_to_the_model(act: ACT, alice: str, call: Any, reason: str) -> None:
    agent, _, model, ran = make(act, [[call], [assistant_message("sorry")]])
    result = run(Runner.run(agent, "refund", context={"act_token": alice}))
    assert ran == []
    [output] = tool_outputs(result)
    assert output.startswith(f"ACT denied this call ({reason}):")
    # The model's second turn saw that text as the tool's result.
    second_input = json.dumps(model.calls[1].input, default=str)
    assert f"ACT denied this call ({reason})" in second_input
    assert result.final_output == "sorry"


def test_bad_token_denies(act: ACT) -> None:
    agent, _, _, ran = make(act, [[refund_call(10.0)], [assistant_message("no")]])
    result = run(Runner.run(agent, "refund", context={"act_token": "not-a-token"}))
    assert ran == []
    assert tool_outputs(result)[0].startswith("ACT denied this call (token_malformed)")


def test_approval_goes_to_the_sdk_interruption_and_runs_once_approved(act: ACT, alice: str) -> None:
    agent, guard, model, ran = make(act, [[refund_call(120.0)], [assistant_message("refunded")]])
    result = run(Runner.run(agent, "refund 120", context={"act_token": alice}))
    assert ran == []
    [item] = result.interruptions
    assert item.name == "process_refund"
    request = guard.pending(item)
    assert request.action == "process_refund" and request.condition == "amount > 100"

    state = result.to_state()
    guard.approve(state, item, approver="supervisor@example.com")
    result = run(Runner.run(agent, state))
    assert ran == [{"customer_id": "42", "order_id": "1001", "amount": 120.0}]
    assert tool_outputs(result) == ["refunded 120.0"]
    assert result.final_output == "refunded"
    model.assert_complete()


def test_sdk_approval_without_an_act_approval_still_refuses(act: ACT, alice: str) -> None:
    agent, _, _, ran = make(act, [[refund_call(120.0)], [assistant_message("waiting")]])
    result = run(Runner.run(agent, "refund 120", context={"act_token": alice}))
    state = result.to_state()
    state.approve(result.interruptions[0])  # the framework alone, no ACT approval signed
    result = run(Runner.run(agent, state))
    assert ran == []
    assert tool_outputs(result)[0].startswith("ACT needs a human's approval for this call (approval_required)")


def test_reject_tells_the_model(act: ACT, alice: str) -> None:
    agent, guard, _, ran = make(act, [[refund_call(120.0)], [assistant_message("ok")]])
    result = run(Runner.run(agent, "refund 120", context={"act_token": alice}))
    state = result.to_state()
    guard.reject(state, result.interruptions[0], message="A supervisor refused this refund.")
    result = run(Runner.run(agent, state))
    assert ran == []
    assert tool_outputs(result) == ["A supervisor refused this refund."]


def test_engine_error_fails_closed(act: ACT, alice: str) -> None:
    agent, _, _, ran = make(act, [[refund_call(10.0)], [assistant_message("?")]])
    act.close()
    with pytest.raises(UserError) as failed:
        run(Runner.run(agent, "refund", context={"act_token": alice}))
    assert isinstance(failed.value.__cause__, ActError)
    assert failed.value.__cause__.code == "invalid_argument"  # "this ACT instance was closed"
    assert ran == []


def test_the_approval_is_signed_by_the_issuer_and_audited(policy_file: Any, key: Any, clock: Any) -> None:
    records: List[Dict[str, Any]] = []
    audited = ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=records.append)
    token = audited.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    agent, guard, _, ran = make(audited, [[refund_call(120.0)], [assistant_message("ok")]])
    result = run(Runner.run(agent, "refund 120", context={"act_token": token}))
    with pytest.raises(ConfigError, match="approver"):
        guard.approve(result.to_state(), result.interruptions[0], approver="")
    state = result.to_state()
    guard.approve(state, result.interruptions[0], approver="supervisor@example.com")
    run(Runner.run(agent, state))
    assert len(ran) == 1
    audited.flush_audit()
    # needs_approval uses check (no record); the resumed guardrail validates, signs, validates again.
    assert [r["reason"] for r in records] == ["approval_required", "approved"]
    audited.close()


def test_sdk_forced_interruption_still_decided_by_act(act: ACT, alice: str) -> None:
    # The SDK asks for approval itself whenever validation changes an argument (600 -> 600.0 for a
    # float); ACT did not ask, so there is no ACT request, and the guardrail still decides.
    agent, guard, _, ran = make(act, [[refund_call(600)], [assistant_message("no")]])
    result = run(Runner.run(agent, "refund", context={"act_token": alice}))
    [item] = result.interruptions
    assert guard.pending(item) is None
    state = result.to_state()
    guard.approve(state, item, approver="supervisor@example.com")
    result = run(Runner.run(agent, state))
    assert ran == []  # a human's yes does not lift maxAmount: 500
    assert tool_outputs(result)[0].startswith("ACT denied this call (constraint_failed)")


def test_arguments_are_validated_before_acting(act: ACT, alice: str) -> None:
    bad = function_call("process_refund", {"customer_id": "42", "order_id": "1001", "amount": "lots"}, call_id="c")
    agent, guard, _, ran = make(act, [[bad], [assistant_message("?")]])
    result = run(Runner.run(agent, "refund", context={"act_token": alice}))
    [item] = result.interruptions  # the SDK itself asks about arguments it cannot validate
    state = result.to_state()
    guard.approve(state, item, approver="supervisor@example.com")
    result = run(Runner.run(agent, state))
    assert ran == []
    assert "ACT did not run this call (arguments_invalid)" in tool_outputs(result)[0]
