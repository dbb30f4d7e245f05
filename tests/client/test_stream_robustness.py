"""Streams that go wrong after they start: the iterator ends with an Error event, never raises."""

from __future__ import annotations

import json
import time

import pytest

import nbchat
from nbchat.errors import StreamError
from nbchat.events import Error, TextDelta

from .faultserver import Cut, FaultServer, Pause, Script, sse

PATH = "/chat/stream"
HELLO = sse({"type": "text", "content": "Hello"}, {"type": "text", "content": " world"})
DONE = sse({"type": "done", "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}})


def run(server: FaultServer, body: list, *, timeout: float = 5.0) -> nbchat.Reply:
    """Stream one reply from a scripted body and return it (iteration must not raise)."""
    server.script(PATH, Script(body=body))
    chat = nbchat.Chat(server.url, dialect="agents", agent_id="ag_1", timeout=timeout)
    with chat.stream("hi") as events:
        seen = list(events)
    assert seen == events.reply.events
    return events.reply


def test_server_error_event_keeps_partial_text(fault: FaultServer) -> None:
    reply = run(fault, HELLO + sse({"type": "error", "message": "model overloaded"}))
    assert reply.text == "Hello world"
    assert reply.status == "error"
    assert reply.error == Error("server", "model overloaded")


def test_cut_connection(fault: FaultServer) -> None:
    reply = run(fault, [*HELLO, b'data: {"type": "text", "con', Cut()])
    assert reply.text == "Hello world"
    assert reply.status in {"error", "incomplete"}
    assert isinstance(reply.events[-1], Error)


def test_end_of_stream_without_done_is_incomplete(fault: FaultServer) -> None:
    reply = run(fault, HELLO)
    assert (reply.text, reply.status, reply.error.code) == (
        "Hello world",
        "incomplete",
        "incomplete",
    )


def test_malformed_json_ends_the_stream(fault: FaultServer) -> None:
    reply = run(fault, [*HELLO, b"data: {not json\n\n", *DONE])
    assert reply.text == "Hello world"
    assert reply.error.code == "malformed"
    assert not any(e.type == "done" for e in reply.events)


def test_wrong_field_types_are_malformed_not_crashes(fault: FaultServer) -> None:
    reply = run(fault, sse({"type": "text", "content": 42}, "[1, 2]"))
    assert reply.error.code == "malformed"


@pytest.mark.parametrize(
    "noise",
    [
        b"data:\n\n",  # empty data
        b"data: \n\n",
        b": keep-alive\n\n",  # comment
        b'data: {"type": "thinking", "content": "hmm"}\n\n',  # unknown type
        b"event: ping\n\n",  # no data at all
    ],
)
def test_noise_is_skipped(fault: FaultServer, noise: bytes) -> None:
    reply = run(fault, [noise, *HELLO, noise, *DONE])
    assert (reply.text, reply.status) == ("Hello world", "complete")
    assert reply.usage == nbchat.Usage(1, 2, 3)


def test_crlf_line_endings(fault: FaultServer) -> None:
    body = [chunk.replace(b"\n", b"\r\n") for chunk in HELLO + DONE]
    assert run(fault, body).text == "Hello world"


def test_leading_byte_order_mark(fault: FaultServer) -> None:
    body = [b"\xef\xbb\xbf" + HELLO[0], *HELLO[1:], *DONE]
    reply = run(fault, body)
    assert (reply.text, reply.status) == ("Hello world", "complete")


def test_multibyte_characters_split_across_chunks(fault: FaultServer) -> None:
    raw = 'data: {"type": "text", "content": "héllo 🌍 世界"}\n\n'.encode()
    cut_inside_emoji = raw.index("🌍".encode()) + 2
    body = [raw[:cut_inside_emoji], Pause(0.05), raw[cut_inside_emoji:], *DONE]
    assert run(fault, body).text == "héllo 🌍 世界"


def test_one_megabyte_event(fault: FaultServer) -> None:
    big = "x" * 1_000_000
    payload = json.dumps({"type": "text", "content": big}).encode()
    body = [b"data: " + payload[:400_000], payload[400_000:] + b"\n\n", *DONE]
    reply = run(fault, body)
    assert len(reply.text) == 1_000_000
    assert reply.status == "complete"


def test_silence_past_the_timeout(fault: FaultServer) -> None:
    reply = run(fault, [*HELLO, Pause(3)], timeout=0.5)
    assert reply.text == "Hello world"
    assert reply.error.code == "timeout"


def test_keep_alive_comments_alone_do_not_keep_a_stream_alive(fault: FaultServer) -> None:
    pings = [step for _ in range(40) for step in (b": ping\n\n", Pause(0.05))]
    reply = run(fault, [*HELLO, *pings, *DONE], timeout=0.5)
    assert reply.text == "Hello world"
    assert reply.error == Error("timeout", "no event for 0.5 s")


def test_slow_but_steady_events_are_not_a_timeout(fault: FaultServer) -> None:
    steady = [
        step for _ in range(8) for step in (Pause(0.1), *sse({"type": "text", "content": "."}))
    ]
    reply = run(fault, [*steady, *DONE], timeout=0.5)
    assert (reply.text, reply.status) == ("........", "complete")


def test_a_slow_reader_is_not_a_silent_server(fault: FaultServer) -> None:
    """The timeout measures the server's silence: time the reader spends on the events it
    already has does not count, even when the next bytes are waiting when it comes back."""
    steady = [
        step for _ in range(3) for step in (*sse({"type": "text", "content": "."}), Pause(0.05))
    ]
    fault.script(PATH, Script(body=[*steady, *DONE]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", timeout=0.3)
    with chat.stream("hi") as events:
        for _ in events:
            time.sleep(0.5)  # longer than the timeout, on every event
    assert (events.reply.text, events.reply.status) == ("...", "complete")


def test_events_after_done_are_not_read(fault: FaultServer) -> None:
    reply = run(fault, HELLO + DONE + sse({"type": "text", "content": "late"}))
    assert reply.text == "Hello world"
    assert [type(e) for e in reply.events][-1] is nbchat.Done


def test_send_raises_stream_error_with_the_partial_reply(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=HELLO + sse({"type": "error", "message": "boom"})))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    with pytest.raises(StreamError) as caught:
        chat.send("hi")
    assert caught.value.reply.text == "Hello world"
    assert "boom" in str(caught.value)
    assert chat.history[-1].reply is caught.value.reply


def test_a_non_sse_answer_is_malformed(fault: FaultServer) -> None:
    fault.script(PATH, Script(200, {"Content-Type": "text/html"}, [b"<html>login</html>"]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    with chat.stream("hi") as events:
        assert [e.type for e in events] == ["error"]
    assert events.reply.error.code == "malformed"
    assert "text/html" in events.reply.error.message and "login" in events.reply.error.message
    assert isinstance(events.reply.events[0], Error)
    assert not isinstance(events.reply.events[0], TextDelta)


@pytest.mark.parametrize("dialect", ["agents", "openai"])
def test_a_json_error_answered_to_a_stream_keeps_the_servers_words(
    fault: FaultServer, dialect: str
) -> None:
    # Some servers answer a streaming request with status 200 and a JSON error body.
    body = b'{"error": {"message": "quota gone", "type": "insufficient_quota"}}'
    path = PATH if dialect == "agents" else "/v1/chat/completions"
    fault.script(path, Script(200, {"Content-Type": "application/json"}, [body]))
    if dialect == "agents":
        chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    else:
        chat = nbchat.Chat(f"{fault.url}/v1", dialect="openai", model="m")
    with pytest.raises(StreamError, match="quota gone") as caught:
        chat.send("hi")
    assert caught.value.reply.error.code == "server"


async def test_a_json_error_answered_to_an_async_stream(fault: FaultServer) -> None:
    body = b'{"message": "quota gone"}'
    fault.script(PATH, Script(200, {"Content-Type": "application/json"}, [body]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    with pytest.raises(StreamError, match="quota gone"):
        await chat.asend("hi")


def test_a_lone_surrogate_in_a_message_goes_as_a_replacement_character(
    fault: FaultServer,
) -> None:
    # A string read with errors="surrogateescape" holds lone UTF-16 halves: UTF-8 has none.
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    fault.script(PATH, Script(body=sse({"type": "text", "content": "ok"}, {"type": "done"})))
    assert chat.send("a\udcffb").text == "ok"
    assert fault.requests[-1].json()["message"] == "a\ufffdb"
    assert chat.history[-1].user == "a\ufffdb"


def raw_sse(*payloads: str) -> list[bytes | Pause | Cut]:
    """`data:` events written exactly as given (escapes and all), UTF-8 encoded."""
    return [f"data: {payload}\n\n".encode() for payload in payloads]


def text_payload(json_string: str) -> str:
    return '{"type": "text", "content": "' + json_string + '"}'


def test_surrogate_halves_split_across_payloads_join(fault: FaultServer) -> None:
    # Legal JSON: a server that cuts UTF-16 text between the halves of 🚀 (U+1F680).
    body = raw_sse(text_payload("to the moon \\ud83d"), text_payload("\\ude80 now"))
    reply = run(fault, [*HELLO, *body, *DONE])
    assert (reply.text, reply.status) == ("Hello worldto the moon 🚀 now", "complete")
    reply.text.encode("utf-8")  # a real character, not two halves


def test_surrogate_halves_in_their_own_payloads(fault: FaultServer) -> None:
    body = raw_sse(text_payload("\\ud83d"), text_payload("\\ude80"), text_payload("\\ud83c"))
    body += raw_sse(text_payload("\\udf0d!"))
    reply = run(fault, [*body, *DONE])
    assert (reply.text, reply.status) == ("🚀🌍!", "complete")


@pytest.mark.parametrize(
    ("parts", "text"),
    [
        (["a\\ud83d", "b"], "a\ufffdb"),  # a first half followed by no second half
        (["a", "\\ude80b"], "a\ufffdb"),  # a second half with no first half
        (["a\\ud83db"], "a\ufffdb"),  # a lone half inside one payload
        (["end \\ud83d"], "end \ufffd"),  # the stream finishes while a half waits
    ],
)
def test_lone_surrogate_halves_become_replacement_characters(
    fault: FaultServer, parts: list[str], text: str
) -> None:
    reply = run(fault, [*raw_sse(*(text_payload(p) for p in parts)), *DONE])
    assert (reply.text, reply.status) == (text, "complete")


def test_lone_surrogate_halves_outside_text_are_replaced(fault: FaultServer) -> None:
    call = '{"type": "tool_call", "name": "look\\ud83d", "args": {"q\\ude80": ["x\\ud83d"]}}'
    reply = run(fault, [*raw_sse(call), *DONE])
    assert reply.status == "complete"
    assert (reply.tool_calls[0].name, reply.tool_calls[0].args) == (
        "look\ufffd",
        {"q\ufffd": ["x\ufffd"]},
    )


def test_nan_is_still_malformed(fault: FaultServer) -> None:
    reply = run(fault, [*HELLO, *raw_sse('{"type": "text", "content": "\\u00e9", "n": NaN}')])
    assert (reply.text, reply.error.code) == ("Hello world", "malformed")


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_unicode_line_separators_inside_data_stay_text(fault: FaultServer, separator: str) -> None:
    # SSE splits lines on CR and LF only; Python's str.splitlines also splits on these.
    payload = json.dumps({"type": "text", "content": f"one{separator}two"}, ensure_ascii=False)
    reply = run(fault, [*raw_sse(payload), *DONE])
    assert (reply.text, reply.status) == (f"one{separator}two", "complete")
