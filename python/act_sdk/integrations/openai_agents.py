"""ACT for the OpenAI Agents SDK (``openai-agents``): every call of a guarded function tool is
decided by ``ACT.validate`` in a tool input guardrail, and ``approval_required`` becomes the
SDK's own human approval (``needs_approval`` → ``result.interruptions`` →
``RunState.approve``).

    guard = AgentsGuard(act, token=lambda ctx: ctx["act_token"])   # ctx: the run's context=
    refund = guard.function_tool(process_refund, resource="order://customer:{customer_id}/{order_id}")
    agent = Agent(name="support", tools=[refund])

    result = await Runner.run(agent, "...", context={"act_token": token})
    for item in result.interruptions:                # ACT said approval_required
        print(guard.pending(item))                   # what ACT asks a human to approve
        state = result.to_state()
        guard.approve(state, item, approver="supervisor@example.com")
        result = await Runner.run(agent, state)      # signs the ACT approval, runs the tool once

- allow: the tool runs.
- deny: the tool does not run; the model gets ``"ACT denied this call (<reason>): <message>"``
  (``ToolGuardrailFunctionOutput.reject_content``).
- approval_required: ``needs_approval`` is true for exactly that call, so the run stops with an
  interruption. ``guard.approve`` approves it and names the approver; the resumed run signs an
  ACT approval (with the ACT's issuer key) for exactly that call's request and validates with
  it, so the tool runs once. Approving in the SDK alone (``state.approve``) is not enough: with
  no approver recorded the guardrail still refuses. ``guard.reject`` (or ``state.reject``) refuses.
- in endpoint mode (``ACT(endpoint=...)``) the agent holds no key to sign approvals with: there
  is no interruption; the guardrail asks the control endpoint's approvers (``request_approval``)
  and waits up to ``approval_wait`` seconds for their decision (``wait_for_approval``, off the
  event loop). Granted, the tool runs once; a denial or no decision in time gives the model a
  refusal naming why.
- an exception from ACT propagates out of ``Runner.run``; the tool does not run.

The context sent to ACT is the call's arguments after validation against the tool's own
parameter model (the same values the function receives), never the model's free text.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Type, Union

from agents import FunctionTool, RunContextWrapper, RunState, ToolApprovalItem, function_tool
from agents.function_schema import function_schema
from agents.tool_guardrails import ToolGuardrailFunctionOutput, ToolInputGuardrail, ToolInputGuardrailData
from pydantic import BaseModel, ValidationError

from .._client import ACT
from .._native import ApprovalRequest
from ..errors import ConfigError
from ._common import (
    ToolRule,
    approval_from_endpoint,
    as_rule,
    check_act,
    check_token_source,
    in_endpoint_mode,
    refusal,
    token_of,
)

__all__ = ["AgentsGuard"]

_ArgsModel = Optional[Type[BaseModel]]


class AgentsGuard:
    """Guards OpenAI Agents SDK function tools with one ``ACT``.

    ``token`` is the agent's ACT token, or a callable receiving the run's context object
    (``Runner.run(..., context=...)``) and returning it. ``approval_ttl`` is the lifetime in
    seconds of the ACT approvals the guard signs (each is used right after it is signed);
    ``approval_wait``, in endpoint mode, how long in seconds a call waits for an approver.
    """

    def __init__(
        self,
        act: ACT,
        *,
        token: Union[str, Callable[[Any], str]],
        approval_ttl: int = 600,
        approval_wait: float = 300,
    ) -> None:
        self._act = check_act(act)
        self._endpoint = in_endpoint_mode(self._act)
        self._approval_wait = approval_wait
        check_token_source(token)
        self._token = token
        self._approval_ttl = approval_ttl
        self._lock = threading.Lock()
        self._requests: Dict[str, ApprovalRequest] = {}  # call_id -> what a human is asked to approve
        self._approvers: Dict[str, str] = {}  # call_id -> who approved it in the SDK

    def function_tool(
        self,
        fn: Callable[..., Any],
        *,
        action: Optional[str] = None,
        resource: Union[str, Callable[..., str], None] = None,
        context: Union[Iterable[str], Callable[..., Mapping[str, Any]], None] = None,
        rule: Optional[ToolRule] = None,
        **function_tool_kwargs: Any,
    ) -> FunctionTool:
        """``agents.function_tool(fn, ...)`` with the ACT guardrail and ``needs_approval`` set.

        ``action`` defaults to the tool's name. Other keyword arguments go to ``function_tool``.
        """
        for key in ("needs_approval", "tool_input_guardrails"):
            if key in function_tool_kwargs:
                raise ConfigError(
                    f"{key}= is set by AgentsGuard.function_tool; combine guardrails on the returned tool"
                )
        name = str(function_tool_kwargs.get("name_override") or getattr(fn, "__name__", ""))
        the_rule = as_rule(rule, action=action, resource=resource, context=context, default_action=name)
        model = function_schema(fn).params_pydantic_model
        return function_tool(
            fn,
            tool_input_guardrails=[self.input_guardrail(the_rule, args_model=model)],
            needs_approval=self.needs_approval(the_rule, args_model=model),
            **function_tool_kwargs,
        )

    def input_guardrail(self, rule: ToolRule, *, args_model: _ArgsModel = None) -> ToolInputGuardrail[Any]:
        """A tool input guardrail deciding each call with ``ACT.validate`` (for tools you build yourself).

        ``args_model``: the tool's parameter model; without it the context is the parsed JSON arguments.
        """

        async def act_guardrail(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
            ctx = data.context
            args = _arguments(ctx.tool_arguments, args_model)
            if isinstance(args, str):
                return ToolGuardrailFunctionOutput.reject_content(args)
            action, resource, context = rule.request(args)
            token = token_of(self._token, ctx.context)
            with self._lock:
                approver = self._approvers.pop(ctx.tool_call_id, None)
                self._requests.pop(ctx.tool_call_id, None)
            decision = self._act.validate(token=token, action=action, resource=resource, context=context)
            if decision.outcome == "approval_required" and decision.approval_request is not None and self._endpoint:
                approval, refused = await asyncio.to_thread(
                    approval_from_endpoint, self._act, decision, self._approval_wait
                )
                if approval is None:
                    return ToolGuardrailFunctionOutput.reject_content(refused, output_info=decision.to_dict())
                decision = self._act.validate(
                    token=token, action=action, resource=resource, context=context, approval=approval
                )
            elif (
                decision.outcome == "approval_required"
                and approver is not None
                and decision.approval_request is not None
            ):
                # A human approved this very call (its call id binds its arguments) through the
                # SDK: sign the ACT approval for exactly this request and decide again.
                approval = self._act.approve(decision.approval_request, approver=approver, ttl=self._approval_ttl)
                decision = self._act.validate(
                    token=token, action=action, resource=resource, context=context, approval=approval
                )
            if decision.allowed:
                return ToolGuardrailFunctionOutput.allow(output_info=decision.to_dict())
            return ToolGuardrailFunctionOutput.reject_content(refusal(decision), output_info=decision.to_dict())

        return ToolInputGuardrail(guardrail_function=act_guardrail, name=f"act:{rule.action}")

    def needs_approval(
        self, rule: ToolRule, *, args_model: _ArgsModel = None
    ) -> Callable[[RunContextWrapper[Any], Dict[str, Any], str], Any]:
        """A ``needs_approval`` callable: true when ACT's decision (``ACT.check``, no side effects) is
        approval_required. The request is remembered for ``approve``. Never in endpoint mode: the
        endpoint's approvers decide there, while the guardrail waits."""

        async def act_needs_approval(run_context: RunContextWrapper[Any], params: Dict[str, Any], call_id: str) -> bool:
            if self._endpoint:
                return False
            args = _arguments(params, args_model)
            if isinstance(args, str):
                return False  # the guardrail refuses the call and says why
            action, resource, context = rule.request(args)
            decision = self._act.check(
                token=token_of(self._token, run_context.context), action=action, resource=resource, context=context
            )
            if decision.outcome != "approval_required" or decision.approval_request is None:
                return False
            with self._lock:
                self._requests[call_id] = decision.approval_request
            return True

        return act_needs_approval

    def pending(self, item: ToolApprovalItem) -> Optional[ApprovalRequest]:
        """The ACT approval request behind an interruption (what to show the human), or None when
        the SDK interrupted on its own (it asks for approval whenever the tool's parameter model
        changes the arguments, e.g. ``80`` into ``80.0`` for a ``float``, before any policy runs)."""
        call_id = item.call_id
        with self._lock:
            return self._requests.get(call_id) if call_id is not None else None

    def approve(self, state: RunState[Any, Any], item: ToolApprovalItem, *, approver: str) -> None:
        """A human (``approver``, e.g. ``"supervisor@example.com"``) approved ``item``.

        Approves the interruption in ``state``; when the resumed run reaches the call, the guard
        signs an ACT approval for exactly its request with the ACT's issuer key (recorded in the
        audit trail under ``approver``) and validates with it, so the tool runs once."""
        if not isinstance(approver, str) or not approver:
            raise ConfigError("approver must name the human who approved, e.g. 'supervisor@example.com'")
        call_id = item.call_id
        if call_id is None:
            raise ConfigError(
                f"the interruption for tool `{item.name}` has no call id; ACT cannot bind an approval to it"
            )
        with self._lock:
            self._approvers[call_id] = approver
        state.approve(item)

    def reject(self, state: RunState[Any, Any], item: ToolApprovalItem, *, message: Optional[str] = None) -> None:
        """A human refused ``item``: the model gets ``message`` (or the SDK's default) and the tool does not run."""
        call_id = item.call_id
        if call_id is not None:
            with self._lock:
                self._requests.pop(call_id, None)
                self._approvers.pop(call_id, None)
        state.reject(item, rejection_message=message)


def _arguments(raw: Union[str, Mapping[str, Any]], model: _ArgsModel) -> Union[Dict[str, Any], str]:
    """The call's arguments as the tool function receives them (validated by its parameter model),
    or the text telling the model why they are not valid."""
    try:
        parsed = (json.loads(raw) if raw.strip() else {}) if isinstance(raw, str) else dict(raw)
    except ValueError as e:
        return f"ACT did not run this call (arguments_invalid): the arguments are not JSON: {e}"
    if not isinstance(parsed, dict):
        return f"ACT did not run this call (arguments_invalid): the arguments must be a JSON object, not {type(parsed).__name__}"
    if model is None:
        return parsed
    try:
        dumped: Dict[str, Any] = model.model_validate(parsed).model_dump(mode="json")
    except ValidationError as e:
        return f"ACT did not run this call (arguments_invalid): {e}"
    return dumped
