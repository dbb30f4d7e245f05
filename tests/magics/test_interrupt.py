"""Interrupting the kernel stops the stream at once and keeps the partial reply."""

from __future__ import annotations

import time

import pytest

from nbchat.server import ServerHandle

from .conftest import Kernel, html_of, text_of


def wait_for(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "cell",
    # 2000 deltas of 5 characters, 5 ms apart: ten seconds if nobody stops it.
    ["%%chat -o part\n/stream 2000 5 5", "r = %chat -o part /stream 2000 5 5"],
    ids=["cell", "line"],
)
def test_interrupt_stops_the_stream_and_keeps_the_partial_reply(
    kernel: Kernel, server: ServerHandle, cell: str
) -> None:
    stats = server.store.stats
    cancelled = stats.cancelled
    msg_id = kernel.start(cell)
    early = []
    while not early or early[-1]["msg_type"] != "update_display_data":  # visibly streaming
        message = kernel.kc.get_iopub_msg(timeout=10)
        if message["parent_header"].get("msg_id") == msg_id:
            early.append(message)
    interrupted_at = time.monotonic()
    kernel.km.interrupt_kernel()
    execution = kernel.collect(msg_id)
    execution.messages[:0] = early
    elapsed = time.monotonic() - interrupted_at

    assert elapsed < 2.0  # at once, not after the remaining seconds of stream
    assert execution.error["ename"] == "KeyboardInterrupt"
    assert execution.error["traceback"] == [
        "KeyboardInterrupt: the reply was stopped; the partial reply is kept"
    ]
    # The server saw the connection close.
    wait_for(lambda: stats.cancelled == cancelled + 1)
    assert stats.active == 0

    status, length = kernel.eval("(part.status, len(part.text))")
    assert status == "stopped"
    assert 0 < length < 10_000
    assert kernel.current("history[-1].reply.status") == "stopped"
    text = text_of(execution)
    assert "stopped" not in text  # the KeyboardInterrupt line says so, once
    assert len(text) == length
    assert "stopped" not in html_of(execution)

    # The kernel and the conversation carry on.
    assert text_of(kernel.ok("%%chat -o after\n/echo still here")) == "still here"
    assert kernel.eval("after.status") == "complete"
