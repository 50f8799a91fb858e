"""``ACT``: the client users construct. The native ``Engine`` does the work;
this subclass adds ``guard``, richer ``audit=`` arguments and closing at exit."""

from __future__ import annotations

import atexit
import contextlib
import functools
import inspect
import os
import string
import weakref
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
    cast,
)

from ._audit import native_sinks
from ._native import Decision, Engine, SigningKey, VerifyingKey
from .errors import ApprovalRequired, ConfigError, Denied

F = TypeVar("F", bound=Callable[..., Any])

_live: weakref.WeakSet[ACT] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # Flush audit trails (Python callbacks included) while the interpreter still runs.
    for act in list(_live):
        with contextlib.suppress(Exception):  # nothing useful to do at exit
            act.close()


class ACT(Engine):
    """Authorizes each action of an AI agent, in-process.

    ``ACT(policy_file="policies.yaml", signing_key=SigningKey.generate())`` loads a policy
    file (or a folder of them; ``watch=True`` re-reads it when it changes); with a signing key
    it issues tokens, and that key's public half is trusted.
    ``ACT(endpoint="http://127.0.0.1:8787", api_key="...", trust_key="ed25519:...")`` keeps
    signed snapshots current from a control endpoint instead (``cache_dir=`` keeps the last
    verified one across restarts, ``max_staleness=`` seconds after which validations deny);
    ``endpoint``, ``api_key`` and ``trust_key`` default to ``ACT_ENDPOINT``, ``ACT_API_KEY``
    and ``ACT_TRUST_KEY``. In endpoint mode audit records ship to the endpoint
    (``ship_audit=False`` turns it off), ``request_approval``/``wait_for_approval`` ask a human
    through it, and ``issue_token`` mints through it with ``issuer_api_key=`` (or
    ``ACT_ISSUER_API_KEY``). ``ACT(signing_key=...)`` alone issues tokens that carry their own
    inline ``policy=``: whoever holds that key decides what its tokens grant.
    ``counters="redis://host:6379/0"`` shares rate limits and approval marks across processes
    (default ``"memory"``, per process). ``audit=`` takes a JSON Lines file path, a ``logging.Logger``, a
    callable receiving each record as a dict, or a list of these. Use it as a context
    manager, or call ``close()``, to flush the audit trail.
    """

    __slots__ = ("__weakref__",)

    def __new__(
        cls,
        policy_file: Optional[Union[str, os.PathLike[str]]] = None,
        *,
        signing_key: Optional[SigningKey] = None,
        audience: Optional[str] = None,
        leeway: Optional[int] = None,
        audit: object = None,
        trusted_keys: Optional[Sequence[Union[VerifyingKey, SigningKey, str]]] = None,
        issuer: Optional[str] = None,
        clock: Optional[Any] = None,
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
    ) -> ACT:
        self = super().__new__(
            cls,
            policy_file,
            signing_key=signing_key,
            audience=audience,
            leeway=leeway,
            audit=native_sinks(audit),
            trusted_keys=trusted_keys,
            issuer=issuer,
            clock=clock,
            endpoint=endpoint,
            api_key=api_key,
            trust_key=trust_key,
            cache_dir=cache_dir,
            max_staleness=max_staleness,
            watch=watch,
            initial_sync=initial_sync,
            counters=counters,
            policy_text=policy_text,
            issuer_api_key=issuer_api_key,
            ship_audit=ship_audit,
            audit_key=audit_key,
        )
        _live.add(self)
        return self

    def __repr__(self) -> str:
        status = self.status
        where = f"policy_file={status['policy_file']!r}" if status["policy_file"] else f"source={status['source']!r}"
        return f"ACT({where}, snapshot_version={status['snapshot_version']}, closed={status['closed']})"

    def guard(
        self,
        *,
        action: str,
        resource: Union[str, Callable[..., str]],
        token: Union[str, Callable[..., str]],
        context: Union[Callable[..., Mapping[str, Any]], Iterable[str], None] = None,
        approval: Union[str, Callable[..., Optional[str]], None] = None,
    ) -> Callable[[F], F]:
        """Decorates a tool function (sync or async) so each call is validated first.

        - ``resource``: a format string over the function's arguments
          (``"order://customer:{user_id}/{order_id}"``) or a callable receiving them by name.
        - ``token``: the token string, or a callable receiving the arguments by name.
        - ``context``: by default every argument whose value is JSON (str, int, float, bool,
          None, lists and dicts of them), except ``self``/``cls`` and the token itself;
          or an iterable of argument names to send; or a callable returning the dict.
        - ``approval``: an approval string, or a callable returning one (or None).

        A deny raises ``Denied``; approval_required raises ``ApprovalRequired``, whose
        ``approval_request`` says what a human must approve. Callables receive only the
        arguments they name (or all, if they take ``**kwargs``).
        """
        if not isinstance(action, str):
            raise TypeError("action must be a str")
        if not action:
            raise ConfigError("action must not be empty")
        if not (isinstance(resource, str) or callable(resource)):
            raise TypeError("resource must be a format string or a callable")
        if not (isinstance(token, str) or callable(token)):
            raise TypeError("token must be a str or a callable returning the token")
        if approval is not None and not (isinstance(approval, str) or callable(approval)):
            raise TypeError("approval must be a str, a callable or None")
        include = None if context is None or callable(context) else _context_names(context)

        def decorate(fn: F) -> F:
            signature = inspect.signature(fn)
            names = _argument_names(signature)
            if include is not None and not include <= names and not _has_var_keyword(signature):
                raise ConfigError(f"context names {sorted(include - names)} are not arguments of {fn.__qualname__}")
            if isinstance(resource, str):
                _check_template(resource, names, signature, fn)

            token_of = _caller(token) if callable(token) else None
            resource_of = _caller(resource) if callable(resource) else None
            context_of = _caller(context) if callable(context) else None
            approval_of = _caller(approval) if callable(approval) else None

            def authorize(args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
                named = _named_arguments(signature, args, kwargs)
                tok = token_of(named) if token_of else cast(str, token)
                res = (
                    resource_of(named)
                    if resource_of
                    else _fill(cast(str, resource), named, f"a call of {fn.__qualname__}")
                )
                if context_of:
                    ctx: Mapping[str, Any] = context_of(named)
                elif include is not None:
                    ctx = {k: v for k, v in named.items() if k in include}
                else:
                    ctx = _default_context(signature, named, tok)
                appr = approval_of(named) if approval_of else cast(Optional[str], approval)
                decision = self.validate(token=tok, action=action, resource=res, context=ctx, approval=appr)
                _raise_unless_allowed(decision)

            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    authorize(args, kwargs)
                    return await fn(*args, **kwargs)

                return cast(F, async_wrapper)

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                authorize(args, kwargs)
                return fn(*args, **kwargs)

            return cast(F, wrapper)

        return decorate


def _raise_unless_allowed(decision: Decision) -> None:
    if decision.allowed:
        return
    if decision.outcome == "approval_required":
        raise ApprovalRequired(decision)
    raise Denied(decision)


def _argument_names(signature: inspect.Signature) -> FrozenSet[str]:
    return frozenset(
        name
        for name, p in signature.parameters.items()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    )


def _has_var_keyword(signature: inspect.Signature) -> bool:
    return any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())


def _context_names(context: Iterable[str]) -> FrozenSet[str]:
    """`context=` given as argument names (for `guard` and the framework guards' `ToolRule`)."""
    if isinstance(context, (str, bytes)) or not isinstance(context, Iterable):
        raise TypeError("context must be a callable, an iterable of argument names, or None")
    names = frozenset(context)
    if not all(isinstance(n, str) for n in names):
        raise TypeError("context names must be str")
    return names


def _template_roots(template: str) -> List[str]:
    """The argument names a resource template uses, in order; ConfigError for a bad or positional template."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as e:
        raise ConfigError(f"resource template {template!r} is not a valid format string: {e}") from None
    roots = []
    for field in fields:
        root = field.split(".", 1)[0].split("[", 1)[0]
        if not root or root.isdigit():
            raise ConfigError(f"resource template {template!r} must name arguments, not positions")
        roots.append(root)
    return roots


def _check_template(template: str, names: FrozenSet[str], signature: inspect.Signature, fn: Callable[..., Any]) -> None:
    for root in _template_roots(template):
        if root not in names and not _has_var_keyword(signature):
            raise ConfigError(
                f"resource template {template!r} names `{root}`, which is not an argument of {fn.__qualname__}"
            )


def _fill(template: str, named: Dict[str, Any], source: str, label: str = "") -> str:
    """The resource from its template and the arguments of `source` (for messages: "a call of f",
    "the tool call"); arguments that cannot fill it fail closed, as ConfigError."""
    label = label or f"resource template {template!r}"
    try:
        return template.format_map(named)
    except KeyError as e:
        raise ConfigError(f"{label} needs an argument {source} does not have: {e}") from None
    except Exception as e:  # the arguments' own __format__/__str__, nesting too deep for repr, ...
        raise ConfigError(f"{label} could not be filled from {source}: {type(e).__name__}: {str(e)[:200]}") from e


def _named_arguments(signature: inspect.Signature, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Dict[str, Any]:
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    named: Dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif kind is not inspect.Parameter.VAR_POSITIONAL:
            named[name] = value
    return named


def _accepted(f: Callable[..., Any]) -> Optional[FrozenSet[str]]:
    """The keyword names `f` takes, or None when it takes **kwargs (or has no signature)."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        return None
    if _has_var_keyword(sig):
        return None
    return frozenset(
        n
        for n, p in sig.parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )


def _caller(f: Callable[..., Any]) -> Callable[[Dict[str, Any]], Any]:
    """Calls `f` with the named arguments it takes (all of them if it takes **kwargs)."""
    accepted = _accepted(f)
    if accepted is None:
        return lambda named: f(**named)
    return lambda named: f(**{k: v for k, v in named.items() if k in accepted})


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 32:
        return False
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


def _default_context(signature: inspect.Signature, named: Dict[str, Any], token: str) -> Dict[str, Any]:
    first = next(iter(signature.parameters), None)
    skip = {first} if first in ("self", "cls") else set()
    return {k: v for k, v in named.items() if k not in skip and not (isinstance(v, str) and v == token) and _is_json(v)}
