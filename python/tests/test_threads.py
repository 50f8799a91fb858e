"""One ACT shared by many threads: decisions stay right and limits stay exact."""

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List

from act_sdk import ACT

ORDER = "order://customer:42/1001"


def test_many_threads_validating_one_act(act: ACT, alice: str) -> None:
    def work(i: int) -> List[str]:
        out = []
        for j in range(300):
            amount = 600 if (i + j) % 3 == 0 else 20
            d = act.check(token=alice, action="process_refund", resource=ORDER, context={"amount": amount})
            out.append(d.reason)
            assert d.reason == ("constraint_failed" if amount == 600 else "allowed"), d
        return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(16)))
    assert sum(len(r) for r in results) == 16 * 300


def test_max_per_day_is_exact_under_threads(act: ACT, alice: str) -> None:
    start = threading.Barrier(16)

    def attempt(_: int) -> List[str]:
        start.wait()
        return [
            act.validate(token=alice, action="process_refund", resource=ORDER, context={"amount": 50}).reason
            for _ in range(10)
        ]

    with ThreadPoolExecutor(max_workers=16) as pool:
        reasons = [r for batch in pool.map(attempt, range(16)) for r in batch]
    assert reasons.count("allowed") == 5
    assert reasons.count("rate_limited") == 16 * 10 - 5


def test_python_audit_callback_under_threads_sees_every_record(policy_file, key, clock) -> None:
    records: List[Dict[str, Any]] = []
    lock = threading.Lock()

    def sink(record: Dict[str, Any]) -> None:
        with lock:
            records.append(record)

    with ACT(policy_file=policy_file, signing_key=key, clock=clock, audit=sink) as act:
        token = act.issue_token(agent="customer-support-bot", user_context={"user_id": "42"})

        def work(_: int) -> None:
            for _ in range(200):
                act.validate(token=token, action="read_order", resource=ORDER, context={"rows": 1})

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(work, range(8)))
        act.flush_audit()
        assert len(records) == 8 * 200
        assert act.status["audit_written"] == 8 * 200
    # The chain is unbroken across threads.
    for prev, rec in zip(records, records[1:]):
        assert rec["prev_hash"] == prev["hash"]


def test_reload_while_validating(act: ACT, alice: str) -> None:
    stop = threading.Event()
    errors: List[BaseException] = []

    def validate() -> None:
        try:
            while not stop.is_set():
                d = act.check(token=alice, action="read_order", resource=ORDER, context={"rows": 1})
                assert d.allowed, d
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=validate) for _ in range(4)]
    for t in threads:
        t.start()
    versions = []
    with ThreadPoolExecutor(max_workers=3) as pool:
        versions = list(pool.map(lambda _: act.reload(), range(12)))
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(versions) == list(range(2, 14))
    assert act.status["snapshot_version"] == 13
