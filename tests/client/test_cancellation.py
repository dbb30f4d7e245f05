"""Stopping a reply closes the HTTP response at once and keeps what arrived, marked stopped."""

from __future__ import annotations

import signal
import threading

import pytest

import nbchat

from .faultserver import FaultServer, Pause, Script, sse

PATH = "/chat/stream"


def endless(server: FaultServer) -> nbchat.Chat:
    """A chat whose server streams a delta every 10 ms for about 10 s."""
    ticks = [
        step for _ in range(1000) for step in (*sse({"type": "text", "content": "."}), Pause(0.01))
    ]
    server.script(PATH, Script(body=ticks))
    return nbchat.Chat(server.url, dialect="agents", agent_id="ag_1")


def test_breaking_the_loop_closes_the_response(fault: FaultServer) -> None:
    chat = endless(fault)
    with chat.stream("hi") as events:
        for count, _ in enumerate(events):
            if count == 5:
                break
    assert events.reply.status == "stopped"
    assert events.reply.text == "......"
    assert fault.closed_early.wait(5), "the server never saw the connection close"


def test_leaving_the_block_early_closes_the_response(fault: FaultServer) -> None:
    chat = endless(fault)
    with chat.stream("hi") as events:
        next(iter(events))
    assert events.reply.status == "stopped"
    assert fault.closed_early.wait(5)


def test_keyboard_interrupt_stops_and_keeps_the_partial_reply(fault: FaultServer) -> None:
    chat = endless(fault)
    with pytest.raises(KeyboardInterrupt), chat.stream("hi") as events:
        for count, _ in enumerate(events):
            if count == 3:
                raise KeyboardInterrupt
    assert events.reply.status == "stopped"
    assert events.reply.text == "...."
    assert chat.history[-1].reply is events.reply
    assert fault.closed_early.wait(5)


def test_stop_from_another_thread(fault: FaultServer) -> None:
    chat = endless(fault)
    with chat.stream("hi") as events:
        seen = []
        for event in events:
            seen.append(event)
            if len(seen) == 10:
                threading.Thread(target=events.stop).start()
    assert events.reply.status == "stopped"
    assert len(seen) < 200
    assert fault.closed_early.wait(5)


def test_stop_after_completion_changes_nothing(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=sse({"type": "text", "content": "hi"}, {"type": "done"})))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    with chat.stream("hi") as events:
        list(events)
    events.stop()
    assert events.reply.status == "complete"


def test_listeners_hear_one_turn_end_when_stopped(fault: FaultServer) -> None:
    chat = endless(fault)
    kinds: list[str] = []
    chat.subscribe(lambda kind, turn, event: kinds.append(kind))
    with chat.stream("hi") as events:
        for count, _ in enumerate(events):
            if count == 2:
                events.stop()
    assert kinds[0] == "turn_start"
    assert kinds.count("turn_end") == 1
    assert kinds[-1] == "turn_end"


def test_interrupting_a_non_streaming_send_ends_the_turn_stopped(fault: FaultServer) -> None:
    fault.script("/chat", Script(200, {"Content-Type": "application/json"}, [Pause(5), b"{}"]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", timeout=10)
    kinds: list[str] = []
    chat.subscribe(lambda kind, turn, event: kinds.append(kind))
    timer = threading.Timer(0.3, lambda: signal.raise_signal(signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        chat.send("hi", stream=False)
    assert chat.history[-1].reply.status == "stopped"
    assert kinds == ["turn_start", "turn_end"]
