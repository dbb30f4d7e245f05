"""Kernel-side tools from a real kernel: `%%chat --tools`, approval by prompt (stdin) and in
headless runs, `%chat_tools`, and an interrupt while a tool runs."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from .conftest import Kernel, text_of

DEFINE = '''
import time
import nbchat

@nbchat.tool(timeout=30)
def lookup_price(ticker: str, day: str | None = None) -> float:
    """Closing price of a ticker (latest when no day is given)."""
    return {"ACME": 101.5}[ticker]

def nap(seconds: float) -> str:
    time.sleep(seconds)
    return "rested"
'''
ASK = '%%chat -o r --no-interpolate --tools lookup_price\n/tool lookup_price {"ticker": "ACME"}'


@pytest.fixture(scope="module")
def tools_kernel() -> Iterator[Kernel]:
    kernel = Kernel()
    kernel.ok("%load_ext nbchat")
    kernel.ok(DEFINE)
    yield kernel
    kernel.shutdown()


@pytest.fixture
def kernel(tools_kernel: Kernel) -> Kernel:
    tools_kernel.ok("%chat_connect --demo --dialect openai")
    return tools_kernel


def test_tools_run_and_show_inline(kernel: Kernel) -> None:
    run = kernel.ok(ASK.replace("--tools", "--approve auto --tools"))
    assert text_of(run) == (
        '[tool call] lookup_price: {"ticker": "ACME"}\n\n'
        "[tool result] lookup_price: 101.5\n\n"
        "The `lookup_price` tool returned: 101.5"
    )
    assert kernel.eval("[(c.name, c.status, c.result) for c in r.tool_calls]") == [
        ("lookup_price", "done", "101.5")
    ]
    # The live output showed the steps while they happened (then emptied for the final form).
    live = [m["content"]["data"] for m in run.displays if m["msg_type"] == "update_display_data"]
    assert any("tool result" in data.get("text/html", "") for data in live)


def test_headless_runs_deny_with_a_note(kernel: Kernel) -> None:
    run = kernel.collect(kernel.start(ASK, allow_stdin=False))
    assert run.ok
    shown = text_of(run)
    assert "[tool call denied] lookup_price: denied: approval is needed but no one can be" in shown
    assert kernel.eval("r.tool_calls[0].status") == "denied"
    assert "nbclient or papermill" in kernel.eval("r.tool_calls[0].result")


@pytest.mark.parametrize(("answer", "status"), [("y", "done"), ("n", "denied")])
def test_ask_prompts_on_stdin(kernel: Kernel, answer: str, status: str) -> None:
    msg_id = kernel.start(ASK, allow_stdin=True)
    request = kernel.kc.get_stdin_msg(timeout=30)
    assert request["msg_type"] == "input_request"
    assert request["content"]["prompt"] == (
        'nbchat: run tool lookup_price({"ticker": "ACME"})? [y/N] '
    )
    kernel.kc.input(answer)
    run = kernel.collect(msg_id)
    assert run.ok
    assert kernel.eval("r.tool_calls[0].status") == status


def test_chat_tools_lists_what_is_registered(kernel: Kernel) -> None:
    assert kernel.ok("%chat_tools").stdout.startswith("No tools:")
    kernel.ok("from nbchat.magics import current_chat\ncurrent_chat().add_tool(lookup_price)")
    assert kernel.ok("%chat_tools").stdout == (
        "lookup_price(ticker, day=…)  approve: ask (chat)  timeout: 30 s\n"
        "    Closing price of a ticker (latest when no day is given).\n"
    )
    # Registered tools are offered without --tools.
    run = kernel.ok('%%chat -o r --approve auto\n/tool lookup_price {{"ticker": "ACME"}}')
    assert text_of(run).endswith("The `lookup_price` tool returned: 101.5")


def test_bad_tool_names_are_usage_errors(kernel: Kernel) -> None:
    run = kernel.run("%%chat --tools nothing_here\nhi")
    assert run.reply["ename"] == "UsageError"
    assert "--tools: no function named 'nothing_here'" in run.reply["evalue"]
    kernel.ok("%chat_connect --demo")  # the chats dialect runs no client-side tools
    run = kernel.run("%%chat --tools nap\nhi")
    assert run.reply["ename"] == "UsageError"
    assert "the chats dialect runs no tools in the kernel" in run.reply["evalue"]


def test_interrupt_stops_while_a_tool_runs(kernel: Kernel) -> None:
    msg_id = kernel.start('%%chat -o r --approve auto --tools nap\n/tool nap {{"seconds": 20}}')
    time.sleep(2)  # the request, the reply and the tool's start take well under this
    started = time.monotonic()
    kernel.km.interrupt_kernel()
    run = kernel.collect(msg_id)
    assert time.monotonic() - started < 10
    assert run.error is not None and run.error["ename"] == "KeyboardInterrupt"
    assert kernel.eval("(r.status, r.tool_calls[0].status)") == ("stopped", "cancelled")
    assert "(cancelled: the reply was stopped)" in text_of(run)
