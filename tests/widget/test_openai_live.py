"""What the widget sends while an openai-dialect reply streams: reasoning as it arrives, a tool
call's arguments growing, and the committed reply's reasoning, finish reason and sources."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import nbchat
from nbchat.server import ServerHandle, start_server
from nbchat.widget import ChatWidget

from .conftest import recorder


@pytest.fixture(scope="module")
def slow() -> Iterator[ServerHandle]:
    """Steps 50 ms apart, so each piece arrives in its own flush."""
    with start_server(delay=0.05) as handle:
        yield handle


@pytest.fixture
def widget(slow: ServerHandle) -> Iterator[ChatWidget]:
    chat = nbchat.Chat(f"{slow.url}/v1", dialect="openai", model="demo")
    made = ChatWidget(chat)
    yield made
    made.close()
    chat.close()


def test_tool_arguments_grow_then_the_call_completes(widget: ChatWidget) -> None:
    comm = recorder(widget)
    widget.ask("calculate 2+3*4")
    reply = widget.wait(20)
    assert reply is not None and reply.status == "complete"
    updates = [t for m in comm.customs() if m["type"] == "delta" for t in m.get("tools", [])]
    growing = [t["args"] for t in updates if isinstance(t["args"], str)]
    assert len(growing) >= 2, updates
    assert all(a.startswith(b) for a, b in zip(growing[1:], growing, strict=False))
    assert all(t["index"] == 0 and t["name"] == "calculator" for t in updates)
    assistant = widget.messages[-1]  # what was still pending at the end comes with the commit
    assert assistant["tool_calls"][0]["args"] == {"expression": "2+3*4"}
    assert assistant["finish_reason"] == "tool_calls"


def test_reasoning_streams_then_commits(widget: ChatWidget) -> None:
    comm = recorder(widget)
    widget.ask("/think /echo ok")
    reply = widget.wait(20)
    assert reply is not None and reply.status == "complete"
    customs = comm.customs()
    streamed = ("delta", "turn_end")  # what is still pending at the end comes with turn_end
    pieces = [m["reasoning"] for m in customs if m["type"] in streamed and "reasoning" in m]
    assert len(pieces) >= 2
    assert customs[0].get("reasoning", "") + "".join(pieces) == reply.reasoning
    assistant = widget.messages[-1]
    assert assistant["reasoning"] == reply.reasoning and assistant["text"] == "ok"
    assert (assistant["finish_reason"], assistant["sources"]) == ("stop", [])
