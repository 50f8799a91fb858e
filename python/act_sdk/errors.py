"""Exceptions raised by ACT.

An agent's bad input (a forged or expired token, a resource outside its grant,
a refund over the limit) is never an exception: it is a deny ``Decision`` with a
stable ``reason``. Exceptions are for the host application's mistakes and for
configuration that cannot work. Every class carries ``code``, a stable
machine-readable string from the core (``"policy_invalid"``, ``"invalid_argument"``...).

Arguments of the wrong Python type raise the built-in ``TypeError``; arguments
of the right type with an unusable value raise ``ConfigError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, NamedTuple, Optional, Sequence, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover
    from ._native import ApprovalRequest, Decision

__all__ = [
    "ActError",
    "ActIOError",
    "ActKeyError",
    "ApprovalDenied",
    "ApprovalRequired",
    "ApprovalTimeout",
    "AuditChainError",
    "ConfigError",
    "CounterStoreError",
    "Denied",
    "Diagnostic",
    "EndpointError",
    "InternalError",
    "PolicyError",
    "SnapshotError",
    "TokenError",
]


class ActError(Exception):
    """Root of every ACT exception. ``code`` is the stable machine code."""

    code: str = "internal"

    def __init__(self, message: str, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Diagnostic(NamedTuple):
    """One problem in a policy document."""

    file: str
    line: int
    column: int
    key: str
    message: str


class PolicyError(ActError, ValueError):
    """A policy file does not compile (code ``policy_invalid``); ``diagnostics`` lists every problem."""

    code = "policy_invalid"

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        *,
        diagnostics: Sequence[Union[Tuple[str, int, int, str, str], Mapping[str, Any]]] = (),
    ) -> None:
        super().__init__(message, code)
        # The native module passes each as a dict of the core's field names.
        self.diagnostics = [Diagnostic(**d) if isinstance(d, Mapping) else Diagnostic(*d) for d in diagnostics]


class TokenError(ActError, ValueError):
    """A token could not be issued or delegated (code ``token_invalid``); ``reason`` is the decision code."""

    code = "token_invalid"

    def __init__(self, message: str, code: Optional[str] = None, *, reason: Optional[str] = None) -> None:
        super().__init__(message, code)
        self.reason = reason


class ActKeyError(ActError, ValueError):
    """A key could not be parsed, generated or used (code ``key_invalid``)."""

    code = "key_invalid"


class ConfigError(ActError, ValueError):
    """An option or argument has an unusable value, or the ACT was closed (code ``invalid_argument``)."""

    code = "invalid_argument"


class SnapshotError(ActError):
    """A policy snapshot was rejected, or an audit record could not be queued (code
    ``snapshot_rejected``). The previous snapshot keeps serving."""

    code = "snapshot_rejected"


class CounterStoreError(ActError):
    """The counter store (Redis) failed: an outage, not a bad snapshot (code ``counter_store_failed``)."""

    code = "counter_store_failed"


class EndpointError(ActError):
    """The control endpoint refused a request or could not be reached (code ``endpoint_failed``).

    ``status`` is the HTTP status (``None`` when no answer came; the transport error is the
    ``__cause__``), ``endpoint_code`` the endpoint's stable code (``forbidden_role``,
    ``not_found``, ``unreachable``...), ``url`` what was asked."""

    code = "endpoint_failed"

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        *,
        url: Optional[str] = None,
        status: Optional[int] = None,
        endpoint_code: Optional[str] = None,
    ) -> None:
        super().__init__(message, code)
        self.url = url
        self.status = status
        self.endpoint_code = endpoint_code


class ApprovalDenied(ActError):
    """A human denied the approval, or it expired undecided (code ``approval_denied``).

    ``reason`` is the approver's reason, ``decided_by`` their identity, ``status`` ``denied`` or
    ``expired``. The action must not run."""

    code = "approval_denied"

    def __init__(
        self,
        message: str,
        code: Optional[str] = None,
        *,
        approval_id: str = "",
        status: str = "denied",
        reason: str = "",
        decided_by: Optional[str] = None,
    ) -> None:
        super().__init__(message, code)
        self.approval_id = approval_id
        self.status = status
        self.reason = reason
        self.decided_by = decided_by


class ApprovalTimeout(ActError, TimeoutError):
    """No one decided the approval within the wait (code ``approval_timeout``); wait again or give up."""

    code = "approval_timeout"

    def __init__(self, message: str, code: Optional[str] = None, *, approval_id: str = "", waited_ms: int = 0) -> None:
        super().__init__(message, code)
        self.approval_id = approval_id
        self.waited_ms = waited_ms


class ActIOError(ActError):
    """A file could not be read or written (code ``io_error``); the ``OSError`` is the ``__cause__``."""

    code = "io_error"

    def __init__(self, message: str, code: Optional[str] = None, *, path: Optional[str] = None) -> None:
        super().__init__(message, code)
        self.path = path


class InternalError(ActError, RuntimeError):
    """A bug in ACT, such as a panic in the native core (code ``internal``). Please report it."""

    code = "internal"


class AuditChainError(ActError):
    """An audit log's hash chain is broken at ``line`` (code ``audit_chain_broken``)."""

    code = "audit_chain_broken"

    def __init__(self, message: str, code: Optional[str] = None, *, line: int = 0) -> None:
        super().__init__(message, code)
        self.line = line


def _check_decision(decision: object, who: str) -> None:
    from ._native import Decision

    if not isinstance(decision, Decision):
        raise TypeError(f"{who} takes the Decision that ACT returned, not {type(decision).__name__}")


class Denied(ActError):
    """Raised by ``ACT.guard`` when the decision is a deny; ``code`` is the decision's reason."""

    def __init__(self, decision: Decision) -> None:
        _check_decision(decision, "Denied")
        super().__init__(decision.message, decision.reason)
        self.decision = decision

    def __reduce__(self) -> Any:  # pragma: no cover - decisions are not picklable
        return (ActError, (self.message, self.code))


class ApprovalRequired(ActError):
    """Raised by ``ACT.guard`` when a human must approve first (code ``approval_required``).

    ``approval_request`` says what to approve; after ``ACT.approve``, call again with ``approval=``.
    """

    def __init__(self, decision: Decision) -> None:
        _check_decision(decision, "ApprovalRequired")
        super().__init__(decision.message, decision.reason)
        self.decision = decision

    @property
    def approval_request(self) -> ApprovalRequest:
        request = self.decision.approval_request
        assert request is not None
        return request

    def __reduce__(self) -> Any:  # pragma: no cover
        return (ActError, (self.message, self.code))
