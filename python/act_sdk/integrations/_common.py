"""What every framework guard shares: turning one tool call into an ACT request, and the
text the model gets back when a call does not run. No policy logic: decisions are
``ACT.validate`` / ``ACT.check``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple, Union

from .._client import ACT, _caller, _context_names, _fill, _is_json, _template_roots
from .._native import Decision
from ..errors import ApprovalDenied, ApprovalTimeout, ConfigError


@dataclass(frozen=True)
class ToolRule:
    """How a call of one tool becomes an ACT request.

    - ``action``: the policy action (``"process_refund"``).
    - ``resource``: a format string over the tool's arguments
      (``"order://customer:{customer_id}/{order_id}"``) or a callable receiving them by name.
    - ``context``: by default every argument whose value is JSON; or an iterable of argument
      names; or a callable receiving the arguments by name and returning the dict.

    The arguments are the tool call's *validated* arguments (after the framework's schema
    check), never the model's free text.
    """

    action: str
    resource: Union[str, Callable[..., str]]
    context: Union[Iterable[str], Callable[..., Mapping[str, Any]], None] = None

    def __post_init__(self) -> None:
        if not isinstance(self.action, str):
            raise TypeError("action must be a str")
        if not self.action:
            raise ConfigError("action must not be empty")
        if isinstance(self.resource, str):
            _template_roots(self.resource)
        elif not callable(self.resource):
            raise TypeError("resource must be a format string or a callable")
        ctx = self.context
        if ctx is not None and not callable(ctx):
            object.__setattr__(self, "context", _context_names(ctx))

    def request(self, args: Mapping[str, Any]) -> Tuple[str, str, Dict[str, Any]]:
        """The (action, resource, context) of a call with these validated arguments."""
        named = dict(args)
        if isinstance(self.resource, str):
            label = f"resource template {self.resource!r} for action `{self.action}`"
            resource = _fill(self.resource, named, "the tool call", label)
        else:
            resource = _caller(self.resource)(named)
            if not isinstance(resource, str):
                raise TypeError(f"the resource callable for action `{self.action}` must return a str")
        if self.context is None:
            context = {k: v for k, v in named.items() if _is_json(v)}
        elif isinstance(self.context, frozenset):
            names: FrozenSet[str] = self.context
            context = {k: v for k, v in named.items() if k in names}
        else:
            assert callable(self.context)
            context = dict(_caller(self.context)(named))
        return self.action, resource, context


def as_rule(
    rule: Union[ToolRule, str, None],
    *,
    action: Optional[str],
    resource: Union[str, Callable[..., str], None],
    context: Union[Iterable[str], Callable[..., Mapping[str, Any]], None],
    default_action: str,
) -> ToolRule:
    if rule is not None:
        if isinstance(rule, ToolRule):
            if action is not None or resource is not None or context is not None:
                raise ConfigError("pass either a ToolRule or action=/resource=/context=, not both")
            return rule
        raise TypeError("rule must be a ToolRule")
    if resource is None:
        raise ConfigError(f"resource= is required for the tool `{default_action}`")
    return ToolRule(action=action if action is not None else default_action, resource=resource, context=context)


def token_of(token: Any, source: Any) -> str:
    """The token: a string as-is, or a callable applied to the framework's context object."""
    value = token(source) if callable(token) else token
    if not isinstance(value, str):
        raise TypeError(f"the ACT token must be a str, got {type(value).__name__}")
    return value


def check_token_source(token: Any) -> None:
    if not (isinstance(token, str) or callable(token)):
        raise TypeError("token must be a str or a callable returning the token")


def check_act(act: Any) -> ACT:
    if not isinstance(act, ACT):
        raise TypeError(f"act must be an act_sdk.ACT, got {type(act).__name__}")
    return act


def refusal(decision: Decision) -> str:
    """The text a model gets instead of a tool's result when ACT did not allow the call.

    It starts with the stable reason code so the model (and a test) can tell a limit from a
    missing approval: ``"ACT denied this call (constraint_failed): ..."``.
    """
    if decision.outcome == "approval_required":
        request = decision.approval_request
        rid = f" Approval request {request.id}." if request is not None else ""
        return f"ACT needs a human's approval for this call (approval_required): {decision.message}.{rid} The tool did not run."
    return f"ACT denied this call ({decision.reason}): {decision.message}. The tool did not run."


def in_endpoint_mode(act: ACT) -> bool:
    """True when ``act`` takes its policies from a control endpoint (``ACT(endpoint=...)``): the
    agent then holds no key to sign approvals with, and approvals are asked of the endpoint."""
    return bool(act.status["mode"] == "endpoint")


def approval_from_endpoint(act: ACT, decision: Decision, wait: float) -> Tuple[Optional[str], str]:
    """Asks the control endpoint's approvers about ``decision`` (``request_approval``) and waits up
    to ``wait`` seconds for their decision (``wait_for_approval``; blocking, so call it off any
    event loop): ``(approval, "")`` when granted, else ``(None, the text the model gets)``."""
    handle = act.request_approval(decision)
    try:
        return act.wait_for_approval(handle, timeout=wait), ""
    except ApprovalDenied as e:
        return None, f"A human refused this call (approval_denied): {e.reason}. The tool did not run."
    except ApprovalTimeout:
        return None, f"No one approved this call in time (approval_required): {decision.message}. The tool did not run."
