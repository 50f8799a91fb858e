"""pytest fixtures for testing your own ACT policies and tools (registered as the ``act_sdk``
pytest plugin when act-sdk is installed; or add ``-p act_sdk.pytest_plugin``).

    def test_refunds_over_500_are_denied(act_engine, mint_token):
        act = act_engine(POLICY_YAML)                         # policy text, a Path, or a dict
        token = mint_token(agent="customer-support-bot", user_context={"user_id": "42"})
        d = act.validate(token=token, action="process_refund",
                         resource="order://customer:42/1", context={"amount": 600})
        assert d.reason == "constraint_failed"

Fixtures:

- ``act_engine(policy, **kwargs) -> ACT``: an engine over ``policy`` (YAML or JSON *text* as a
  ``str``, a ``pathlib.Path`` to a policy file or folder, or a ``dict``), with ``act_signing_key``
  (so it mints tokens and approvals), ``act_clock`` and the ``act_audit`` sink. Other keyword
  arguments go to ``ACT``. Closed after the test.
- ``mint_token(agent=..., user_context=None, engine=None, **kwargs) -> str``: a token from
  ``engine`` (default: the last ``act_engine``); ``user_context`` defaults to ``{"user_id": "user-1"}``.
- ``act_clock``: the ``ManualClock`` every engine uses, at ``2027-01-15T08:00:00Z``;
  ``act_clock.advance_ms(86_400_000)`` moves a day ahead (daily limits roll over).
- ``act_signing_key``: a fresh Ed25519 ``SigningKey``.
- ``act_audit``: the audit records of every ``act_engine`` so far (``act_audit.records``,
  ``act_audit.reasons``), flushed when read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

import pytest

from ._client import ACT
from ._native import ManualClock, SigningKey
from .errors import ConfigError

__all__ = ["DEFAULT_NOW_MS", "AuditLog", "EngineFactory", "TokenMinter"]

#: The time every ``act_clock`` starts at: 2027-01-15T08:00:00Z, in milliseconds.
DEFAULT_NOW_MS = 1_800_000_000_000

PolicySource = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class AuditLog:
    """The audit records of the engines a test made with ``act_engine``."""

    def __init__(self) -> None:
        self._records: List[Dict[str, Any]] = []
        self._engines: List[ACT] = []

    def _sink(self, record: Dict[str, Any]) -> None:
        self._records.append(record)

    @property
    def records(self) -> List[Dict[str, Any]]:
        """Every record so far, oldest first (each engine's audit queue is flushed first)."""
        for engine in self._engines:
            if not engine.closed:
                engine.flush_audit()
        return list(self._records)

    @property
    def reasons(self) -> List[str]:
        """The ``reason`` of every record so far, oldest first."""
        return [r["reason"] for r in self.records]


class EngineFactory:
    """``act_engine(policy, **kwargs)``: see the module documentation."""

    def __init__(self, tmp_path: Path, key: SigningKey, clock: ManualClock, audit: AuditLog) -> None:
        self._tmp = tmp_path
        self._key = key
        self._clock = clock
        self._audit = audit
        self.engines: List[ACT] = []

    def __call__(self, policy: PolicySource, **kwargs: Any) -> ACT:
        path = self._policy_path(policy)
        kwargs.setdefault("signing_key", self._key)
        kwargs.setdefault("clock", self._clock)
        sinks = kwargs.pop("audit", None)
        extra = [] if sinks is None else list(sinks) if isinstance(sinks, (list, tuple)) else [sinks]
        engine = ACT(policy_file=path, audit=[self._audit._sink, *extra], **kwargs)
        self.engines.append(engine)
        self._audit._engines.append(engine)
        return engine

    @property
    def last(self) -> ACT:
        if not self.engines:
            raise ConfigError("no ACT engine yet: call act_engine(policy) first, or pass engine=")
        return self.engines[-1]

    def _policy_path(self, policy: PolicySource) -> Path:
        if isinstance(policy, str):
            path = self._tmp / f"act-policy-{len(self.engines)}.yaml"
            path.write_text(policy, encoding="utf-8")
            return path
        if isinstance(policy, Mapping):
            path = self._tmp / f"act-policy-{len(self.engines)}.json"
            path.write_text(json.dumps(policy), encoding="utf-8")
            return path
        if isinstance(policy, os.PathLike):
            return Path(policy)
        raise TypeError("policy must be YAML/JSON text (str), a pathlib.Path, or a dict")

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


class TokenMinter:
    """``mint_token(agent=..., user_context=None, engine=None, **kwargs)``: see the module documentation."""

    def __init__(self, engines: EngineFactory) -> None:
        self._engines = engines

    def __call__(
        self,
        *,
        agent: str,
        user_context: Optional[Mapping[str, Any]] = None,
        engine: Optional[ACT] = None,
        **kwargs: Any,
    ) -> str:
        issuer = engine if engine is not None else self._engines.last
        context = dict(user_context) if user_context is not None else {"user_id": "user-1"}
        return issuer.issue_token(agent=agent, user_context=context, **kwargs)


@pytest.fixture
def act_clock() -> ManualClock:
    """A clock that moves only when told, shared by every ``act_engine`` of the test."""
    return ManualClock(DEFAULT_NOW_MS)


@pytest.fixture
def act_signing_key() -> SigningKey:
    """A fresh Ed25519 issuer key: ``act_engine`` signs tokens and approvals with it."""
    return SigningKey.generate()


@pytest.fixture
def act_audit() -> AuditLog:
    """The audit records of this test's ``act_engine`` engines."""
    return AuditLog()


@pytest.fixture
def act_engine(
    tmp_path: Path, act_signing_key: SigningKey, act_clock: ManualClock, act_audit: AuditLog
) -> Iterator[EngineFactory]:
    """``act_engine(policy, **kwargs) -> ACT`` over policy text, a Path or a dict; closed after the test."""
    factory = EngineFactory(tmp_path, act_signing_key, act_clock, act_audit)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def mint_token(act_engine: EngineFactory) -> TokenMinter:
    """``mint_token(agent=..., user_context=...) -> str`` from the last ``act_engine`` (or ``engine=``)."""
    return TokenMinter(act_engine)
