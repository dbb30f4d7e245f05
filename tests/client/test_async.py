"""The asyncio twins give the same replies and errors as the blocking API."""

from __future__ import annotations

import asyncio

import pytest

import nbchat
from nbchat import errors

from .faultserver import Cut, FaultServer, Pause, Script, sse

PATH = "/chat/stream"
BODY = sse(
    {"type": "text", "content": "Hello"},
    {"type": "tool_call", "name": "calc", "args": {"x": 1}},
    {"type": "tool_result", "name": "calc", "result": 2},
    {"type": "done", "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}},
)


def chat_for(server: FaultServer, **kwargs: object) -> nbchat.Chat:
    return nbchat.Chat(server.url, dialect="agents", agent_id="ag_1", **kwargs)  # type: ignore[arg-type]


async def test_asend_matches_send(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=BODY))
    chat = chat_for(fault)
    blocking = chat.send("hi")
    awaited = await chat.asend("hi")
    assert awaited.events == blocking.events
    assert awaited.status == "complete"
    assert fault.requests[0].json()["session_id"] == fault.requests[1].json()["session_id"]


async def test_astream_yields_events_as_they_arrive(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=BODY))
    async with chat_for(fault).astream("hi") as events:
        kinds = [event.type async for event in events]
    assert kinds == ["text", "tool_call", "tool_result", "done"]
    assert events.reply.tool_calls[0].result == 2


async def test_async_errors_are_the_same_types(fault: FaultServer) -> None:
    fault.script(PATH, Script(404, {"Content-Type": "application/json"}, [b'{"message": "nope"}']))
    with pytest.raises(errors.NotFoundError, match="nope"):
        await chat_for(fault).asend("hi")


async def test_async_mid_stream_failure_keeps_partial_text(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=[*sse({"type": "text", "content": "part"}), Cut()]))
    with pytest.raises(errors.StreamError) as caught:
        await chat_for(fault).asend("hi")
    assert caught.value.reply.text == "part"


async def test_async_silence_timeout(fault: FaultServer) -> None:
    pings = [step for _ in range(30) for step in (b": ping\n\n", Pause(0.05))]
    fault.script(PATH, Script(body=[*sse({"type": "text", "content": "a"}), *pings]))
    async with chat_for(fault, timeout=0.4).astream("hi") as events:
        [event async for event in events]
    assert events.reply.error.code == "timeout"


async def test_async_slow_reader_is_not_a_timeout(fault: FaultServer) -> None:
    text = [
        step for _ in range(3) for step in (*sse({"type": "text", "content": "."}), Pause(0.05))
    ]
    fault.script(PATH, Script(body=[*text, *BODY[-1:]]))
    async with chat_for(fault, timeout=0.3).astream("hi") as events:
        async for _ in events:
            await asyncio.sleep(0.5)  # the reader, not the server, takes its time
    assert (events.reply.text, events.reply.status) == ("...", "complete")


async def test_async_break_stops(fault: FaultServer) -> None:
    ticks = [s for _ in range(500) for s in (*sse({"type": "text", "content": "."}), Pause(0.01))]
    fault.script(PATH, Script(body=ticks))
    async with chat_for(fault).astream("hi") as events:
        async for event in events:
            if event.type == "text":
                break
    assert events.reply.status == "stopped"
    assert fault.closed_early.wait(5)
