"""ACT for LangChain 1.x agents (``create_agent``): a middleware whose ``wrap_tool_call`` decides
every tool call with ``ACT.validate`` before the tool runs; ``approval_required`` pauses the
graph with LangGraph's ``interrupt`` (the human-in-the-loop path; it needs a checkpointer).

    act_mw = ACTMiddleware(act, token=lambda ctx: ctx["act_token"],   # ctx: invoke(context=...)
                           rules={"process_refund": "order://customer:{customer_id}/{order_id}"})
    agent = create_agent(model, tools=[process_refund], middleware=[act_mw], checkpointer=InMemorySaver())

    config = {"configurable": {"thread_id": "t1"}}
    out = agent.invoke({"messages": [...]}, config, context={"act_token": token})
    for pending in out.get("__interrupt__", []):          # ACT said approval_required
        print(pending.value["request"])                    # what to approve
        resume = {pending.id: act_mw.approve(pending.value, approver="supervisor@example.com")}
        out = agent.invoke(Command(resume=resume), config, context={"act_token": token})

- allow: the tool runs.
- deny: the tool does not run; the model gets a ``ToolMessage`` (status ``error``) reading
  ``"ACT denied this call (<reason>): <message>"``.
- approval_required: ``interrupt({"type": "act_approval", "request": {...}, ...})``. Resume with
  ``act_mw.approve(value, approver=...)`` (an ACT approval signed with the ACT's issuer key, bound
  to exactly that request) to run the tool once, or ``act_mw.reject(message)`` to refuse.
  Any other resume value refuses.
- in endpoint mode (``ACT(endpoint=...)``) the agent holds no key to sign approvals with: instead
  of interrupting, the middleware asks the control endpoint's approvers (``request_approval``) and
  waits up to ``approval_wait`` seconds for their decision (``wait_for_approval``; off the event
  loop under ``ainvoke``). Granted, the tool runs once; a denial or no decision in time gives the
  model a refusal naming why.
- a tool with no rule does not run; an exception from ACT propagates out of ``invoke``.

The context sent to ACT is the call's arguments validated by the tool's own argument schema
(the values the tool receives), never the model's free text.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple, Union

from langchain.agents.middleware import AgentMiddleware, AgentState
from langchain.agents.middleware.types import ToolCallRequest
from langchain_core.messages import ToolMessage
from langgraph.types import Command, interrupt
from pydantic import BaseModel, ValidationError

from .._client import ACT
from ..errors import ConfigError
from ._common import (
    ToolRule,
    approval_from_endpoint,
    check_act,
    check_token_source,
    in_endpoint_mode,
    refusal,
    token_of,
)

__all__ = ["ACTMiddleware"]

_Result = Union[ToolMessage, Command[Any]]


class ACTMiddleware(AgentMiddleware[AgentState[Any], Any, Any]):
    """Decides each tool call of a LangChain agent with one ``ACT``.

    - ``token``: the agent's ACT token, or a callable receiving the run's context
      (``agent.invoke(..., context=...)``) and returning it.
    - ``rules``: tool name -> ``ToolRule``, or a resource format string (the action is then
      the tool's name). A tool without a rule never runs.
    - ``approval_ttl``: lifetime in seconds of the approvals ``approve`` signs (they are meant
      to be used right away, by the resumed run).
    - ``approval_wait``: in endpoint mode, how long in seconds a call waits for an approver.
    """

    def __init__(
        self,
        act: ACT,
        *,
        token: Union[str, Callable[[Any], str]],
        rules: Mapping[str, Union[ToolRule, str]],
        approval_ttl: int = 600,
        approval_wait: float = 300,
    ) -> None:
        super().__init__()
        self._act = check_act(act)
        self._endpoint = in_endpoint_mode(self._act)
        self._approval_wait = approval_wait
        check_token_source(token)
        self._token = token
        self._approval_ttl = approval_ttl
        self._rules: Dict[str, ToolRule] = {}
        for name, rule in rules.items():
            if isinstance(rule, str):
                rule = ToolRule(action=name, resource=rule)
            elif not isinstance(rule, ToolRule):
                raise TypeError(f"the rule for tool `{name}` must be a ToolRule or a resource format string")
            self._rules[name] = rule

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], _Result]) -> _Result:
        refused = self._decide(request)
        return refused if refused is not None else handler(request)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[_Result]]
    ) -> _Result:
        # In endpoint mode a decision may wait for a human: not on the event loop.
        refused = await asyncio.to_thread(self._decide, request) if self._endpoint else self._decide(request)
        return refused if refused is not None else await handler(request)

    def approve(self, value: Mapping[str, Any], *, approver: str) -> Dict[str, str]:
        """The resume value for an ACT interrupt a human approved: an ACT approval signed with this
        ACT's issuer key for exactly the interrupted request, naming ``approver``."""
        if not isinstance(value, Mapping) or value.get("type") != "act_approval":
            raise ConfigError("approve() takes the value of an ACT interrupt (type 'act_approval')")
        if not isinstance(approver, str) or not approver:
            raise ConfigError("approver must name the human who approved, e.g. 'supervisor@example.com'")
        request_id = value["request"]["id"]
        return {"approval": self._act.approve(request_id, approver=approver, ttl=self._approval_ttl)}

    @staticmethod
    def reject(message: str = "A human refused this call.") -> Dict[str, str]:
        """The resume value for an ACT interrupt a human refused; the model gets ``message``."""
        return {"reject": message}

    def _decide(self, request: ToolCallRequest) -> Optional[ToolMessage]:
        """None to run the tool, or the message the model gets instead."""
        call = request.tool_call
        name = call["name"]
        rule = self._rules.get(name)
        if rule is None:
            return _message(call, f"ACT has no rule for the tool `{name}`, so it did not run.")
        args = _validated(request)
        if isinstance(args, str):
            return _message(call, args)
        action, resource, context = rule.request(args)
        token = token_of(self._token, request.runtime.context)
        decision = self._act.validate(token=token, action=action, resource=resource, context=context)
        if decision.outcome == "approval_required" and decision.approval_request is not None:
            approval: Optional[str]
            rejection: Optional[str]
            if self._endpoint:
                approval, rejection = approval_from_endpoint(self._act, decision, self._approval_wait)
            else:
                approval, rejection = _answer(
                    interrupt(
                        {
                            "type": "act_approval",
                            "tool_call_id": call["id"],
                            "tool": name,
                            "args": args,
                            "request": decision.approval_request.to_dict(),
                            "message": decision.message,
                        }
                    )
                )
            if approval is None:
                return _message(call, rejection or "A human refused this call.")
            decision = self._act.validate(
                token=token, action=action, resource=resource, context=context, approval=approval
            )
        if decision.allowed:
            return None
        return _message(call, refusal(decision))


def _answer(answer: Any) -> Tuple[Optional[str], Optional[str]]:
    """(approval, None) or (None, rejection text) from a resume value; anything else refuses."""
    if isinstance(answer, Mapping):
        approval = answer.get("approval")
        if isinstance(approval, str) and approval:
            return approval, None
        reject = answer.get("reject")
        if isinstance(reject, str) and reject:
            return None, reject
    return None, "ACT did not run this call: the resume value was neither an approval nor a rejection."


def _validated(request: ToolCallRequest) -> Union[Dict[str, Any], str]:
    """The call's arguments as the tool receives them, or why they are not valid."""
    args = request.tool_call["args"]
    tool = request.tool
    if tool is None:
        return f"ACT did not run this call: the tool `{request.tool_call['name']}` is not registered with the agent."
    schema = tool.tool_call_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            dumped: Dict[str, Any] = schema.model_validate(args).model_dump(mode="json")
        except ValidationError as e:
            return f"ACT did not run this call (arguments_invalid): {e}"
        return dumped
    return dict(args)


def _message(call: Mapping[str, Any], text: str) -> ToolMessage:
    return ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")
