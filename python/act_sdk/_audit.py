"""Audit sinks on the Python side: ``logging`` integration and argument normalization."""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Dict, List, Mapping, Union

AuditRecord = Dict[str, Any]
"""One audit record: id, time, outcome, reason, message, agent, subject, jti, action,
resource, context (sensitive fields redacted), rule, constraint, snapshot_version,
latency_us, prev_hash, hash."""

AuditCallback = Callable[[AuditRecord], object]
AuditTarget = Union[str, "os.PathLike[str]", logging.Logger, AuditCallback]


class LoggingSink:
    """Sends each audit record to a ``logging.Logger``.

    Allowed decisions log at ``level`` (INFO), denials and approval requests at
    ``deny_level`` (WARNING). The whole record is attached as ``record.act_audit``
    (use it in a JSON formatter); the message is one readable line.
    Runs on ACT's audit thread, never on the caller's.
    """

    def __init__(self, logger: logging.Logger, level: int = logging.INFO, deny_level: int = logging.WARNING) -> None:
        if not isinstance(logger, logging.Logger):
            raise TypeError(f"LoggingSink takes a logging.Logger, not {type(logger).__name__}")
        for name, value in (("level", level), ("deny_level", deny_level)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be a logging level (int), not {type(value).__name__}")
        self.logger = logger
        self.level = level
        self.deny_level = deny_level

    def __call__(self, record: Mapping[str, Any]) -> None:
        if not isinstance(record, Mapping):
            raise TypeError(f"an audit record is a mapping, not {type(record).__name__}")
        level = self.level if record.get("outcome") == "allow" else self.deny_level
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(
            level,
            "act %s %s: agent=%s subject=%s action=%s resource=%s rule=%s (%s)",
            record.get("outcome"),
            record.get("reason"),
            record.get("agent"),
            record.get("subject"),
            record.get("action"),
            record.get("resource"),
            record.get("rule"),
            record.get("message"),
            extra={"act_audit": dict(record)},
        )

    def __repr__(self) -> str:
        return f"LoggingSink({self.logger.name!r})"


def native_sinks(audit: object) -> List[object]:
    """Turns ``audit=`` into what the native engine takes: file paths (str) and callables."""
    if audit is None:
        return []
    if isinstance(audit, (list, tuple)):
        out: List[object] = []
        for item in audit:
            if isinstance(item, (list, tuple)):
                raise TypeError("audit= takes a sink or a flat list of sinks")
            out.extend(native_sinks(item))
        return out
    if isinstance(audit, (str, os.PathLike)):
        path = os.fspath(audit)
        if not isinstance(path, str):
            raise TypeError("an audit file path must be a str or a str path, not bytes")
        return [path]
    if isinstance(audit, logging.Logger):
        return [LoggingSink(audit)]
    if callable(audit):
        return [audit]
    raise TypeError(
        "audit= takes a JSON Lines file path, a logging.Logger, a callable taking a record dict, "
        f"or a list of these; got {type(audit).__name__}"
    )
