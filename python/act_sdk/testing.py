"""Helpers for tests: a clock that moves only when told.

clock = ManualClock(1_800_000_000_000)
act = ACT(policy_file="policies.yaml", signing_key=key, clock=clock)
clock.advance_ms(86_400_000)   # a day later: daily limits have rolled
"""

from ._native import ManualClock

__all__ = ["ManualClock"]
