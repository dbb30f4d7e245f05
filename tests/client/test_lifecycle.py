"""One turn lifecycle: the streaming and the non-streaming endpoint give the same handle."""

from __future__ import annotations

import threading
import time

import pytest

import nbchat
from nbchat.stream import EventStream

from .faultserver import FaultServer, Pause, Script, sse

STREAM = sse(
    {"type": "tool_call", "name": "calc", "args": {"x": 1}},
    {"type": "tool_result", "name": "calc", "result": 2},
    {"type": "text", "content": "It is 2."},
    {"type": "done", "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}},
)
WHOLE = (
    b'{"response": "It is 2.", "tool_calls": [{"name": "calc", "args": {"x": 1}, "result": 2}],'
    b' "usage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}}'
)
JSON = {"Content-Type": "application/json"}


def test_whole_and_streamed_give_the_same_handle(fault: FaultServer) -> None:
    fault.script("/chat/stream", Script(body=STREAM))
    fault.script("/chat", Script(200, JSON, [WHOLE]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    heard: list[tuple[str, str | None]] = []
    chat.subscribe(lambda kind, turn, event: heard.append((kind, event and event.type)))
    seen = {}
    for whole in (False, True):
        heard.clear()
        with chat.stream("what is 1+1?", whole=whole) as events:
            types = [event.type for event in events]
        assert type(events) is EventStream
        assert events.turn is chat.history[-1]
        assert events.reply is events.turn.reply
        reply = events.reply.raise_for_status()
        seen[whole] = (types, list(heard), reply.text, reply.usage, reply.to_dict()["tool_calls"])
    assert seen[False] == seen[True]
    assert seen[True][0] == ["tool_call", "tool_result", "text", "done"]
    assert [r.path for r in fault.requests] == ["/chat/stream", "/chat"]


def test_stop_during_a_whole_send_returns_at_once(fault: FaultServer) -> None:
    # The server sends its headers, then thinks for 5 s before the body.
    fault.script("/chat", Script(200, JSON, [Pause(5), WHOLE]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", timeout=10)
    kinds: list[str] = []
    chat.subscribe(lambda kind, turn, event: kinds.append(kind))
    events = chat.stream("hi", whole=True)
    threading.Timer(0.2, events.stop).start()
    started = time.monotonic()
    with events:
        assert list(events) == []
    waited = time.monotonic() - started
    assert waited < 2.5, f"stop took {waited:.1f} s: it waited for the server's answer"
    assert events.reply.status == "stopped"
    assert kinds == ["turn_start", "turn_end"]
    with pytest.raises(nbchat.StreamError, match="did not complete \\(stopped\\)"):
        events.reply.raise_for_status()


def test_a_failed_whole_send_raises_the_http_error_and_ends_the_turn(fault: FaultServer) -> None:
    fault.script("/chat", Script(404, JSON, [b'{"message": "no such agent"}']))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    kinds: list[str] = []
    chat.subscribe(lambda kind, turn, event: kinds.append(kind))
    with pytest.raises(nbchat.errors.NotFoundError, match="no such agent"):
        chat.send("hi", stream=False)
    assert chat.history[-1].reply.status == "error"
    assert kinds == ["turn_start", "event", "turn_end"]


async def test_asend_takes_the_non_streaming_endpoint_too(fault: FaultServer) -> None:
    fault.script("/chat", Script(200, JSON, [WHOLE]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    reply = await chat.asend("what is 1+1?", stream=False)
    assert (reply.text, reply.status, reply.usage.total_tokens) == ("It is 2.", "complete", 7)
    assert fault.requests[0].path == "/chat"
