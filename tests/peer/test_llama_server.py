"""The openai dialect against a real OpenAI-compatible server nbchat did not write.

The packaged model is a base model: its replies are deterministic (temperature 0, fixed seed)
but meaningless, so these tests check structure, never wording.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import nbchat
from nbchat.events import TextDelta, ToolCallDelta

from .llama import FORCE_WEATHER, MODEL, SEED, WEATHER, Peer


def chat(peer: Peer, **params: Any) -> nbchat.Chat:
    options = {"temperature": 0, "seed": SEED, "max_tokens": 24, **params}
    return nbchat.Chat(peer.base_url, dialect="openai", model=MODEL, params=options, timeout=120)


def test_streamed_reply_equals_the_whole_one(peer: Peer) -> None:
    streamed = chat(peer).send("Name three colors.")
    whole = chat(peer).send("Name three colors.", stream=False)
    assert streamed.status == whole.status == "complete"
    assert streamed.text.strip(), "the model said nothing"
    assert streamed.text == whole.text
    assert streamed.finish_reason == whole.finish_reason
    assert streamed.finish_reason in ("stop", "length")
    assert streamed.message_id and streamed.message_id.startswith("chatcmpl-")


def test_usage_whole_and_its_absence_when_streaming(peer: Peer) -> None:
    whole = chat(peer).send("Name three colors.", stream=False)
    usage = whole.usage
    assert usage is not None and usage.input_tokens and usage.output_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    # This server ignores stream_options.include_usage: the streamed reply still completes.
    streamed = chat(peer).send("Name three colors.")
    assert (streamed.status, streamed.usage) == ("complete", None)


def test_forced_tool_call_yields_parsed_arguments(peer: Peer) -> None:
    forced = chat(peer, tools=[WEATHER], tool_choice=FORCE_WEATHER, max_tokens=48)
    with forced.stream("What is the weather in Paris?") as events:
        seen = list(events)
    reply = events.reply
    assert reply.status == "complete", reply.error
    assert [call.name for call in reply.tool_calls] == ["get_weather"]
    call = reply.tool_calls[0]
    assert isinstance(call.args, dict) and isinstance(call.args.get("city"), str), call.args
    assert call.id
    deltas = [e for e in seen if isinstance(e, ToolCallDelta)]
    assert len(deltas) > 1 and {d.name for d in deltas} == {"get_weather"}
    assert [len(d.arguments) for d in deltas] == sorted(len(d.arguments) for d in deltas)
    whole = forced.send("What is the weather in Paris?", stream=False)
    assert [(c.name, c.args) for c in whole.tool_calls] == [(call.name, call.args)]


def test_a_two_turn_conversation_carries_the_history(peer: Peer) -> None:
    conversation = chat(peer)
    first = conversation.send("My name is Ada.", stream=False)
    second = conversation.send("What is my name?", stream=False)
    alone = chat(peer).send("What is my name?", stream=False)
    assert first.usage and second.usage and alone.usage
    assert first.usage.input_tokens and first.usage.output_tokens
    assert second.usage.input_tokens and alone.usage.input_tokens
    # The second request read the first turn too: the question alone is far shorter.
    assert second.usage.input_tokens >= alone.usage.input_tokens + first.usage.input_tokens - 2


@pytest.mark.parametrize("stream", [True, False])
def test_small_max_tokens_finishes_with_length(peer: Peer, stream: bool) -> None:
    reply = chat(peer, max_tokens=3).send("Tell me a long story about a cat.", stream=stream)
    assert (reply.status, reply.finish_reason) == ("complete", "length")
    assert reply.text


def test_stop_closes_the_connection(peer: Peer) -> None:
    """The server runs with interruption of running requests off, so only a closed connection
    frees it; it reports each disconnect in its log."""
    disconnects = peer.log.read_text().count("Disconnected from client")
    with chat(peer, max_tokens=1500).stream("Tell me a very long story.") as events:
        started = time.monotonic()
        texts = 0
        for event in events:
            texts += isinstance(event, TextDelta)
            if texts == 8:
                break
        rate = texts / (time.monotonic() - started)  # tokens per second, roughly
        events.stop()
    assert events.reply.status == "stopped"
    deadline = time.monotonic() + 30
    while peer.log.read_text().count("Disconnected from client") == disconnects:
        assert time.monotonic() < deadline, f"the server never saw the stop:\n{peer.log_tail()}"
        time.sleep(0.1)
    # The server is free at once, long before the 1500 tokens it would otherwise make.
    started = time.monotonic()
    assert chat(peer, max_tokens=4).send("Hello").status == "complete"
    assert time.monotonic() - started < 1500 / rate / 2


def test_a_forced_tool_call_runs_through_the_tool_loop(peer: Peer) -> None:
    cities: list[str] = []

    def get_weather(city: str) -> dict[str, Any]:
        """The current weather in a city."""
        cities.append(city)
        return {"city": city, "sky": "clear", "celsius": 21}

    # tool_choice forces a call in every round, so the second round calls again and the loop
    # ends at max_tool_rounds; the server has read the first round's call and result by then.
    forced = nbchat.Chat(
        peer.base_url,
        dialect="openai",
        model=MODEL,
        params={"temperature": 0, "seed": SEED, "max_tokens": 48, "tool_choice": FORCE_WEATHER},
        timeout=120,
        tools=[get_weather],
        approve="auto",
        max_tool_rounds=1,
    )
    with forced.stream("What is the weather in Paris?") as events:
        seen = list(events)
    reply = events.reply
    assert reply.error is not None and reply.error.code == "max_tool_rounds", reply.error
    first, second = reply.tool_calls
    assert (first.name, first.status) == ("get_weather", "done")
    assert cities == [first.args["city"]]
    assert first.result == f'{{"city":{json.dumps(first.args["city"])},"sky":"clear","celsius":21}}'
    assert second.name == "get_weather" and second.status is None  # asked for, not run
    assert [e.type for e in seen].count("start") == 2  # the server answered the second request
