"""ToolRule: how the framework guards turn a tool call into an ACT request (no framework needed)."""

import pytest
from act_sdk import ConfigError
from act_sdk.integrations import ToolRule


class Hostile:
    def __format__(self, spec: str) -> str:
        raise RuntimeError("no")


def test_request_from_validated_arguments() -> None:
    rule = ToolRule(action="process_refund", resource="order://customer:{customer}/{order}", context=["amount"])
    assert rule.request({"customer": "42", "order": "1001", "amount": 80, "note": "x"}) == (
        "process_refund",
        "order://customer:42/1001",
        {"amount": 80},
    )


def test_template_mistakes_fail_at_definition() -> None:
    with pytest.raises(ConfigError, match="must name arguments, not positions"):
        ToolRule(action="a", resource="x://{0}")
    with pytest.raises(ConfigError, match="not a valid format string"):
        ToolRule(action="a", resource="x://{")
    with pytest.raises(TypeError, match="context names must be str"):
        ToolRule(action="a", resource="x://{y}", context=[1])  # type: ignore[list-item]


def test_arguments_that_cannot_fill_the_template_fail_closed() -> None:
    rule = ToolRule(action="a", resource="x://{y}")
    with pytest.raises(ConfigError, match="needs an argument the tool call does not have: 'y'"):
        rule.request({})
    with pytest.raises(ConfigError, match="could not be filled from the tool call: RuntimeError: no"):
        rule.request({"y": Hostile()})
