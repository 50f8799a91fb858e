"""Runs the code of docs/python/*.md and docs/guards/python-*.md, openai-agents-python.md and
langchain.md, so the pages cannot rot. Each page's ```yaml block is written to policies.yaml in a
temporary working directory; its ```python blocks run in order in one namespace (a block right
after `<!-- docs-test: skip ... -->` is left out). Where a page needs a model, the test swaps in
the framework's scripted model; where it asks a human (`input`), the test answers."""

import asyncio
import builtins
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

BLOCK = re.compile(r"(<!-- docs-test: skip[^>]*-->\n)?```(\w+)\n(.*?)```", re.S)


def blocks(page: str) -> List[Tuple[str, str, bool]]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [(m.group(2), m.group(3), bool(m.group(1))) for m in BLOCK.finditer(text)]


def python_of(page: str) -> str:
    return "\n".join(code for lang, code, skip in blocks(page) if lang == "python" and not skip)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def write_policy(page: str, where: Path) -> None:
    [policy] = [code for lang, code, _ in blocks(page) if lang == "yaml"]
    (where / "policies.yaml").write_text(policy, encoding="utf-8")


def answer(monkeypatch: pytest.MonkeyPatch, replies: List[str]) -> List[str]:
    asked: List[str] = []

    def fake_input(prompt: str = "") -> str:
        asked.append(prompt)
        return replies.pop(0)

    monkeypatch.setattr(builtins, "input", fake_input)
    return asked


def run(page: str, ns: Dict[str, Any]) -> Dict[str, Any]:
    ns.setdefault("__name__", "docs_example")
    exec(compile(python_of(page), str(DOCS / page), "exec"), ns)
    return ns


def test_getting_started(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = "python/getting-started.md"
    write_policy(page, workdir)
    code = python_of(page)
    run(page, {})
    printed = capsys.readouterr().out.splitlines()
    # Every `print(...)  # expected` comment on the page is what the code prints, in order.
    expected = [
        line.split("# ", 1)[1].split(" (")[0]
        for line in map(str.strip, code.splitlines())
        if line.startswith("print(") and "# " in line
    ]
    assert len(expected) == len(printed) == 8
    for want, got in zip(expected, printed):
        assert got.startswith(want), (want, got)
    assert (workdir / "audit.jsonl").exists()


def test_testing_page_runs_through_the_plugin(pytester: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_support_policy=python_of("python/testing.md"))
    result = pytester.runpytest("-p", "act_sdk.pytest_plugin", "-q")
    result.assert_outcomes(passed=4)


def test_mcp_page(workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("mcp")
    from act_sdk import ACT, SigningKey

    page = "guards/python-mcp.md"
    write_policy(page, workdir)
    key = SigningKey.generate()
    key.save(str(workdir / "issuer.pem"))
    with ACT(policy_file="policies.yaml", signing_key=key) as host:  # the application starting the server
        monkeypatch.setenv("ACT_TOKEN", host.issue_token(agent="customer-support-bot", user_context={"user_id": "42"}))
    asked = answer(monkeypatch, ["y"])
    run(page, {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "80 ok refunded 80.0 on order 1001"
    assert out[1].startswith("600 error Error executing tool process_refund: ACT denied this call (constraint_failed)")
    assert out[2] == "120 ok refunded 120.0 on order 1001"
    assert len(asked) == 1 and "Approve process_refund on order://customer:42/1001?" in asked[0]


def refund_args(amount: Any) -> Dict[str, Any]:
    return {"customer_id": "42", "order_id": "1001", "amount": amount}


@pytest.mark.parametrize("amount", [120.0, 120])  # 120.0: ACT asks; 120: the SDK asks first (int -> float)
@pytest.mark.parametrize("reply", ["y", "n"])
def test_openai_agents_page(workdir: Path, monkeypatch: pytest.MonkeyPatch, amount: Any, reply: str) -> None:
    pytest.importorskip("agents")
    from agents import set_tracing_disabled
    from agents.testing import ScriptedModel, assistant_message, function_call

    set_tracing_disabled(True)
    page = "guards/openai-agents-python.md"
    write_policy(page, workdir)
    ns = run(page, {})
    model = ScriptedModel(
        [[function_call("process_refund", refund_args(amount), call_id="c1")], [assistant_message("Done.")]]
    )
    ns["agent"] = ns["agent"].clone(model=model)
    asked = answer(monkeypatch, [reply])
    assert asyncio.run(ns["main"]("refund 120 on order 1001")) == "Done."
    assert len(asked) == 1 and asked[0].startswith("Approve process_refund(")
    assert ("[amount > 100]" in asked[0]) == isinstance(amount, float)
    tool_output = str(model.calls[1].input)
    if reply == "y":
        assert "refunded 120.0 on order 1001" in tool_output
    else:
        assert "A supervisor refused this refund." in tool_output and "refunded" not in tool_output


def test_langchain_page(workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("langchain")
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    class Scripted(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> "Scripted":
            return self

    page = "guards/langchain.md"
    assert "init_chat_model" in "".join(code for _, code, skip in blocks(page) if skip)
    write_policy(page, workdir)
    call = {"name": "process_refund", "args": refund_args(120), "id": "c1", "type": "tool_call"}
    model = Scripted(messages=iter([AIMessage(content="", tool_calls=[call]), AIMessage(content="Refunded 120.")]))
    asked = answer(monkeypatch, ["y"])
    ns = run(page, {"model": model})
    assert capsys.readouterr().out.strip() == "Refunded 120."
    assert asked == ["Approve process_refund on order://customer:42/1001 (amount > 100)? [y/N] "]
    tool_messages = [
        m for m in ns["agent"].get_state({"configurable": {"thread_id": "1"}}).values["messages"] if m.type == "tool"
    ]
    assert [m.content for m in tool_messages] == ["refunded 120.0 on order 1001"]


def test_article_to_code(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/article-to-code.md: the article's samples with what they need, the last part against a
    real `act serve` whose endpoint and keys come from the environment, as the page says."""
    import json
    import subprocess
    import threading
    import time
    import urllib.request

    from act_sdk import ACT, ConfigError, SigningKey
    from test_control_endpoint import act_binary, free_port

    page = "article-to-code.md"
    write_policy(page, workdir)
    for name in ("ACT_ENDPOINT", "ACT_TRUST_KEY", "ACT_API_KEY", "ACT_ISSUER_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError) as missing:
        ACT(api_key="your-api-key")
    assert "ACT_ENDPOINT" in str(missing.value) and "act serve" in str(missing.value)

    (workdir / "policies").mkdir()
    (workdir / "policies" / "support.yaml").write_text((workdir / "policies.yaml").read_text())
    key = SigningKey.generate()
    key.save(workdir / "cp.pem")
    port = free_port()
    approver = "article-approver-key"
    proc = subprocess.Popen(
        [
            str(act_binary()),
            "serve",
            "--policy",
            "policies",
            "--key",
            "cp.pem",
            "--addr",
            f"127.0.0.1:{port}",
            "--api-key",
            "your-api-key",
            "--issuer-api-key",
            "article-issuer-key",
            "--approver-api-key",
            approver,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=0.5).read()
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, "act serve did not start"
                time.sleep(0.05)
        monkeypatch.setenv("ACT_ENDPOINT", url)
        monkeypatch.setenv("ACT_TRUST_KEY", str(key.public_key))
        monkeypatch.setenv("ACT_ISSUER_API_KEY", "article-issuer-key")

        def approve_in_the_background(approval_id: str) -> None:
            def grant() -> None:
                time.sleep(0.2)
                req = urllib.request.Request(
                    f"{url}/v1/approvals/{approval_id}/grant",
                    data=json.dumps({"reason": "checked with the customer"}).encode(),
                    method="POST",
                    headers={"Authorization": f"Bearer {approver}", "Content-Type": "application/json"},
                )
                urllib.request.urlopen(req, timeout=10).read()

            threading.Thread(target=grant, daemon=True).start()

        run(page, {"approve_in_the_background": approve_in_the_background})
    finally:
        proc.terminate()  # by its own pid
        proc.wait(timeout=10)
