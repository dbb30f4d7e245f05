"""Real streams of llama-cpp-python's server (recorded by `tests/peer/record.py`), replayed byte
for byte over loopback to the openai dialect: the real peer's habits, in fast tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import nbchat
from nbchat.events import ToolCallDelta

from .faultserver import FaultServer, Script

RECORDINGS = Path(__file__).parent / "fixtures" / "llama-cpp-python"
PATH = "/v1/chat/completions"


def recording(name: str) -> bytes:
    return (RECORDINGS / name).read_bytes()


def payloads(name: str) -> list[dict[str, Any]]:
    """The JSON chunks of a recorded stream."""
    lines = recording(name).decode().splitlines()
    datas = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
    return [json.loads(data) for data in datas if data != "[DONE]"]


def replay(fault: FaultServer, name: str, *, stream: bool = True) -> nbchat.Reply:
    headers = {"Content-Type": "text/event-stream" if stream else "application/json"}
    fault.script(PATH, Script(200, headers, [recording(name)]))
    chat = nbchat.Chat(f"{fault.url}/v1", dialect="openai", model="gemma-3-270m")
    return chat.send("replayed", stream=stream)


def test_a_streamed_reply_equals_the_whole_one(fault: FaultServer) -> None:
    streamed = replay(fault, "reply.sse")
    whole = replay(fault, "reply.json", stream=False)
    assert streamed.status == whole.status == "complete"
    assert streamed.text and streamed.text == whole.text
    assert streamed.finish_reason == whole.finish_reason
    assert streamed.message_id and streamed.message_id.startswith("chatcmpl-")


def test_no_usage_chunk_when_streaming_but_usage_when_whole(fault: FaultServer) -> None:
    assert all(chunk.get("usage") is None for chunk in payloads("reply.sse"))
    assert recording("reply.sse").rstrip().endswith(b"data: [DONE]")
    assert replay(fault, "reply.sse").usage is None
    usage = replay(fault, "reply.json", stream=False).usage
    assert usage is not None and usage.input_tokens and usage.output_tokens
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_length(fault: FaultServer) -> None:
    reply = replay(fault, "length.sse")
    assert (reply.status, reply.finish_reason) == ("complete", "length")


def test_forced_tool_call_with_name_and_id_in_every_fragment(fault: FaultServer) -> None:
    fragments = [
        call
        for chunk in payloads("tool_call.sse")
        for choice in chunk["choices"]
        for call in (choice.get("delta") or {}).get("tool_calls") or []
    ]
    assert len(fragments) > 1
    # The server's habit: the id and the name come again with every fragment.
    assert len({f["id"] for f in fragments}) == 1
    assert {f["function"]["name"] for f in fragments} == {"get_weather"}
    fault.script(PATH, Script(body=[recording("tool_call.sse")]))
    chat = nbchat.Chat(f"{fault.url}/v1", dialect="openai", model="gemma-3-270m")
    with chat.stream("replayed") as events:
        deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    reply = events.reply
    assert reply.status == "complete"
    assert [call.name for call in reply.tool_calls] == ["get_weather"]
    arguments = "".join(f["function"]["arguments"] for f in fragments)
    assert reply.tool_calls[0].args == json.loads(arguments)
    assert isinstance(reply.tool_calls[0].args.get("city"), str)
    assert reply.tool_calls[0].id == fragments[0]["id"]
    assert [d.arguments for d in deltas][-1] == arguments


@pytest.mark.parametrize("name", ["reply.sse", "length.sse", "tool_call.sse"])
def test_recordings_are_real_chunks(name: str) -> None:
    chunks = payloads(name)
    assert chunks and all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] is not None
