"""What the tool loop sends: the tools' definitions, then each round's calls and results as
OpenAI's messages; a call to a tool the chat does not have is answered with an error."""

from __future__ import annotations

import json
from typing import Any

from client.faultserver import FaultServer, Script, sse

import nbchat


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": "chatcmpl-w", "object": "chat.completion.chunk", "choices": [choice]})


def calls(*named: tuple[str, str, str]) -> Script:
    """A streamed answer that calls tools: (id, name, JSON arguments) each."""
    fragments = [
        {"index": i, "id": call_id, "type": "function", "function": {"name": name, "arguments": a}}
        for i, (call_id, name, a) in enumerate(named)
    ]
    return Script(body=sse(chunk({"tool_calls": fragments}), chunk({}, "tool_calls"), "[DONE]"))


ANSWER = Script(body=sse(chunk({"content": "Done."}), chunk({}, "stop"), "[DONE]"))


def lookup_price(ticker: str) -> float:
    """Closing price of a ticker."""
    return 101.5


def test_each_round_sends_the_calls_and_results_so_far() -> None:
    with FaultServer() as fake:
        fake.script(
            "/v1/chat/completions",
            calls(("c1", "lookup_price", '{"ticker": "ACME"}'), ("c2", "ghost", "{}")),
            ANSWER,
        )
        chat = nbchat.Chat(
            f"{fake.url}/v1", dialect="openai", model="m", tools=[lookup_price], approve="auto"
        )
        reply = chat.send("price?")
        first, second = (request.json() for request in fake.requests)
    assert reply.text == "Done." and reply.status == "complete"
    assert first["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "lookup_price",
                "description": "Closing price of a ticker.",
                "parameters": lookup_price_schema(),
            },
        }
    ]
    assert first["messages"] == [{"role": "user", "content": "price?"}]
    assert second["tools"] == first["tools"]
    assert second["messages"] == [
        {"role": "user", "content": "price?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup_price", "arguments": '{"ticker": "ACME"}'},
                },
                {"id": "c2", "type": "function", "function": {"name": "ghost", "arguments": "{}"}},
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "101.5"},
        {
            "role": "tool",
            "tool_call_id": "c2",
            "content": "error: no tool named 'ghost'; tools: lookup_price",
        },
    ]


def lookup_price_schema() -> dict[str, Any]:
    return {
        "additionalProperties": False,
        "properties": {"ticker": {"title": "Ticker", "type": "string"}},
        "required": ["ticker"],
        "type": "object",
    }


def test_calls_without_an_id_get_one_so_their_results_can_be_sent() -> None:
    fragment = {"index": 0, "function": {"name": "lookup_price", "arguments": '{"ticker": "A"}'}}
    no_id = Script(body=sse(chunk({"tool_calls": [fragment]}), chunk({}, "tool_calls"), "[DONE]"))
    with FaultServer() as fake:
        fake.script("/v1/chat/completions", no_id, ANSWER)
        chat = nbchat.Chat(
            f"{fake.url}/v1", dialect="openai", model="m", tools=[lookup_price], approve="auto"
        )
        reply = chat.send("price?")
        second = fake.requests[1].json()
    call = reply.tool_calls[0]
    assert call.id is not None and call.id.startswith("call_nbchat_")
    assert (call.status, call.result) == ("done", "101.5")
    assert second["messages"][1]["tool_calls"][0]["id"] == call.id
    assert second["messages"][2] == {"role": "tool", "tool_call_id": call.id, "content": "101.5"}
