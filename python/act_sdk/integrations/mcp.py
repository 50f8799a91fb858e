"""ACT for MCP servers (the ``mcp`` SDK 2.x, ``MCPServer``, formerly FastMCP): each call of a
guarded tool is decided by ``ACT.validate`` on the tool's validated arguments before the tool
body runs; ``approval_required`` asks the human at the MCP client through elicitation.

    server = MCPServer("orders")
    guard = MCPGuard(act, token=os.environ["ACT_TOKEN"], approver="mcp-client-user")

    @server.tool()
    @guard.tool(action="process_refund", resource="order://customer:{customer_id}/{order_id}")
    def process_refund(customer_id: str, order_id: str, amount: float) -> str:
        ...

- allow: the tool runs.
- deny: the tool does not run; the client (and its model) gets an ``isError`` result reading
  ``"... ACT denied this call (<reason>): <message>. The tool did not run."``.
- approval_required: with ``approver=`` set, the server asks the client's human through MCP
  elicitation (``Elicit`` through a ``Resolve`` parameter, so it works on both the
  ``input_required`` protocol of 2026-07-28 and the older mid-call ``elicitation/create``). On
  "approve", the guard signs an ACT approval with the ACT's issuer key for exactly this request,
  naming ``approver``, and validates with it: the tool runs once. A decline, a cancel, a client
  without elicitation, or no ``approver`` gives the model ``"... (approval_required) ..."``.
  In endpoint mode (``ACT(endpoint=...)``) the agent holds no key to sign approvals with: the
  guard asks the control endpoint instead (``request_approval``), waits up to
  ``approval_wait`` seconds for an approver's decision there (``wait_for_approval``, off the event
  loop), and runs the tool once if granted; a denial gives the model the approver's reason.
- an exception from ACT never runs the tool: MCP reports it as a tool crash (its text stays on
  the server).

``token`` is the agent's ACT token, or a callable receiving the MCP ``Context`` and returning it
(for instance from a request header your HTTP auth verified). ``approver`` names who approves:
a string, or a callable receiving the ``Context``.
"""

from __future__ import annotations

import functools
import inspect
import typing
from typing import Annotated, Any, Callable, Dict, Iterable, Mapping, Optional, TypeVar, Union

import anyio.to_thread
from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, Elicit, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from .._client import ACT
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

__all__ = ["ApprovalForm", "MCPGuard"]

F = TypeVar("F", bound=Callable[..., Any])

_CTX = "act_ctx"
_APPROVAL = "act_approval"


class ApprovalForm(BaseModel):
    """What the MCP client's human answers when ACT needs an approval."""

    approve: bool = Field(description="Approve this one call?")


class MCPGuard:
    """Guards ``MCPServer`` tools with one ``ACT``."""

    def __init__(
        self,
        act: ACT,
        *,
        token: Union[str, Callable[[Any], str]],
        approver: Union[str, Callable[[Any], str], None] = None,
        approval_ttl: int = 600,
        approval_wait: float = 300,
    ) -> None:
        self._act = check_act(act)
        self._endpoint = in_endpoint_mode(self._act)
        self._approval_wait = approval_wait
        check_token_source(token)
        if approver is not None and not ((isinstance(approver, str) and approver) or callable(approver)):
            raise ConfigError("approver must be a non-empty str, a callable receiving the MCP Context, or None")
        self._token = token
        self._approver = approver
        self._approval_ttl = approval_ttl

    def tool(
        self,
        *,
        action: Optional[str] = None,
        resource: Union[str, Callable[..., str], None] = None,
        context: Union[Iterable[str], Callable[..., Mapping[str, Any]], None] = None,
        rule: Optional[ToolRule] = None,
    ) -> Callable[[F], F]:
        """Decorates a tool function (sync or async) *below* ``@server.tool()``.

        ``action`` defaults to the function's name. The function may take the MCP ``Context``
        itself; its other parameters are the tool's arguments, validated by MCP first.
        """

        def decorate(fn: F) -> F:
            return self._wrap(
                fn, as_rule(rule, action=action, resource=resource, context=context, default_action=fn.__name__)
            )

        return decorate

    def _wrap(self, fn: F, rule: ToolRule) -> F:
        hints = typing.get_type_hints(fn, include_extras=True)
        signature = inspect.signature(fn)
        for reserved in (_CTX, _APPROVAL):
            if reserved in signature.parameters:
                raise ConfigError(f"{fn.__qualname__} has a parameter `{reserved}`, a name MCPGuard reserves")
        own_ctx = next((n for n, h in hints.items() if _is_context(h)), None)
        tool_params = [p for n, p in signature.parameters.items() if n != own_ctx and n != "return"]
        for p in tool_params:
            if p.kind in (
                inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.VAR_KEYWORD,
                inspect.Parameter.POSITIONAL_ONLY,
            ):
                raise ConfigError(f"MCP tool {fn.__qualname__} must take named arguments only (`{p.name}`)")
        names = [p.name for p in tool_params]
        guard = self

        async def ask(**named: Any) -> Any:
            ctx = named.pop(_CTX)
            if guard._endpoint or guard._approver is None or not _can_elicit(ctx):
                return None
            action, resource, context = rule.request(named)
            decision = guard._act.check(
                token=token_of(guard._token, ctx), action=action, resource=resource, context=context
            )
            if decision.outcome != "approval_required":
                return None
            return Elicit(f"Approve {action} on {resource}? ACT: {decision.message}.", ApprovalForm)

        ask.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=Context)]
            + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=Any) for n in names]
        )
        ask.__annotations__ = {_CTX: Context, **{n: Any for n in names}}
        ask.__qualname__ = f"act_approval[{fn.__qualname__}]"
        ask.__module__ = getattr(fn, "__module__", __name__)

        approval_type = Annotated[ElicitationResult[ApprovalForm], Resolve(ask)]

        @functools.wraps(fn)
        async def guarded(**kwargs: Any) -> Any:
            ctx = kwargs.pop(_CTX)
            answer = kwargs.pop(_APPROVAL)
            action, resource, context = rule.request(kwargs)
            token = token_of(guard._token, ctx)
            decision = guard._act.validate(token=token, action=action, resource=resource, context=context)
            if decision.outcome == "approval_required" and decision.approval_request is not None and guard._endpoint:
                approval = await anyio.to_thread.run_sync(guard._approval_from_endpoint, decision)
                decision = guard._act.validate(
                    token=token, action=action, resource=resource, context=context, approval=approval
                )
            elif decision.outcome == "approval_required" and decision.approval_request is not None:
                asked = isinstance(answer, AcceptedElicitation) and isinstance(answer.data, ApprovalForm)
                if asked and answer.data.approve and guard._approver is not None:
                    approver = guard._approver(ctx) if callable(guard._approver) else guard._approver
                    if not isinstance(approver, str) or not approver:
                        raise ConfigError("the approver callable must return the approver's name as a non-empty str")
                    approval = guard._act.approve(decision.approval_request, approver=approver, ttl=guard._approval_ttl)
                    decision = guard._act.validate(
                        token=token, action=action, resource=resource, context=context, approval=approval
                    )
                elif asked or not isinstance(answer, AcceptedElicitation):  # said no, declined or cancelled
                    raise ToolError(
                        f"A human refused this call (approval_required): {decision.message}. The tool did not run."
                    )
                # else nobody could be asked (no approver, or a client without elicitation)
            if not decision.allowed:
                raise ToolError(refusal(decision))
            if own_ctx is not None:
                kwargs[own_ctx] = ctx
            if inspect.iscoroutinefunction(fn):
                return await fn(**kwargs)
            return await anyio.to_thread.run_sync(functools.partial(fn, **kwargs))

        del guarded.__wrapped__  # MCP reads the signature below, not the original's
        params = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=hints.get(p.name, p.annotation))
            for p in tool_params
        ]
        params.append(inspect.Parameter(_CTX, inspect.Parameter.KEYWORD_ONLY, annotation=Context))
        params.append(inspect.Parameter(_APPROVAL, inspect.Parameter.KEYWORD_ONLY, annotation=approval_type))
        guarded.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            params, return_annotation=hints.get("return", signature.return_annotation)
        )
        annotations: Dict[str, Any] = {
            p.name: p.annotation for p in params if p.annotation is not inspect.Parameter.empty
        }
        if "return" in hints:
            annotations["return"] = hints["return"]
        guarded.__annotations__ = annotations
        return typing.cast(F, guarded)

    def _approval_from_endpoint(self, decision: Any) -> str:
        """Asks the control endpoint's approvers and waits for their decision (a worker thread)."""
        approval, refused = approval_from_endpoint(self._act, decision, self._approval_wait)
        if approval is None:
            raise ToolError(refused)
        return approval


def _is_context(hint: Any) -> bool:
    candidates = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
    return any(isinstance(c, type) and issubclass(c, Context) for c in candidates)


def _can_elicit(ctx: Any) -> bool:
    try:
        capabilities = ctx.client_capabilities
    except Exception:  # outside a request (MCPServer.call_tool called directly)
        return False
    return capabilities is not None and capabilities.elicitation is not None
