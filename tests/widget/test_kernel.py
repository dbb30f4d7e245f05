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
        # A view opens, as in JupyterLab: it asks for a sync (the comm message's content).
        "w._on_view_message(w, {'type': 'sync', 'have': 0, 'last': None}, [])\n"
        "w.ask('/stream 300 10 10')"
    )
    # The reply takes ~3 s; this cell runs and answers meanwhile.
    state = session.eval("", "(w.status, len(w.chat.history[-1].reply.text) < 3000)")
    assert state == ("streaming", True)
    assert session.eval("r = w.wait(30)", "(r.status, len(r.text))") == ("complete", 3000)

    messages = session.drain()
    comm_msgs = [m["content"]["data"] for m in messages if m["msg_type"] == "comm_msg"]
    customs = [as_dict(d["content"]) for d in comm_msgs if d.get("method") == "custom"]
    assert customs[0]["type"] == "sync"  # the answer to the view
    customs = customs[1:]
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


def _run(session: Session, code: str) -> str:
    """Run a cell to its end, keeping every IOPub message; returns its msg_id."""
    kc = session.kernel.kc
    msg_id = kc.execute(code)
    while True:
        message = kc.get_iopub_msg(timeout=60)
        session.iopub.append(message)
        content = message["content"]
        if (
            message["parent_header"].get("msg_id") == msg_id
            and content.get("execution_state") == "idle"
        ):
            return msg_id


def _printed_under(messages: list[dict[str, Any]], marker: str) -> list[str]:
    """The msg_id of the request each stdout text containing `marker` was sent as output of."""
    return [
        m["parent_header"].get("msg_id")
        for m in messages
        if m["msg_type"] == "stream" and marker in m["content"]["text"]
    ]


CALLBACK = (
    "import nbchat, time\n"
    "w = nbchat.ChatWidget(base_url={url!r}, user_id='user-1', model='demo')\n"
    "w.on_reply(lambda reply: print('callback saw', reply.status))\n"
)


def test_callback_output_goes_to_the_cell_that_sent(kernel: Kernel, server: ServerHandle) -> None:
    session = Session(kernel)
    _run(session, CALLBACK.format(url=server.url))
    sender = _run(session, "w.ask('/stream 50 10 10')")  # returns at once; the reply takes ~0.5 s
    # This cell is the one running when the reply ends and the callback prints.
    other = _run(session, "r = w.wait(30)\ntime.sleep(0.3)\nprint('other cell', r.status)")
    messages = session.drain()
    assert _printed_under(messages, "other cell") == [other]
    assert _printed_under(messages, "callback saw complete") == [sender]


def test_callback_output_of_a_chat_magic_turn_stays_in_its_cell(
    kernel: Kernel, server: ServerHandle
) -> None:
    session = Session(kernel)
    _run(
        session,
        "%load_ext nbchat\n" + CALLBACK.format(url=server.url) + "nbchat.magics.use_chat(w.chat)",
    )
    sender = _run(session, "%%chat --quiet\nhello")
    assert _printed_under(session.drain(), "callback saw complete") == [sender]


def test_callback_output_of_a_panel_message_goes_to_that_message(
    kernel: Kernel, server: ServerHandle
) -> None:
    session = Session(kernel)
    _run(session, CALLBACK.format(url=server.url) + "comm_id = w.comm.comm_id")
    comm_id = session.eval("", "comm_id")
    kc = kernel.kc
    data = {"method": "custom", "content": {"type": "send", "text": "/stream 50 10 10"}}
    message = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.shell_channel.send(message)  # what the panel's Send button does
    other = _run(session, "r = w.wait(30) if w.chat.history else None\ntime.sleep(0.5)")
    assert session.eval("w.wait(30)", "w.chat.history[-1].reply.status") == "complete"
    printed = _printed_under(session.drain(), "callback saw complete")
    assert printed == [message["header"]["msg_id"]], (printed, other)
