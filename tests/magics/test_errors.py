"""Failures raise (so Run All stops) with one short line, and `-o` keeps the partial reply."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from nbchat.server import ServerHandle

from .conftest import Kernel, connect_line, text_of

MISSING = "00000000-0000-4000-8000-000000000000"


def test_mid_stream_failure_raises_and_keeps_the_partial_reply(kernel: Kernel) -> None:
    execution = kernel.run("%%chat -o partial\n/fail")

    assert execution.reply["status"] == "error"
    assert execution.error["ename"] == "StreamError"
    assert execution.error["traceback"] == [
        "StreamError: the reply did not complete (error): the demo model failed on purpose (/fail)"
    ]
    assert kernel.eval("(partial.status, partial.text, partial.error.code)") == (
        "error",
        "This reply will stop part way",
        "model_error",
    )
    # The cell still shows what arrived; the error line below it says why, once.
    assert text_of(execution) == "This reply will stop part way"
    assert kernel.current("history[-1].reply.status") == "error"


def test_http_error_names_the_status_and_the_server_message(
    kernel: Kernel, server: ServerHandle
) -> None:
    kernel.ok(f"%chat_connect {server.url} --chat-id {MISSING} --model demo --user-id u")
    execution = kernel.run("%%chat -o missing\nhello")
    assert execution.error["ename"] == "NotFoundError"
    [line] = execution.error["traceback"]
    assert line.startswith("NotFoundError: HTTP 404: ")
    assert MISSING in line
    assert kernel.eval("(missing.status, missing.error.code, missing.text)") == (
        "error",
        "http_404",
        "",
    )


def test_line_magic_errors_raise_too(kernel: Kernel) -> None:
    execution = kernel.run("r = %chat -o kept /fail")
    assert execution.error["ename"] == "StreamError"
    assert kernel.eval("kept.text") == "This reply will stop part way"
    assert kernel.eval("'r' in dir()") is False


def test_unreachable_server_is_a_connection_error(kernel: Kernel) -> None:
    kernel.ok("%chat_connect http://127.0.0.1:9 --model demo --user-id u --timeout 2")
    execution = kernel.run("%%chat -o nothing\nhello")
    assert execution.error["ename"] == "ConnectionError"
    assert len(execution.error["traceback"]) == 1
    assert kernel.eval("nothing.status") == "error"
    assert kernel.ok("1 + 1").ok  # the kernel carries on


def test_silence_past_the_timeout_raises(kernel: Kernel, server: ServerHandle) -> None:
    kernel.ok(f"{connect_line(server)} --timeout 0.5")
    execution = kernel.run("%%chat -o slow\n/stream 3 4 1500")
    assert execution.error["ename"] == "StreamError"
    assert "timeout" in execution.error["evalue"].lower()
    assert kernel.eval("(slow.status, slow.text)") == ("error", "")
    assert "timeout" not in text_of(execution).lower()  # said once, by the error line


def test_run_all_stops_at_the_failing_cell(server: ServerHandle) -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("%load_ext nbchat"),
            nbformat.v4.new_code_cell(connect_line(server)),
            nbformat.v4.new_code_cell("%%chat -o r\n/fail"),
            nbformat.v4.new_code_cell("after = 1"),
        ]
    )
    client = NotebookClient(notebook, kernel_name="python3", timeout=60)
    with pytest.raises(CellExecutionError) as failure:
        client.execute()
    assert "the demo model failed on purpose" in str(failure.value)
    assert notebook.cells[3].outputs == []
    assert notebook.cells[3].execution_count is None


def test_first_errors_are_one_line_that_says_what_to_do() -> None:
    fresh = Kernel()  # nothing connected, no NBCHAT_* variables
    try:
        widget = fresh.run("from nbchat import ChatWidget\nChatWidget()")
        [line] = widget.error["traceback"]
        assert line.startswith("ConfigurationError: no server to chat with")
        assert "%chat_connect URL" in line and "ChatWidget(base_url=...)" in line

        fresh.ok("%load_ext nbchat")
        no_scheme = fresh.run("%chat_connect example.com:3026 --model m --user-id u")
        assert no_scheme.reply["ename"] == "UsageError"  # IPython prints it without traceback
        line = no_scheme.reply["evalue"]
        assert "needs http:// or https:// in front, e.g. http://example.com:3026" in line

        helped = fresh.ok("%chat_connect --help")
        assert "--token-env" in helped.stdout and helped.error is None
    finally:
        fresh.shutdown()


def test_a_failed_reply_says_its_message_once(kernel: Kernel) -> None:
    execution = kernel.run("%%chat\n/fail")
    shown = "".join(
        o["data"].get("text/plain", "") + o["data"].get("text/markdown", "")
        for o in execution.visible
        if o["output_type"] == "display_data"
    )
    [line] = execution.error["traceback"]
    message = "the demo model failed on purpose (/fail)"
    assert message in line and message not in shown
    assert "This reply will stop part way" in shown
