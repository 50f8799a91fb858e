"""Every exported function, constructor and method of act_sdk under hostile input.

The exported surface is enumerated (``dir(act_sdk)``, every public class's public attributes and
every parameter of every signature); anything without a hostile-input case here fails
``test_every_export_and_parameter_has_hostile_cases``, so a newly exported function must come
with its cases.

Each parameter of each callable gets each hostile value in turn (the other arguments valid).
Allowed results (the documented contract, python/README.md "Bad input"):

- an ``ActError`` subclass carrying a non-empty ``code``;
- ``TypeError`` for a wrong Python type, ``ValueError`` (e.g. ``UnicodeEncodeError`` for a str with
  lone surrogates, which UTF-8 cannot hold);
- a normal return; a ``Decision`` from validate/check/explain must not allow (unless the value is
  an ordinary number where a number belongs, listed in ``MAY_ALLOW``).

Never: ``pyo3_runtime.PanicException`` (a ``BaseException``), ``SystemError``, ``RecursionError``,
``OverflowError``, ``AttributeError``, a crash or a hang (a watchdog ends the run after 120 s with a
traceback of every thread).
"""

from __future__ import annotations

import faulthandler
import inspect
import logging
import math
import socket
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import act_sdk
import pytest
from act_sdk import (
    ACT,
    ActError,
    Decision,
    InternalError,
    LoggingSink,
    SigningKey,
    VerifyingKey,
    errors,
)
from act_sdk import testing as _testing
from act_sdk.testing import ManualClock

ORDER = "order://customer:42/1001"
MIB16 = 16 << 20


def _deep_dict(depth: int) -> Dict[str, Any]:
    d: Dict[str, Any] = {}
    for _ in range(depth):
        d = {"a": d}
    return d


def _deep_list(depth: int) -> List[Any]:
    v: List[Any] = []
    for _ in range(depth):
        v = [v]
    return v


class _Evil:
    """An object whose __str__, __eq__ and __hash__ raise (a badly behaved host object)."""

    def __str__(self) -> str:
        raise RuntimeError("evil __str__")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("evil __eq__")

    __hash__ = None  # type: ignore[assignment]


HOSTILE: Dict[str, Any] = {
    "16MiB str": "x" * MIB16,
    "16MiB bytes": b"\xff" * MIB16,
    "depth-10000 dict": _deep_dict(10_000),
    "depth-10000 list": _deep_list(10_000),
    "NaN": math.nan,
    "Infinity": math.inf,
    "-Infinity": -math.inf,
    "-0.0": -0.0,
    "2**64": 2**64,
    "-(2**64)-1": -(2**64) - 1,
    "10**100": 10**100,
    "None": None,
    "int": 5,
    "float": 1.5,
    "bool": True,
    "list": ["a"],
    "dict": {"a": 1},
    "bytes": b"abc",
    "object": object(),
    "evil object": _Evil(),
    "lone surrogate": "\udcff",
    "high surrogate then text": "\ud800x",
    "NUL inside": "a\x00b",
    "empty str": "",
    "whitespace": " \t\n",
}

# (callable, parameter, hostile value name) where an `allow` is right: an ordinary number where a
# number belongs, or any JSON value in a context key no condition reads.
MAY_ALLOW = {("context.amount", n) for n in ("int", "float", "-0.0")} | {("context.note", n) for n in HOSTILE}

LEAKS = (SystemError, RecursionError, OverflowError, AttributeError, KeyError, IndexError, AssertionError)


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    # A hang (or a deadlock in native code) ends the run with every thread's traceback.
    faulthandler.dump_traceback_later(120, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Hostile paths that happen to be valid file names land in the test's own folder.
    monkeypatch.chdir(tmp_path)


def outcome(label: str, fn: Callable[[], Any]) -> Tuple[str, Any]:
    """Runs one hostile call; fails on anything outside the contract. Returns (kind, value)."""
    try:
        return "returned", fn()
    except ActError as e:
        assert isinstance(e.code, str) and e.code, f"{label}: {type(e).__name__} without a code"
        assert not isinstance(e, InternalError), f"{label}: a bug surfaced as InternalError: {e}"
        return "ActError", e
    except LEAKS as e:
        pytest.fail(f"{label}: {type(e).__module__}.{type(e).__qualname__} leaked: {str(e)[:300]}")
    except (TypeError, ValueError) as e:
        assert str(e), f"{label}: {type(e).__name__} without a message"
        return type(e).__name__, e
    except BaseException as e:  # PanicException derives from BaseException
        pytest.fail(f"{label}: {type(e).__module__}.{type(e).__qualname__} leaked: {str(e)[:300]}")


# ---- the cases -------------------------------------------------------------------------------------


class World:
    """Valid arguments for every call: an ACT over the article's policy, keys, tokens, a request."""

    def __init__(self, policy_file: Path, tmp: Path) -> None:
        self.tmp = tmp
        self.policy_file = policy_file
        self.key = SigningKey.generate()
        self.holder = SigningKey.generate()
        self.clock = ManualClock(1_800_000_000_000)
        self.act = ACT(policy_file=policy_file, signing_key=self.key, clock=self.clock)
        self.alice = self.act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}, ttl=3600)
        self.parent = self.act.issue_token(
            agent="customer-support-bot", user_context={"user_id": "42"}, holder_key=self.holder.public_key
        )
        # amount 200 needs a second approval: a hostile approval must never turn it into an allow.
        self.pending = self.act.check(
            token=self.alice, action="process_refund", resource=ORDER, context={"amount": 200}
        )
        assert self.pending.outcome == "approval_required"
        self.request = self.pending.approval_request
        assert self.request is not None
        self.explained = self.act.explain(
            token=self.alice, action="process_refund", resource=ORDER, context={"amount": 20}
        )
        assert self.explained.trace
        self.log = tmp / "audit.jsonl"
        self.log.write_text("")
        self.closed_port = _closed_port()

    def close(self) -> None:
        self.act.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Case = Tuple[Callable[..., Any], Dict[str, Any]]


def validate_like(name: str) -> Callable[[World], Case]:
    def make(w: World) -> Case:
        return getattr(w.act, name), dict(
            token=w.alice, action="process_refund", resource=ORDER, context={"amount": 200}, approval=None
        )

    return make


def guard_call(w: World) -> Case:
    """`guard` decorates; the decorated tool is then called with hostile arguments."""

    def refund(order_id: Any, amount: Any = 20, note: Any = None) -> str:
        return "refunded"

    tool = w.act.guard(action="process_refund", resource="order://customer:42/{order_id}", token=w.alice)(refund)
    return tool, dict(order_id="1001", amount=20, note=None)


def sink_call(w: World) -> Case:
    sink = LoggingSink(logging.getLogger("act.hostile"))
    record = {
        "outcome": "deny",
        "reason": "rate_limited",
        "agent": "a",
        "subject": "s",
        "action": "x",
        "resource": "r",
        "rule": "r",
        "message": "m",
    }
    return sink, dict(record=record)


# Every exported callable: a function giving (callable, valid keyword arguments). Each keyword in
# turn receives each hostile value. Extra "parameters" with a dot (`context.amount`) put the value
# inside a dict argument.
CASES: Dict[str, Callable[[World], Case]] = {
    "ACT": lambda w: (
        ACT,
        dict(
            policy_file=w.policy_file,
            signing_key=w.key,
            audience=None,
            leeway=None,
            audit=None,
            trusted_keys=None,
            issuer=None,
            clock=None,
            counters=None,
            watch=False,
            policy_text=None,
            ship_audit=None,
            audit_key=None,
        ),
    ),
    "ACT(endpoint)": lambda w: (
        ACT,
        dict(
            endpoint=f"http://127.0.0.1:{w.closed_port}",
            trust_key=w.key.public_key,
            api_key=None,
            cache_dir=None,
            max_staleness=None,
            initial_sync=1,
            issuer_api_key=None,
        ),
    ),
    "ACT.validate": validate_like("validate"),
    "ACT.check": validate_like("check"),
    "ACT.explain": validate_like("explain"),
    "ACT.issue_token": lambda w: (
        w.act.issue_token,
        dict(
            agent="customer-support-bot",
            user_context={"user_id": "42"},
            agent_context=None,
            policy=None,
            ttl=None,
            holder_key=None,
        ),
    ),
    "ACT.delegate": lambda w: (
        w.act.delegate,
        dict(
            token=w.parent,
            holder_key=w.holder,
            agent="sub",
            ttl=60,
            policy=None,
            agent_context=None,
            next_holder_key=None,
        ),
    ),
    "ACT.approve": lambda w: (w.act.approve, dict(request=w.request, approver="supervisor", ttl=60)),
    "ACT.seal": lambda w: (w.act.seal, dict(token=w.parent, holder_key=w.holder, ttl=60)),
    "ACT.guard": lambda w: (
        w.act.guard,
        dict(
            action="process_refund",
            resource="order://customer:42/{order_id}",
            token=w.alice,
            context=None,
            approval=None,
        ),
    ),
    "ACT.guard(tool)": guard_call,
    "ACT.reload": lambda w: (w.act.reload, {}),
    "ACT.ready": lambda w: (w.act.ready, dict(timeout=0)),
    "ACT.request_approval": lambda w: (w.act.request_approval, dict(decision=w.pending)),
    "ACT.wait_for_approval": lambda w: (w.act.wait_for_approval, dict(handle=w.request.id, timeout=0)),
    "ACT.inspect_token": lambda w: (w.act.inspect_token, dict(token=w.alice)),
    "ACT.wait_audit_delivered": lambda w: (w.act.wait_audit_delivered, dict(timeout=0)),
    "ApprovalHandle": lambda w: (act_sdk.ApprovalHandle, dict(id="abc")),
    "ACT.flush_audit": lambda w: (w.act.flush_audit, {}),
    "ACT.close": lambda w: (ACT(policy_file=w.policy_file).close, {}),
    "SigningKey.generate": lambda w: (SigningKey.generate, {}),
    "SigningKey.from_seed": lambda w: (SigningKey.from_seed, dict(seed=bytes(32))),
    "SigningKey.from_pem": lambda w: (SigningKey.from_pem, dict(pem=w.key.to_pem())),
    "SigningKey.from_jwk": lambda w: (SigningKey.from_jwk, dict(jwk=w.key.to_jwk())),
    "SigningKey.load": lambda w: (SigningKey.load, dict(path=_saved(w))),
    "SigningKey.save": lambda w: (w.key.save, dict(path=str(w.tmp / "saved-by-test.pem"))),
    "SigningKey.to_pem": lambda w: (w.key.to_pem, {}),
    "SigningKey.to_jwk": lambda w: (w.key.to_jwk, {}),
    "VerifyingKey": lambda w: (VerifyingKey, dict(text=str(w.key.public_key))),
    "VerifyingKey.from_jwk": lambda w: (VerifyingKey.from_jwk, dict(jwk=w.key.public_key.to_jwk())),
    "VerifyingKey.from_bytes": lambda w: (VerifyingKey.from_bytes, dict(raw=w.key.public_key.to_bytes())),
    "VerifyingKey.to_jwk": lambda w: (w.key.public_key.to_jwk, {}),
    "VerifyingKey.to_bytes": lambda w: (w.key.public_key.to_bytes, {}),
    "VerifyingKey.verify": lambda w: (w.key.public_key.verify, dict(message=b"m", signature=bytes(64))),
    "ManualClock": lambda w: (ManualClock, dict(now_ms=0)),
    "ManualClock.set_ms": lambda w: (ManualClock(0).set_ms, dict(ms=0)),
    "ManualClock.advance_ms": lambda w: (ManualClock(0).advance_ms, dict(delta_ms=0)),
    "Decision.to_dict": lambda w: (w.explained.to_dict, {}),
    "ApprovalRequest.to_dict": lambda w: (w.request.to_dict, {}),
    "verify_audit_log": lambda w: (act_sdk.verify_audit_log, dict(path=str(w.log), start_hash=act_sdk.GENESIS_HASH)),
    "LoggingSink": lambda w: (
        LoggingSink,
        dict(logger=logging.getLogger("act.hostile"), level=logging.INFO, deny_level=logging.WARNING),
    ),
    "LoggingSink.__call__": sink_call,
    "Denied": lambda w: (act_sdk.Denied, dict(decision=w.pending)),
    "ApprovalRequired": lambda w: (act_sdk.ApprovalRequired, dict(decision=w.pending)),
    "Diagnostic": lambda w: (act_sdk.Diagnostic, dict(file="f", line=1, column=1, key="k", message="m")),
}

# The error classes take (message, code, **details) and are plain Python: covered like the rest.
_DETAILS: Dict[str, Dict[str, Any]] = {
    "PolicyError": dict(diagnostics=()),
    "TokenError": dict(reason=None),
    "ActIOError": dict(path=None),
    "AuditChainError": dict(line=0),
    "EndpointError": dict(url=None, status=None, endpoint_code=None),
    "ApprovalDenied": dict(approval_id="", status="denied", reason="", decided_by=None),
    "ApprovalTimeout": dict(approval_id="", waited_ms=0),
}
for _name in (
    "ActError",
    "PolicyError",
    "TokenError",
    "ActKeyError",
    "ConfigError",
    "SnapshotError",
    "ActIOError",
    "InternalError",
    "AuditChainError",
    "CounterStoreError",
    "EndpointError",
    "ApprovalDenied",
    "ApprovalTimeout",
):
    CASES[_name] = (lambda cls, details: lambda w: (cls, dict(message="m", code="c", **details)))(
        getattr(errors, _name), _DETAILS.get(_name, {})
    )

# Types ACT builds (SigningKey: through generate/from_*); calling the class is a TypeError.
for _name in (
    "Decision",
    "ApprovalRequest",
    "TraceStep",
    "SigningKey",
    "TokenInfo",
    "ApprovalCondition",
    "ShadowOutcome",
):
    CASES[_name] = (lambda cls: lambda w: (cls, {}))(getattr(act_sdk, _name))

# Keyword parameters that only exist inside a dict argument.
NESTED = {
    "ACT.validate": ["context.amount", "context.note"],
    "ACT.check": ["context.amount", "context.note"],
    "ACT.explain": ["context.amount", "context.note"],
    "ACT.issue_token": ["user_context.user_id", "policy.actions"],
    "ACT.guard(tool)": [],
}

# Attributes read without arguments (properties and getters): read on live and closed objects.
PROPERTIES = {
    "ACT.closed",
    "ACT.status",
    "ACT.instance_id",
    "ApprovalHandle.id",
    "ApprovalHandle.status",
    "ApprovalHandle.expires_at_ms",
    "TokenInfo.jti",
    "TokenInfo.agent",
    "TokenInfo.subject",
    "TokenInfo.expires_at",
    "TokenInfo.chain",
    "ACT.public_key",
    "SigningKey.public_key",
    "SigningKey.kid",
    "VerifyingKey.kid",
    "ManualClock.now_ms",
    "Decision.allowed",
    "Decision.outcome",
    "Decision.reason",
    "Decision.message",
    "Decision.rule",
    "Decision.constraint",
    "Decision.audit_id",
    "Decision.snapshot_version",
    "Decision.agent",
    "Decision.subject",
    "Decision.approval_request",
    "Decision.trace",
    "ApprovalRequest.id",
    "ApprovalRequest.agent",
    "ApprovalRequest.subject",
    "ApprovalRequest.action",
    "ApprovalRequest.resource",
    "ApprovalRequest.constraint",
    "ApprovalRequest.condition",
    "ApprovalRequest.token_id",
    "ApprovalRequest.context_hash",
    "ApprovalRequest.context",
    "ApprovalRequest.conditions",
    "ApprovalRequest.chain",
    "ApprovalCondition.constraint",
    "ApprovalCondition.condition",
    "Decision.shadow",
    "ShadowOutcome.outcome",
    "ShadowOutcome.reason",
    "ShadowOutcome.rule",
    "ShadowOutcome.constraint",
    "ShadowOutcome.message",
    "TraceStep.stage",
    "TraceStep.detail",
    "ApprovalRequired.approval_request",
}

# Exported names that are not callables taking input.
NOT_CALLABLE = {"GENESIS_HASH", "REASONS", "STATUS_FIELDS", "ERROR_CODES", "AuditRecord", "errors", "testing"}


def _saved(w: World) -> str:
    path = w.tmp / "key-for-load.pem"
    if not path.exists():
        w.key.save(path)
    return str(path)


# ---- the enumeration --------------------------------------------------------------------------------

_OURS = ("act_sdk",)


def _public_classes() -> Dict[str, type]:
    out: Dict[str, type] = {}
    for name in dir(act_sdk):
        obj = getattr(act_sdk, name)
        if not name.startswith("_") and inspect.isclass(obj) and obj.__module__.startswith(_OURS):
            out[name] = obj
    out["ManualClock"] = ManualClock
    return out


def exported_surface() -> Tuple[set, set]:
    """(callables, properties) by qualified name, from the live module."""
    callables, properties = set(), set()
    for name in dir(act_sdk):
        if name.startswith("_") or name in NOT_CALLABLE:
            continue
        obj = getattr(act_sdk, name)
        if callable(obj):
            callables.add(name)
    callables.update(n for n in _testing.__all__ if callable(getattr(_testing, n)))
    for cname, cls in _public_classes().items():
        for klass in cls.__mro__:
            if not klass.__module__.startswith(_OURS):
                continue
            for attr, value in vars(klass).items():
                if attr.startswith("_") and attr != "__call__":
                    continue
                qual = f"{cname}.{attr}"
                if isinstance(value, property) or inspect.isgetsetdescriptor(value):
                    properties.add(qual)
                elif callable(value) or isinstance(value, (staticmethod, classmethod)):
                    callables.add(qual)
                # else: a constant (an error class's default `code`, a NamedTuple field): no input
    return callables, properties


def _parameters(fn: Callable[..., Any]) -> Optional[List[str]]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [
        p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def test_every_export_and_parameter_has_hostile_cases(policy_file: Path, tmp_path: Path) -> None:
    callables, properties = exported_surface()
    assert "ACT.validate" in callables and "SigningKey.from_seed" in callables and "ACT.status" in properties
    covered = {k.split("(")[0] for k in CASES}
    missing = sorted(c for c in callables if c not in covered)
    assert not missing, f"exported without a hostile-input case in {Path(__file__).name}: {missing}"
    unread = sorted(properties - PROPERTIES)
    assert not unread, f"exported attributes this test does not read: {unread}"
    stale = sorted(k for k in CASES if k.split("(")[0] not in callables)
    assert not stale, f"cases for names act_sdk no longer exports: {stale}"
    # Every parameter of every signature has its hostile values (a new parameter needs one too).
    w = World(policy_file, tmp_path)
    try:
        for name, make in CASES.items():
            fn, kwargs = make(w)
            params = _parameters(fn)
            if params is None:
                continue
            if name == "ACT(endpoint)":
                continue  # the same signature as "ACT", split in two valid bases
            untested = sorted(set(params) - set(kwargs))
            if name == "ACT":
                untested = sorted(set(untested) - set(CASES["ACT(endpoint)"](w)[1]))
            assert not untested, f"{name}: parameters without hostile values: {untested}"
    finally:
        w.close()


# ---- the runs -----------------------------------------------------------------------------------------


def _substituted(kwargs: Dict[str, Any], param: str, value: Any) -> Dict[str, Any]:
    out = dict(kwargs)
    if "." in param:
        outer, inner = param.split(".", 1)
        base = dict(out.get(outer) or {})
        if outer == "policy":
            base = {"actions": ["read_order"], "resources": ["order://customer:42/*"]}
        base[inner] = value
        out[outer] = base
    else:
        out[param] = value
    return out


def _decision_allowed(result: Any) -> bool:
    return isinstance(result, Decision) and result.allowed


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_values_in_every_parameter(name: str, policy_file: Path, tmp_path: Path) -> None:
    w = World(policy_file, tmp_path)
    try:
        fn, kwargs = CASES[name](w)
        params = list(kwargs) + NESTED.get(name, [])
        seen: Dict[str, int] = {}
        for param in params:
            for hname, value in HOSTILE.items():
                if name == "ACT(endpoint)" and hname in ("16MiB str",) and param == "cache_dir":
                    continue  # a 16 MiB folder name is the "ACT" case's policy_file already
                label = f"{name}({param}={hname})"
                kind, result = outcome(label, lambda: fn(**_substituted(kwargs, param, value)))
                seen[kind] = seen.get(kind, 0) + 1
                if _decision_allowed(result):
                    assert (param, hname) in MAY_ALLOW, f"{label}: allowed: {result!r}"
                if isinstance(result, ACT):
                    result.close()
        if not params:
            # No parameters: an unexpected positional argument of any kind is a TypeError.
            for hname, value in HOSTILE.items():
                kind, _ = outcome(f"{name}(<extra {hname}>)", lambda: fn(value))
                assert kind == "TypeError", f"{name} took an extra argument {hname}"
            outcome(f"{name}()", fn)
        else:
            assert seen, name
    finally:
        w.close()


def test_guard_tool_arguments_that_cannot_fill_the_template_fail_closed(policy_file: Path, tmp_path: Path) -> None:
    w = World(policy_file, tmp_path)
    try:
        tool, _ = guard_call(w)
        for hname in (
            "depth-10000 dict",
            "depth-10000 list",
            "evil object",
            "lone surrogate",
            "NUL inside",
            "16MiB str",
        ):
            kind, result = outcome(f"guarded tool(order_id={hname})", lambda: tool(order_id=HOSTILE[hname]))
            assert kind != "returned", f"the tool ran with order_id={hname}: {result!r}"
    finally:
        w.close()


def _shadow_outcome(w: World) -> Any:
    """A decision's shadow outcome, from a policy with a shadow document."""
    text = w.policy_file.read_text() + "---\n" + w.policy_file.read_text().replace("agent:", "shadow: true\nagent:", 1)
    path = w.tmp / "with-shadow.yaml"
    path.write_text(text)
    with ACT(policy_file=path, signing_key=w.key, clock=w.clock) as shadowed:
        d = shadowed.check(token=w.alice, action="read_order", resource="order://customer:42/1", context={"rows": 1})
    assert d.shadow is not None
    return d.shadow


def test_every_property_reads_on_live_and_closed_objects(policy_file: Path, tmp_path: Path) -> None:
    w = World(policy_file, tmp_path)
    objects = {
        "ACT": w.act,
        "SigningKey": w.key,
        "VerifyingKey": w.key.public_key,
        "ManualClock": w.clock,
        "Decision": w.explained,
        "ApprovalRequest": w.request,
        "ApprovalCondition": w.request.conditions[0],
        "ShadowOutcome": _shadow_outcome(w),
        "TraceStep": (w.explained.trace or [None])[0],
        "ApprovalRequired": act_sdk.ApprovalRequired(w.pending),
        "ApprovalHandle": act_sdk.ApprovalHandle("abc"),
        "TokenInfo": w.act.inspect_token(w.alice),
    }
    for qual in sorted(PROPERTIES):
        cname, attr = qual.split(".")
        outcome(f"{qual} (live)", lambda: getattr(objects[cname], attr))
    w.close()
    for attr in ("closed", "status", "public_key", "instance_id"):
        kind, _ = outcome(f"ACT.{attr} (closed)", lambda: getattr(w.act, attr))
        assert kind in ("returned", "ActError")
    for call in ("validate", "check", "explain"):
        kind, err = outcome(
            f"ACT.{call} (closed)", lambda: getattr(w.act, call)(token=w.alice, action="x", resource=ORDER)
        )
        assert kind == "ActError" and err.code == "invalid_argument"


def test_dunder_comparisons_with_hostile_operands(policy_file: Path, tmp_path: Path) -> None:
    w = World(policy_file, tmp_path)
    try:
        for obj in (w.explained, w.request, w.key.public_key, (w.explained.trace or [None])[0]):
            for hname, value in HOSTILE.items():
                if hname == "evil object":
                    continue  # its own __eq__ raises, by design of the operand
                kind, result = outcome(f"{type(obj).__name__} == {hname}", lambda: obj == value)
                assert kind == "returned" and result is False, hname
        assert bool(w.pending) is False
        hash(w.key.public_key)
        repr(w.act), repr(w.key), repr(w.explained), repr(w.request), repr(w.clock)
    finally:
        w.close()


def test_clock_extremes_never_crash_validate(policy_file: Path, tmp_path: Path) -> None:
    w = World(policy_file, tmp_path)
    try:
        for ms in (2**63 - 1, -(2**63), 0, -1):
            w.clock.set_ms(ms)
            kind, result = outcome(
                f"issue at {ms}",
                lambda: w.act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}),
            )
            if kind == "returned":
                w.clock.set_ms(1_800_000_000_000)
                d = w.act.validate(token=result, action="read_order", resource=ORDER)
                assert not d.allowed, f"a token issued at clock {ms} is accepted now: {d!r}"
                w.clock.set_ms(ms)
            d = w.act.validate(token=w.alice, action="read_order", resource=ORDER)
            assert not d.allowed and d.reason in ("token_expired", "token_not_yet_valid"), (ms, d)
        for delta in (2**63 - 1, -(2**63)):
            w.clock.set_ms(0)
            w.clock.advance_ms(delta)
            assert isinstance(w.clock.now_ms, int)
    finally:
        w.close()


def test_a_panic_in_the_core_is_internal_error_never_panic_exception() -> None:
    with pytest.raises(BaseException) as info:
        act_sdk._native._panic_for_tests()
    err = info.value
    assert type(err) is InternalError, f"{type(err).__module__}.{type(err).__qualname__}: {err}"
    assert isinstance(err, Exception) and isinstance(err, RuntimeError)
    assert err.code == "internal" and "deliberate panic" in str(err)
    assert "PanicException" not in type(err).__name__
    assert sys.modules.get("pyo3_runtime") is None or not isinstance(
        err, getattr(sys.modules["pyo3_runtime"], "PanicException", ())
    )
