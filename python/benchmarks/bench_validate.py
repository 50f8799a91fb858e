"""Times ACT's validate against the nearest equivalent job of peer libraries, in one run.

    python benchmarks/bench_validate.py [--rounds 15] [--n 20000]

Ours: validate of an already-seen token with a 3-field dict context on a small policy
(resource template, one CEL constraint). Peers (optional installs; skipped with a message
when absent): cedarpy is_authorized (one permit with a context condition), pycasbin enforce
(ABAC matcher on the same three facts), PyJWT EdDSA decode of an ACT token. Prints the
median ns per call of each and ratios; asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from act_sdk import ACT, SigningKey

POLICY = """\
agent: bench-bot
policy:
  actions: [process_refund]
  resources: ["order://customer:{{authenticated_user_id}}/*"]
  constraints:
    process_refund:
      maxAmount: 500
  audit:
    logAllActions: false
"""
CONTEXT = {"amount": 120, "currency": "USD", "reason": "damaged"}
RESOURCE = "order://customer:42/1001"


def median_ns(fn: Callable[[], object], rounds: int, n: int) -> float:
    for _ in range(min(n, 2000)):
        fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter_ns() - start) / n)
    return statistics.median(samples)


def ours(tmp: Path, key: SigningKey, audited: bool) -> Dict[str, Callable[[], object]]:
    path = tmp / ("audited.yaml" if audited else "policy.yaml")
    path.write_text(POLICY if not audited else POLICY.replace("logAllActions: false", "logAllActions: true"))
    act = ACT(policy_file=path, signing_key=key)
    token = act.issue_token(agent="bench-bot", user_context={"user_id": "42"})
    assert act.validate(token=token, action="process_refund", resource=RESOURCE, context=CONTEXT).allowed
    v, c = act.validate, act.check
    if audited:
        return {
            "act validate (every decision audited)": lambda: v(
                token=token, action="process_refund", resource=RESOURCE, context=CONTEXT
            )
        }
    return {
        "act validate": lambda: v(token=token, action="process_refund", resource=RESOURCE, context=CONTEXT),
        "act check (dry run)": lambda: c(token=token, action="process_refund", resource=RESOURCE, context=CONTEXT),
    }


def cedar() -> Optional[Callable[[], object]]:
    try:
        import cedarpy  # type: ignore[import-not-found]
    except ImportError:
        print("skip cedarpy: not installed (pip install cedarpy)")
        return None
    policies = (
        'permit(principal == User::"42", action == Action::"process_refund", resource in Customer::"42") '
        "when { context.amount <= 500 };"
    )
    entities = [
        {"uid": {"__entity": {"type": "User", "id": "42"}}, "attrs": {}, "parents": []},
        {"uid": {"__entity": {"type": "Customer", "id": "42"}}, "attrs": {}, "parents": []},
        {
            "uid": {"__entity": {"type": "Order", "id": "1001"}},
            "attrs": {},
            "parents": [{"__entity": {"type": "Customer", "id": "42"}}],
        },
    ]
    request = {
        "principal": 'User::"42"',
        "action": 'Action::"process_refund"',
        "resource": 'Order::"1001"',
        "context": CONTEXT,
    }
    assert cedarpy.is_authorized(request, policies, entities).allowed
    return lambda: cedarpy.is_authorized(request, policies, entities)


def casbin_enforce(tmp: Path) -> Optional[Callable[[], object]]:
    try:
        import casbin  # type: ignore[import-not-found]
    except ImportError:
        print("skip pycasbin: not installed (pip install casbin)")
        return None
    model = tmp / "model.conf"
    model.write_text(
        "[request_definition]\nr = sub, obj, act, ctx\n\n"
        "[policy_definition]\np = sub, obj, act\n\n"
        "[policy_effect]\ne = some(where (p.eft == allow))\n\n"
        "[matchers]\nm = r.sub == p.sub && keyMatch(r.obj, p.obj) && r.act == p.act && r.ctx.amount <= 500\n"
    )
    policy = tmp / "policy.csv"
    policy.write_text("p, 42, order://customer:42/*, process_refund\n")
    enforcer = casbin.Enforcer(str(model), str(policy))

    class Ctx:
        def __init__(self, d: Dict[str, object]) -> None:
            self.__dict__.update(d)

    ctx = Ctx(CONTEXT)
    assert enforcer.enforce("42", RESOURCE, "process_refund", ctx)
    return lambda: enforcer.enforce("42", RESOURCE, "process_refund", ctx)


def pyjwt_decode(key: SigningKey, token: str) -> Optional[Callable[[], object]]:
    try:
        import jwt  # type: ignore[import-not-found]
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        print("skip PyJWT: not installed (pip install pyjwt cryptography)")
        return None
    public = Ed25519PublicKey.from_public_bytes(key.public_key.to_bytes())
    assert jwt.decode(token, public, algorithms=["EdDSA"])["sub"] == "42"
    return lambda: jwt.decode(token, public, algorithms=["EdDSA"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--n", type=int, default=20000, help="calls per round for ACT (peers run n/20)")
    args = parser.parse_args()
    key = SigningKey.generate()
    results: Dict[str, float] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for name, fn in ours(tmp, key, audited=False).items():
            results[name] = median_ns(fn, args.rounds, args.n)
        for name, fn in ours(tmp, key, audited=True).items():
            # Bounded to fit the audit queue, so this measures the caller, not the writer's backlog.
            results[name] = median_ns(fn, args.rounds, min(args.n, 2000))
        with ACT(policy_file=tmp / "policy.yaml", signing_key=key) as issuer:
            token = issuer.issue_token(agent="bench-bot", user_context={"user_id": "42"})
        peers = {
            "cedarpy is_authorized": cedar(),
            "pycasbin enforce": casbin_enforce(tmp),
            "PyJWT EdDSA decode": pyjwt_decode(key, token),
        }
        peer_n = max(200, args.n // 20)
        for name, peer in peers.items():
            if peer is not None:
                results[name] = median_ns(peer, args.rounds, peer_n)
    ours_ns = results["act validate"]
    print(f"\n{'what':42s} {'median':>12s} {'vs act validate':>16s}")
    for name, ns in results.items():
        print(f"{name:42s} {ns / 1000:9.2f} µs {ns / ours_ns:15.1f}x")
    peer_times = [
        results[p] for p in ("cedarpy is_authorized", "pycasbin enforce", "PyJWT EdDSA decode") if p in results
    ]
    if peer_times:
        print(f"\nact validate is {min(peer_times) / ours_ns:.1f}x faster than the fastest peer measured")


if __name__ == "__main__":
    main()
