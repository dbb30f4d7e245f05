"""The widget in a real IPython kernel: deltas reach IOPub from the background thread, and the
kernel keeps running cells while a widget streams."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from queue import Empty
from typing import Any

import pytest
from magics.conftest import Kernel  # the real-kernel driver of the magics tests

from nbchat.server import ServerHandle

from .conftest import as_dict, view_transcript


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    kernel = Kernel()
    yield kernel
    kernel.shutdown()


class Session:
    """Runs cells and keeps every IOPub message, whichever cell or thread it came from."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.iopub: list[dict[str, Any]] = []

    def eval(self, code: str, expression: str = "None") -> Any:
        """Run `code`, then return the literal value of `expression`."""
        kc = self.kernel.kc
        msg_id = kc.execute(code, user_expressions={"v": expression})
        while True:
            message = kc.get_iopub_msg(timeout=60)
            self.iopub.append(message)
            mine = message["parent_header"].get("msg_id") == msg_id
            if mine and message["content"].get("execution_state") == "idle":
                break
        while True:
            reply = kc.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "ok", reply["content"]
        value = reply["content"]["user_expressions"]["v"]
        assert value["status"] == "ok", value
        return ast.literal_eval(value["data"]["text/plain"])

    def drain(self, quiet: float = 1.0) -> list[dict[str, Any]]:
        """Everything sent so far, once the kernel has been quiet for `quiet` seconds."""
        while True:
            try:
                self.iopub.append(self.kernel.kc.get_iopub_msg(timeout=quiet))
            except Empty:
                return self.iopub


def test_stream_reaches_iopub_while_other_cells_run(kernel: Kernel, server: ServerHandle) -> None:
    session = Session(kernel)
    session.eval(
        "import nbchat\n"
        f"w = nbchat.ChatWidget(base_url={server.url!r}, user_id='user-1', model='demo')\n"
        "w.ask('/stream 300 10 10')"
    )
    # The reply takes ~3 s; this cell runs and answers meanwhile.
    state = session.eval("", "(w.status, len(w.chat.history[-1].reply.text) < 3000)")
    assert state == ("streaming", True)
    assert session.eval("r = w.wait(30)", "(r.status, len(r.text))") == ("complete", 3000)

    messages = session.drain()
    comm_msgs = [m["content"]["data"] for m in messages if m["msg_type"] == "comm_msg"]
    customs = [as_dict(d["content"]) for d in comm_msgs if d.get("method") == "custom"]
    assert [c["seq"] for c in customs] == list(range(1, len(customs) + 1))
    assert customs[0]["type"] == "turn_start" and customs[-1]["type"] == "turn_end"
    deltas = [c for c in customs if c["type"] == "delta"]
    assert 2 < len(deltas) < 300  # batched, and it did stream
    # The finished turn is not re-sent as state: a view builds it from the messages.
    assert not [d for d in comm_msgs if "messages" in d.get("state", {})]
    assert view_transcript(customs) == session.eval("", "w.messages")


def test_stop_from_the_view_in_a_kernel(kernel: Kernel, server: ServerHandle) -> None:
    session = Session(kernel)
    session.eval(
        "import nbchat, time\n"
        f"w = nbchat.ChatWidget(base_url={server.url!r}, user_id='user-1', model='demo')\n"
        "w.ask('/stream 3000 10 10')\n"
        "while not w.chat.history[-1].reply.text: time.sleep(0.01)"
    )
    # What the Stop button does: a custom message from the front end, handled by the kernel.
    stop = {"content": {"data": {"method": "custom", "content": {"type": "stop"}}}, "buffers": []}
    result = session.eval(f"w.comm.handle_msg({stop!r})\nr = w.wait(10)", "(r.status, len(r.text))")
    assert result[0] == "stopped" and 0 < result[1] < 30000
    assert session.eval("", "(w.status, w.messages[-1]['status'])") == ("idle", "stopped")


def test_widget_shows_what_chat_magic_sent(kernel: Kernel, server: ServerHandle) -> None:
    session = Session(kernel)
    session.eval(
        "%load_ext nbchat\n"
        f"%chat_connect {server.url} --model demo --user-id user-1\n"
        "import nbchat\n"
        "w = nbchat.ChatWidget()  # attaches to the magics' current conversation"
    )
    session.eval("%%chat\n/echo sent by the magic")
    assert session.eval("", "[(m['role'], m['text']) for m in w.messages]") == [
        ("user", "/echo sent by the magic"),
        ("assistant", "sent by the magic"),
    ]
    customs = [
        as_dict(m["content"]["data"]["content"])
        for m in session.drain()
        if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "custom"
    ]
    assert customs[0]["type"] == "turn_start"
    assert customs[-1]["type"] == "turn_end" and customs[-1]["seq"] == len(customs)
    assert view_transcript(customs) == session.eval("", "w.messages")
