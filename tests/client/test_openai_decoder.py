"""The openai dialect's decoding, on hand-made payloads for the cases servers differ in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nbchat.dialects import MalformedPayload
from nbchat.dialects.openai import OpenAIDecoder, conversation_messages, parse_completion
from nbchat.events import (
    Done,
    Error,
    Event,
    ReasoningDelta,
    Reply,
    Source,
    Start,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    Usage,
)
from nbchat.turn import Turn


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps(
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": choices, **extra}
    )


def decode(*payloads: str, end: bool = False) -> list[Event]:
    decoder = OpenAIDecoder()
    events = [event for payload in payloads for event in decoder.decode(payload)]
    return events + (decoder.end() if end else [])


def test_content_usage_and_done() -> None:
    events = decode(
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}),
        "[DONE]",
    )
    assert events == [
        Start("chatcmpl-1"),
        TextDelta("Hel"),
        TextDelta("lo"),
        Done("chatcmpl-1", Usage(3, 2, 5), "stop"),
    ]


def test_bytes_after_done_are_ignored() -> None:
    decoder = OpenAIDecoder()
    decoder.decode(chunk({"content": "a"}, "stop"))
    assert isinstance(decoder.decode("[DONE]")[-1], Done)
    assert decoder.decode(chunk({"content": "late"})) == []
    assert decoder.decode("not json at all") == []


def test_no_usage_chunk_means_no_usage() -> None:
    done = decode(chunk({"content": "a"}), chunk({}, "length"), "[DONE]")[-1]
    assert done == Done("chatcmpl-1", None, "length")


def test_usage_on_the_finishing_chunk_counts() -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    done = decode(chunk({"content": "a"}, "stop", usage=usage), "[DONE]")[-1]
    assert isinstance(done, Done) and done.usage == Usage(1, 1, 2)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_reasoning_fields(field: str) -> None:
    events = decode(chunk({field: "hmm"}), chunk({"content": "yes"}), chunk({}, "stop"), "[DONE]")
    assert events[1:3] == [ReasoningDelta("hmm"), TextDelta("yes")]


def test_tool_call_fragments_merge_by_index() -> None:
    head = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": ""},
    }
    events = decode(
        chunk({"tool_calls": [head]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}),
        chunk({}, "tool_calls"),
        "[DONE]",
    )
    assert events[1:] == [
        ToolCallDelta("call_1", "add", ""),
        ToolCallDelta("call_1", "add", '{"a": '),
        ToolCallDelta("call_1", "add", '{"a": 1}'),
        ToolCall("add", {"a": 1}, "call_1"),
        Done("chatcmpl-1", None, "tool_calls"),
    ]


def test_parallel_calls_by_index() -> None:
    def fragment(index: int, **function: str) -> dict[str, Any]:
        call: dict[str, Any] = {"index": index, "function": function}
        if "name" in function:
            call["id"] = f"call_{index}"
        return call

    events = decode(
        chunk({"tool_calls": [fragment(0, name="a", arguments='{"x"'), fragment(1, name="b")]}),
        chunk({"tool_calls": [fragment(1, arguments='{"y": 2}'), fragment(0, arguments=": 1}")]}),
        chunk({}, "tool_calls"),
    )
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [ToolCall("a", {"x": 1}, "call_0"), ToolCall("b", {"y": 2}, "call_1")]


def test_name_and_id_repeated_in_every_fragment() -> None:
    """llama-cpp-python's habit: each fragment repeats the name and id."""

    def fragment(arguments: str) -> str:
        call = {"index": 0, "id": "call_x", "function": {"name": "f", "arguments": arguments}}
        return chunk({"tool_calls": [call]})

    events = decode(fragment('{"q": '), fragment('"hi"}'), chunk({}, "tool_calls"), "[DONE]")
    assert [e for e in events if isinstance(e, ToolCall)] == [ToolCall("f", {"q": "hi"}, "call_x")]
    assert events[2] == ToolCallDelta("call_x", "f", '{"q": "hi"}')


def test_calls_told_apart_by_id_when_index_is_missing_or_repeated() -> None:
    def fragment(**call: Any) -> str:
        return chunk({"tool_calls": [call]})

    events = decode(
        fragment(id="c1", function={"name": "a", "arguments": "{"}),  # no index
        fragment(function={"arguments": "}"}),  # neither index nor id: the latest call
        fragment(index=0, id="c2", function={"name": "b", "arguments": "[1]"}),
        fragment(index=0, id="c1", function={"arguments": ""}),  # back to c1, by id
        chunk({}, "tool_calls"),
    )
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [ToolCall("a", {}, "c1"), ToolCall("b", [1], "c2")]


def test_arguments_that_are_not_json_are_kept_as_text() -> None:
    call = {"index": 0, "id": "c", "function": {"name": "f", "arguments": "{broken"}}
    events = decode(chunk({"tool_calls": [call]}), chunk({}, "tool_calls"))
    assert events[-1] == ToolCall("f", "{broken", "c")


def test_arguments_sent_as_an_object_are_kept() -> None:
    call = {"index": 0, "id": "c", "function": {"name": "f", "arguments": {"a": [1, 2]}}}
    events = decode(chunk({"tool_calls": [call]}), chunk({}, "tool_calls"))
    assert events[-2:] == [
        ToolCallDelta("c", "f", '{"a": [1, 2]}'),
        ToolCall("f", {"a": [1, 2]}, "c"),
    ]
    whole = {"choices": [{"message": {"tool_calls": [{"id": "c", "function": call["function"]}]}}]}
    assert parse_completion(whole).tool_calls[0].args == {"a": [1, 2]}


def test_error_object_mid_stream_ends_the_reply() -> None:
    error = {"message": "overloaded", "type": "server_error", "code": "busy"}
    decoder = OpenAIDecoder()
    events = [
        *decoder.decode(chunk({"content": "part"})),
        *decoder.decode(json.dumps({"error": error})),
    ]
    assert events[-1] == Error("busy", "overloaded")
    assert decoder.finished
    reply = Reply()
    for event in events:
        reply.add(event)
    assert (reply.text, reply.status) == ("part", "error")


def test_finish_without_done_completes_at_the_end_of_the_stream() -> None:
    events = decode(chunk({"content": "a"}), chunk({}, "stop"), end=True)
    assert events[-1] == Done("chatcmpl-1", None, "stop")
    assert decode(chunk({"content": "a"}), end=True)[-1] == TextDelta("a")  # not finished


@pytest.mark.parametrize(
    "payload",
    ['{"choices": 3}', '{"choices": [{"index": 0, "delta": "x"}]}', chunk({"content": 5}), "[1]"],
)
def test_malformed_payloads(payload: str) -> None:
    with pytest.raises(MalformedPayload):
        OpenAIDecoder().decode(payload)


def test_parse_completion() -> None:
    body = {
        "id": "chatcmpl-9",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Sure.",
                    "reasoning_content": "think",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }
    reply = parse_completion(body)
    assert (reply.text, reply.reasoning, reply.finish_reason) == ("Sure.", "think", "tool_calls")
    assert reply.usage == Usage(5, 7, 12)
    assert [(c.name, c.args, c.id) for c in reply.tool_calls] == [("f", {"a": 1}, "c")]
    assert reply.message_id == "chatcmpl-9" and reply.status == "complete"
    with pytest.raises(MalformedPayload):
        parse_completion({"choices": []})


def reply_of(*events: Event) -> Reply:
    reply = Reply()
    for event in events:
        reply.add(event)
    return reply


def test_conversation_messages_carry_history_and_tools() -> None:
    first = reply_of(TextDelta("Hi "), TextDelta("there"), Done())
    second = reply_of(
        ReasoningDelta("not sent back"),
        TextDelta("Let me look."),
        ToolCall("lookup", {"q": "x"}, "c1"),
        ToolCall("never_answered", {}, "c2"),
        ToolResult("lookup", {"found": True}, "c1"),
        TextDelta("Found it."),
        Done(),
    )
    history = [Turn("hello", first), Turn("find x", second), Turn("thanks")]
    messages = conversation_messages("Be terse.", history)
    assert messages == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hi there"},
        {"role": "user", "content": "find x"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q": "x"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": '{"found": true}'},
        {"role": "assistant", "content": "Found it."},
        {"role": "user", "content": "thanks"},
    ]


def test_citations_become_sources_openai_and_perplexity_shapes() -> None:
    jupyter = {
        "type": "url_citation",
        "url_citation": {"url": "https://jupyter.org/", "title": "Jupyter"},
    }
    perplexity = {
        "citations": ["https://jupyter.org/", "https://ipython.org/"],
        "search_results": [{"title": "IPython", "url": "https://ipython.org/"}],
    }
    events = decode(
        chunk({"role": "assistant", "content": ""}, **perplexity),
        chunk({"content": "See Jupyter."}, **perplexity),  # every chunk repeats them
        chunk({"content": "", "annotations": [jupyter, {"type": "file_citation"}]}),
        chunk({}, "stop", citations="not a list"),
        "[DONE]",
    )
    done = events[-1]
    assert isinstance(done, Done)
    assert done.sources == (
        Source("https://jupyter.org/", "Jupyter"),
        Source("https://ipython.org/", "IPython"),
    )
    reply = Reply()
    for event in events:
        reply.add(event)
    assert [s.url for s in reply.sources] == ["https://jupyter.org/", "https://ipython.org/"]


def test_a_whole_answer_with_citations() -> None:
    body = {
        "id": "c1",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "Jupyter.",
                    "annotations": [
                        {"type": "url_citation", "url_citation": {"url": "https://jupyter.org/"}}
                    ],
                },
            }
        ],
        "citations": ["https://ipython.org/"],
    }
    assert parse_completion(body).sources == [
        Source("https://ipython.org/", None),
        Source("https://jupyter.org/", None),
    ]
