# Hand-written stubs for act_sdk (checked by mypy.stubtest).
import logging
import os
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Sequence, TypeVar, Union

from . import errors as errors
from ._audit import AuditRecord as AuditRecord
from ._audit import LoggingSink as LoggingSink
from ._native import ERROR_CODES as ERROR_CODES
from ._native import GENESIS_HASH as GENESIS_HASH
from ._native import REASONS as REASONS
from ._native import STATUS_FIELDS as STATUS_FIELDS
from ._native import ApprovalCondition as ApprovalCondition
from ._native import ApprovalHandle as ApprovalHandle
from ._native import ApprovalRequest as ApprovalRequest
from ._native import Decision as Decision
from ._native import Engine, ManualClock
from ._native import ShadowOutcome as ShadowOutcome
from ._native import SigningKey as SigningKey
from ._native import TokenInfo as TokenInfo
from ._native import TraceStep as TraceStep
from ._native import VerifyingKey as VerifyingKey
from ._native import __version__ as __version__
from ._native import verify_audit_log as verify_audit_log
from .errors import ActError as ActError
from .errors import ActIOError as ActIOError
from .errors import ActKeyError as ActKeyError
from .errors import ApprovalDenied as ApprovalDenied
from .errors import ApprovalRequired as ApprovalRequired
from .errors import ApprovalTimeout as ApprovalTimeout
from .errors import AuditChainError as AuditChainError
from .errors import ConfigError as ConfigError
from .errors import CounterStoreError as CounterStoreError
from .errors import Denied as Denied
from .errors import Diagnostic as Diagnostic
from .errors import EndpointError as EndpointError
from .errors import InternalError as InternalError
from .errors import PolicyError as PolicyError
from .errors import SnapshotError as SnapshotError
from .errors import TokenError as TokenError

_F = TypeVar("_F", bound=Callable[..., Any])
_AuditSink = Union[str, "os.PathLike[str]", logging.Logger, Callable[[Dict[str, Any]], object]]

class ACT(Engine):
    def __new__(
        cls,
        policy_file: Optional[Union[str, os.PathLike[str]]] = None,
        *,
        signing_key: Optional[SigningKey] = None,
        audience: Optional[str] = None,
        leeway: Optional[int] = None,
        audit: Union[_AuditSink, Sequence[_AuditSink], None] = None,
        trusted_keys: Optional[Sequence[Union[VerifyingKey, SigningKey, str]]] = None,
        issuer: Optional[str] = None,
        clock: Optional[ManualClock] = None,
        endpoint: Optional[str] = None,
        api_key: Optional[str] = None,
        trust_key: Optional[Union[VerifyingKey, str]] = None,
        cache_dir: Optional[Union[str, os.PathLike[str]]] = None,
        max_staleness: Optional[int] = None,
        watch: bool = False,
        initial_sync: Optional[int] = None,
        counters: Optional[str] = None,
        policy_text: Optional[str] = None,
        issuer_api_key: Optional[str] = None,
        ship_audit: Optional[bool] = None,
        audit_key: Optional[SigningKey] = None,
    ) -> ACT: ...
    def guard(
        self,
        *,
        action: str,
        resource: Union[str, Callable[..., str]],
        token: Union[str, Callable[..., str]],
        context: Union[Callable[..., Mapping[str, Any]], Iterable[str], None] = None,
        approval: Union[str, Callable[..., Optional[str]], None] = None,
    ) -> Callable[[_F], _F]: ...

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
