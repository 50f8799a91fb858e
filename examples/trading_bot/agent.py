"""The article's financial trading bot: trade amount caps, daily limits (4 trades, and $10,000 of
notional: a budget summing the trades' amounts), a risk threshold, and trading hours in New York
time (weekdays 9:30am to 4pm, daylight saving included).

The desk's app issues the bot a token for account ACC-9. The broker tool prices each order
itself and asks the desk's risk model for the score: the context holds the amount and risk
the host computed, never a number the model wrote. A ManualClock moves through a trading
week (and across the March switch to daylight saving time).

Run: python examples/trading_bot/agent.py [policies.yaml]
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import ClassVar, Dict, List

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from act_sdk import ACT, SigningKey
from act_sdk.testing import ManualClock
from harness import Script, Session, Tool, audit_path, policy_path

WEEK = 7 * 24 * 3600


class Broker:
    """The brokerage API, in memory: prices and fills. It trusts its caller."""

    PRICES: ClassVar[Dict[str, float]] = {"AAPL": 230.0, "MSFT": 410.0, "GME": 25.0}

    def __init__(self) -> None:
        self.fills: List[str] = []

    def amount(self, symbol: str, quantity: int) -> float:
        return self.PRICES[symbol] * quantity

    def place(self, account: str, symbol: str, quantity: int) -> str:
        fill = f"{account}: bought {quantity} {symbol} for ${self.amount(symbol, quantity):,.2f}"
        self.fills.append(fill)
        return fill


class RiskModel:
    """The desk's risk model: a score from 0 (safe) to 10 per instrument."""

    SCORES: ClassVar[Dict[str, float]] = {"AAPL": 2.5, "MSFT": 2.0, "GME": 8.7}

    def score(self, symbol: str) -> float:
        return self.SCORES[symbol]


def tools(broker: Broker, risk: RiskModel, account: str) -> Dict[str, Tool]:
    return {
        "place_trade": Tool(
            "place_trade",
            resource=lambda symbol, quantity, account=account: f"account://{account}/{symbol}",
            context=lambda symbol, quantity, account=account: {
                "amount": broker.amount(symbol, quantity),
                "risk_score": risk.score(symbol),
            },
            run=lambda symbol, quantity, account=account: broker.place(account, symbol, quantity),
        )
    }


def at(clock: ManualClock, script: Script, utc: str, local: str) -> None:
    """Sets the clock to `utc` (RFC 3339) and says what time it is in New York."""
    clock.set_ms(int(datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp() * 1000))
    script.scene(f"{utc}: {local}")


def main() -> None:
    script = Script("trading bot")
    clock = ManualClock(0)
    at(clock, script, "2027-01-15T15:00:00Z", "Friday 10:00am in New York (EST)")
    audit = audit_path("trading-bot")
    act = ACT(policy_file=policy_path(__file__), signing_key=SigningKey.generate(), clock=clock, audit=audit)
    broker, risk = Broker(), RiskModel()
    user = {"user_id": "desk-1", "account_id": "ACC-9"}
    bot = Session(
        act, act.issue_token(agent="trading-bot", user_context=user, ttl=WEEK), tools(broker, risk, "ACC-9"), script
    )

    script.say("Buying 20 AAPL.")
    bot.call("place_trade", symbol="AAPL", quantity=20, expect="allowed")
    script.say("Buying 100 AAPL: the signal is strong.")
    bot.call("place_trade", symbol="AAPL", quantity=100, expect="constraint_failed", constraint="maxAmount")
    script.say("Buying 40 GME.")
    bot.call("place_trade", symbol="GME", quantity=40, expect="constraint_failed", constraint="ifRiskScore")
    script.say("Buying 5 MSFT in account ACC-1.")
    bot.call("place_trade", symbol="MSFT", quantity=5, account="ACC-1", expect="resource_not_allowed")
    script.say("Buying 5 MSFT, then 10 more AAPL.")
    bot.call("place_trade", symbol="MSFT", quantity=5, expect="allowed")
    bot.call("place_trade", symbol="AAPL", quantity=10, expect="allowed")
    script.say("Buying 8 MSFT ($3,280): today's notional would be $12,230, over the $10,000 daily cap.")
    bot.call("place_trade", symbol="MSFT", quantity=8, expect="rate_limited", constraint="budget")
    script.say("Buying 2 MSFT instead ($820, $9,770 today).")
    bot.call("place_trade", symbol="MSFT", quantity=2, expect="allowed")
    script.say("One more: 1 MSFT, the fifth trade of the day.")
    bot.call("place_trade", symbol="MSFT", quantity=1, expect="rate_limited", constraint="maxPerDay")

    at(clock, script, "2027-01-15T21:05:00Z", "Friday 4:05pm in New York, after the close")
    script.say("Buying 2 MSFT.")
    bot.call("place_trade", symbol="MSFT", quantity=2, expect="constraint_failed", constraint="ifTime")

    at(clock, script, "2027-01-16T15:00:00Z", "Saturday 10:00am in New York")
    script.say("Buying 2 MSFT.")
    bot.call("place_trade", symbol="MSFT", quantity=2, expect="constraint_failed", constraint="ifTime")

    at(clock, script, "2027-01-18T14:15:00Z", "Monday 9:15am in New York, before the open")
    script.say("Buying 2 MSFT.")
    bot.call("place_trade", symbol="MSFT", quantity=2, expect="constraint_failed", constraint="ifTime")

    at(
        clock,
        script,
        "2027-01-18T14:30:00Z",
        "Monday 9:30am in New York, the open; Friday's trades are over 24 hours old",
    )
    script.say("Buying 2 MSFT.")
    bot.call("place_trade", symbol="MSFT", quantity=2, expect="allowed")

    # New York moves to daylight saving time on 2027-03-14: the open is now 13:30 UTC, not 14:30.
    at(clock, script, "2027-03-15T13:29:00Z", "Monday 9:29am in New York, now on daylight saving time (EDT)")
    week = Session(
        act, act.issue_token(agent="trading-bot", user_context=user, ttl=WEEK), tools(broker, risk, "ACC-9"), script
    )
    script.say("Buying 2 MSFT.")
    week.call("place_trade", symbol="MSFT", quantity=2, expect="constraint_failed", constraint="ifTime")
    at(clock, script, "2027-03-15T13:30:00Z", "Monday 9:30am in New York (EDT)")
    script.say("Buying 2 MSFT.")
    week.call("place_trade", symbol="MSFT", quantity=2, expect="allowed")

    print(f"\n{len(broker.fills)} fills")
    script.finish(act, audit)


if __name__ == "__main__":
    main()
