"""The tool loop over loopback, against the reference server's openai demo model: it calls the
tools a `/tool NAME {args}` prompt names, then answers with the results it was sent."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import nbchat
from nbchat.errors import ConfigurationError
from nbchat.events import Event, ToolCall, ToolResult, ToolStatus
from nbchat.server import ServerHandle
from nbchat.turn import Turn


def openai(server: ServerHandle, tools: list[Any], **kwargs: Any) -> nbchat.Chat:
    options: dict[str, Any] = {"model": "demo", "approve": "auto", **kwargs}
    return nbchat.Chat(f"{server.url}/v1", dialect="openai", tools=tools, **options)


def price(ticker: str) -> float:
    """The latest price of a ticker."""
    return {"ACME": 101.5, "INITECH": 7.25}[ticker]


def test_several_calls_in_one_round_then_the_answer(server: ServerHandle) -> None:
    chat = openai(server, [price])
    reply = chat.send('/tool price {"ticker": "ACME"}\n/tool price {"ticker": "INITECH"}')
    assert reply.status == "complete" and reply.finish_reason == "stop"
    assert reply.text == ("The `price` tool returned: 101.5\n\nThe `price` tool returned: 7.25")
    assert [(c.args, c.result, c.status) for c in reply.tool_calls] == [
        ({"ticker": "ACME"}, "101.5", "done"),
        ({"ticker": "INITECH"}, "7.25", "done"),
    ]
    kinds = [event.type for event in reply.events]
    assert kinds.count("start") == 2 and kinds.count("done") == 1  # two rounds, one reply
    assert kinds.index("tool_result") < kinds.index("text")
    assert reply.usage is not None and reply.usage.total_tokens == (
        reply.usage.input_tokens + reply.usage.output_tokens
    )
    # The next turn sends this one's calls and results: the model still answers normally.
    assert "**Turn 2.**" in chat.send("thanks").text


def test_parallel_calls_run_at_the_same_time(server: ServerHandle) -> None:
    both = threading.Barrier(2, timeout=10)  # only passes when both calls run at once

    def meet(name: str) -> str:
        both.wait()
        return f"{name} met"

    reply = openai(server, [meet]).send('/tool meet {"name": "a"}\n/tool meet {"name": "b"}')
    assert [call.result for call in reply.tool_calls] == ["a met", "b met"]


def test_async_tools_run_on_their_own_loop(server: ServerHandle) -> None:
    async def later(n: int) -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return {"n": n, "loop": type(asyncio.get_running_loop()).__name__}

    reply = openai(server, [later]).send('/tool later {"n": 3}')
    assert reply.tool_calls[0].status == "done"
    assert reply.tool_calls[0].result.startswith('{"n":3,"loop":')
    assert reply.tool_calls[0].elapsed is not None and reply.tool_calls[0].elapsed >= 0.05


def test_errors_go_back_to_the_model(server: ServerHandle) -> None:
    def broken(ticker: str) -> float:
        raise LookupError(f"no price for {ticker}")

    chat = openai(server, [broken, price])
    reply = chat.send('/tool broken {"ticker": "ACME"}\n/tool price {"ticker": 5, "day": 1}')
    assert reply.status == "complete"  # the user's cell does not raise
    first, second = reply.tool_calls
    assert (first.status, first.result) == ("error", "error: LookupError: no price for ACME")
    assert second.status == "error" and second.elapsed is None  # never ran
    assert second.result.startswith("error: invalid arguments: ticker: Input should be")
    assert "day: Extra inputs are not permitted" in second.result
    assert "The `broken` tool returned: error: LookupError" in reply.text


def test_a_tool_that_runs_too_long_times_out(server: ServerHandle) -> None:
    release = threading.Event()
    cancelled = threading.Event()

    @nbchat.tool(timeout=0.2)
    def stuck() -> str:
        release.wait(10)
        return "late"

    @nbchat.tool(timeout=0.2)
    async def stuck_async() -> str:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    started = time.monotonic()
    reply = openai(server, [stuck, stuck_async]).send("/tool stuck {}\n/tool stuck_async {}")
    release.set()
    assert time.monotonic() - started < 5
    for call in reply.tool_calls:
        assert call.status == "error"
        assert call.result == "error: timed out after 0.2 s (the tool's timeout)"
    assert cancelled.wait(5)  # the async tool was cancelled, not left running
    assert reply.status == "complete"


def test_denied_calls_are_reported_as_denied(server: ServerHandle) -> None:
    ran: list[str] = []

    def record(note: str) -> str:
        ran.append(note)
        return "ok"

    chat = openai(server, [record], approve="never")
    reply = chat.send('/tool record {"note": "x"}')
    assert ran == [] and reply.tool_calls[0].status == "denied"
    assert "denied" in reply.text and "approve='never'" in reply.tool_calls[0].result

    def only_safe(call: ToolCall) -> bool:
        return call.args.get("note") == "safe"

    chat = openai(server, [record], approve=only_safe)
    reply = chat.send('/tool record {"note": "safe"}\n/tool record {"note": "rm -rf"}')
    assert ran == ["safe"]
    assert [call.status for call in reply.tool_calls] == ["done", "denied"]
    assert reply.tool_calls[1].result == "denied: the user did not allow this call"


def test_ask_waits_for_a_decision(server: ServerHandle) -> None:
    chat = openai(server, [price], approve="ask")
    decisions = {"ACME": True, "INITECH": False}
    heard: list[str] = []

    def decide_later(kind: str, turn: Turn, event: Event | None) -> None:
        if isinstance(event, ToolStatus) and event.status == "pending":
            call = next(c for c in turn.reply.tool_calls if c.id == event.id)
            heard.append(call.args["ticker"])
            answer = decisions[call.args["ticker"]]
            threading.Timer(0.05, chat.decide, (event.id, answer)).start()  # e.g. the panel

    chat.subscribe(decide_later)
    reply = chat.stream('/tool price {"ticker": "ACME"}\n/tool price {"ticker": "INITECH"}')
    with reply as events:
        for _ in events:
            pass
    assert heard == ["ACME", "INITECH"]  # both pending at once, before any decision
    assert [c.status for c in events.reply.tool_calls] == ["done", "denied"]
    assert events.reply.status == "complete"
    assert not chat.decide("call_unknown", True)

    asked: list[str] = []
    chat = openai(server, [price], approve="ask")
    reply = chat.stream(
        '/tool price {"ticker": "ACME"}', ask=lambda c: asked.append(c.name) or True
    )
    with reply as events:
        for _ in events:
            pass
    assert asked == ["price"] and events.reply.tool_calls[0].result == "101.5"


def test_decisions_are_taken_in_the_order_they_come(server: ServerHandle) -> None:
    chat = openai(server, [price], approve="ask")
    events = chat.stream('/tool price {"ticker": "ACME"}\n/tool price {"ticker": "INITECH"}')
    calls = events.reply.tool_calls
    guard = threading.Timer(10, events.stop)  # a loop that waits in call order would hang
    guard.start()

    def answer(kind: str, turn: Turn, event: Event | None) -> None:
        if isinstance(event, ToolStatus) and len(calls) == 2 and event.id == calls[1].id:
            threading.Thread(target=chat.decide, args=(calls[1].id, False)).start()
        if isinstance(event, ToolResult) and event.status == "denied":
            threading.Thread(target=chat.decide, args=(calls[0].id, True)).start()

    chat.subscribe(answer)
    with events:
        seen = list(events)
    guard.cancel()
    assert events.reply.status == "complete"
    results = [e.status for e in seen if isinstance(e, ToolResult)]
    assert results == ["denied", "done"]  # the second call's denial came first


def test_a_tool_of_its_own_approval_wins(server: ServerHandle) -> None:
    @nbchat.tool(approve="auto")
    def harmless() -> str:
        return "fine"

    reply = openai(server, [harmless], approve="never").send("/tool harmless {}")
    assert reply.tool_calls[0].status == "done"


def test_max_tool_rounds_ends_with_a_clear_error(server: ServerHandle) -> None:
    ran: list[int] = []

    def again() -> int:
        ran.append(1)
        return len(ran)

    chat = openai(server, [again], max_tool_rounds=2)
    with chat.stream("/tool again {}\n/rounds 5") as events:
        for _ in events:
            pass
    reply = events.reply
    assert len(ran) == 2 and reply.status == "error"
    assert reply.error is not None and reply.error.code == "max_tool_rounds"
    assert "after 2 rounds" in reply.error.message and "max_tool_rounds=2" in reply.error.message
    assert reply.tool_calls[-1].status is None  # asked for, not run
    assert openai(server, [again], max_tool_rounds=5).send("/tool again {}\n/rounds 5").status == (
        "complete"
    )


@pytest.mark.parametrize("how", ["stream.stop", "reply.stop"])
def test_stop_cancels_mid_loop_keeping_what_happened(server: ServerHandle, how: str) -> None:
    release = threading.Event()

    @nbchat.tool(timeout=30)
    def slow() -> str:
        release.wait(30)
        return "late"

    chat = openai(server, [slow, price])
    events = chat.stream('/tool price {"ticker": "ACME"}\n/tool slow {}')
    stopper = events.stop if how == "stream.stop" else events.reply.stop

    def stop_after_the_fast_result(kind: str, turn: Turn, event: Event | None) -> None:
        if isinstance(event, ToolResult):  # `slow` runs by now: both started before results
            threading.Thread(target=stopper).start()

    chat.subscribe(stop_after_the_fast_result)
    started = time.monotonic()
    with events:
        seen = list(events)
    release.set()
    assert time.monotonic() - started < 5
    reply = events.reply
    assert reply.status == "stopped"
    assert any(isinstance(e, ToolResult) for e in seen)  # the fast call's result is kept
    assert [c.status for c in reply.tool_calls] == ["done", "cancelled"]
    assert chat.history[-1].reply is reply


def test_stop_while_waiting_for_approval(server: ServerHandle) -> None:
    chat = openai(server, [price], approve="ask")
    events = chat.stream('/tool price {"ticker": "ACME"}')
    chat.subscribe(
        lambda kind, turn, event: (
            isinstance(event, ToolStatus) and threading.Timer(0.05, events.stop).start()
        )
    )
    with events:
        for _ in events:
            pass
    assert events.reply.status == "stopped"
    assert events.reply.tool_calls[0].status == "cancelled"
    assert not chat.decide(events.reply.tool_calls[0].id or "", True)


def test_non_streaming_endpoint_runs_tools_too(server: ServerHandle) -> None:
    reply = openai(server, [price]).send('/tool price {"ticker": "ACME"}', stream=False)
    assert reply.text == "The `price` tool returned: 101.5"


def test_tools_need_a_dialect_that_runs_them(server: ServerHandle) -> None:
    chat = nbchat.Chat(server.url, dialect="agents", agent_id="ag_1")
    with pytest.raises(ConfigurationError, match="runs no tools in the kernel"):
        chat.add_tool(price)
    with pytest.raises(ConfigurationError, match="approve= takes"):
        openai(server, [price], approve="yes")
    with pytest.raises(ConfigurationError, match="max_tool_rounds= takes a count >= 0"):
        openai(server, [price], max_tool_rounds=-1)
    chat = openai(server, [price])
    assert list(chat.tools) == ["price"] and list(chat.fork().tools) == ["price"]
    chat.remove_tool("price")
    assert chat.tools == {}


async def test_asend_runs_the_loop_off_the_event_loop(server: ServerHandle) -> None:
    entered, released = threading.Event(), threading.Event()

    def needs_the_loop(ticker: str) -> float:
        entered.set()
        if not released.wait(10):  # only a coroutine on the (free) event loop sets it
            raise TimeoutError("the event loop was blocked")
        return price(ticker)

    async def release() -> None:
        while not entered.is_set():
            await asyncio.sleep(0.01)
        released.set()

    releasing = asyncio.create_task(release())
    reply = await openai(server, [needs_the_loop]).asend('/tool needs_the_loop {"ticker": "ACME"}')
    await releasing
    assert reply.text == "The `needs_the_loop` tool returned: 101.5"


async def test_astream_stops_mid_loop(server: ServerHandle) -> None:
    release = threading.Event()

    def stuck() -> str:
        release.wait(30)
        return "late"

    chat = openai(server, [stuck])
    async with chat.astream("/tool stuck {}") as events:
        async for event in events:
            if isinstance(event, ToolStatus) and event.status == "running":
                break
    release.set()
    assert events.reply.status == "stopped"
    assert events.reply.tool_calls[0].status == "cancelled"
