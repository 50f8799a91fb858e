"""ACT (Agent Capability Tokens): decide, in-process, whether an AI agent may take
*this* action on *this* resource with *these* arguments, right now.

    from act_sdk import ACT, SigningKey

    act = ACT(policy_file="policies.yaml", signing_key=SigningKey.generate())
    token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})
    result = act.validate(token=token, action="process_refund",
                          resource="order://customer:42/1001", context={"amount": 120})
    result.allowed, result.reason
"""

from . import errors
from ._audit import AuditRecord, LoggingSink
from ._client import ACT
from ._native import (
    ERROR_CODES,
    GENESIS_HASH,
    REASONS,
    STATUS_FIELDS,
    ApprovalCondition,
    ApprovalHandle,
    ApprovalRequest,
    Decision,
    ShadowOutcome,
    SigningKey,
    TokenInfo,
    TraceStep,
    VerifyingKey,
    __version__,
    verify_audit_log,
)
from .errors import (
    ActError,
    ActIOError,
    ActKeyError,
    ApprovalDenied,
    ApprovalRequired,
    ApprovalTimeout,
    AuditChainError,
    ConfigError,
    CounterStoreError,
    Denied,
    Diagnostic,
    EndpointError,
    InternalError,
    PolicyError,
    SnapshotError,
    TokenError,
)

__all__ = [
    "ACT",
    "ERROR_CODES",
    "GENESIS_HASH",
    "REASONS",
    "STATUS_FIELDS",
    "ActError",
    "ActIOError",
    "ActKeyError",
    "ApprovalCondition",
    "ApprovalDenied",
    "ApprovalHandle",
    "ApprovalRequest",
    "ApprovalRequired",
    "ApprovalTimeout",
    "AuditChainError",
    "AuditRecord",
    "ConfigError",
    "CounterStoreError",
    "Decision",
    "Denied",
    "Diagnostic",
    "EndpointError",
    "InternalError",
    "LoggingSink",
    "PolicyError",
    "ShadowOutcome",
    "SigningKey",
    "SnapshotError",
    "TokenError",
    "TokenInfo",
    "TraceStep",
    "VerifyingKey",
    "__version__",
    "errors",
    "verify_audit_log",
]
