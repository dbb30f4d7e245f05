"""The chats wire format: exact requests, session cookies, both endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbchat
from nbchat.errors import ConfigurationError

from .faultserver import FaultServer, Script, sse

CHAT_ID = "550e8400-e29b-41d4-a716-446655440000"
STREAM_PATH = f"/api/chats/{CHAT_ID}/messages/stream"
SPEC_EVENTS = sse(
    {"type": "start", "messageId": "msg-uuid-1"},
    {"type": "content", "delta": "Quantum"},
    {"type": "content", "delta": " computing"},
    {"type": "content", "delta": " is a type of computation"},
    {"type": "end", "messageId": "msg-uuid-1"},
)


def chat_for(server: FaultServer, **kwargs: object) -> nbchat.Chat:
    options = {"chat_id": CHAT_ID, "model": "gpt-4", "user_id": "user-123", **kwargs}
    return nbchat.Chat(server.url, dialect="chats", **options)  # type: ignore[arg-type]


def test_stream_sends_the_spec_request_and_reads_the_spec_events(fault: FaultServer) -> None:
    fault.script(STREAM_PATH, Script(body=SPEC_EVENTS))
    reply = chat_for(fault, cookies={"session": "s3cr3t"}).send("Explain quantum computing")

    sent = fault.requests[0]
    assert (sent.method, sent.path) == ("POST", STREAM_PATH)
    assert sent.json() == {
        "content": "Explain quantum computing",
        "modelId": "gpt-4",
        "userId": "user-123",
    }
    assert sent.headers["Accept"] == "text/event-stream"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Cookie"] == "session=s3cr3t"
    assert reply.text == "Quantum computing is a type of computation"
    assert reply.message_id == "msg-uuid-1"
    assert reply.status == "complete"
    assert [e.type for e in reply.events] == ["start", "text", "text", "text", "done"]


def test_workflow_id_is_sent_only_when_set(fault: FaultServer) -> None:
    fault.script(STREAM_PATH, Script(body=SPEC_EVENTS))
    chat_for(fault, workflow_id="wf-1").send("hi")
    assert fault.requests[0].json()["workflowId"] == "wf-1"


def test_tool_events_are_normalized_and_paired(fault: FaultServer) -> None:
    fault.script(
        STREAM_PATH,
        Script(
            body=sse(
                {"type": "start", "messageId": "m1"},
                {"type": "tool_call", "toolName": "calculator", "toolArgs": {"expression": "6*7"}},
                {"type": "tool_result", "toolName": "calculator", "result": "42"},
                {"type": "content", "delta": "It is 42."},
                {"type": "end", "messageId": "m1"},
            )
        ),
    )
    reply = chat_for(fault).send("what is 6*7?")
    (call,) = reply.tool_calls
    assert (call.name, call.args, call.result, call.done) == (
        "calculator",
        {"expression": "6*7"},
        "42",
        True,
    )
    assert [e.type for e in reply.events] == ["start", "tool_call", "tool_result", "text", "done"]


def test_non_streaming_endpoint_returns_the_assistant_reply(fault: FaultServer) -> None:
    body = (
        b'{"data": {"id": "msg-uuid-1", "chatId": "' + CHAT_ID.encode() + b'", "role": "user",'
        b' "content": "How can I automate my research workflow?",'
        b' "createdAt": "2024-02-04T12:00:00.000Z",'
        b' "response": {"id": "msg-uuid-2", "chatId": "' + CHAT_ID.encode() + b'",'
        b' "role": "assistant", "content": "I can help you automate your research workflow...",'
        b' "createdAt": "2024-02-04T12:00:05.000Z"}}}'
    )
    fault.script(
        f"/api/chats/{CHAT_ID}/messages",
        Script(201, {"Content-Type": "application/json"}, [body]),
    )
    reply = chat_for(fault).send("How can I automate my research workflow?", stream=False)

    sent = fault.requests[0]
    assert sent.headers["Accept"] == "application/json"
    assert sent.json()["content"] == "How can I automate my research workflow?"
    assert reply.text == "I can help you automate your research workflow..."
    assert reply.message_id == "msg-uuid-2"
    assert reply.user_message_id == "msg-uuid-1"
    assert reply.created_at == "2024-02-04T12:00:05.000Z"
    assert reply.status == "complete"


def test_a_chat_is_created_when_no_chat_id_is_given(fault: FaultServer) -> None:
    fault.script(
        "/api/chats",
        Script(
            201,
            {"Content-Type": "application/json"},
            [b'{"data": {"id": "' + CHAT_ID.encode() + b'"}}'],
        ),
    )
    fault.script(STREAM_PATH, Script(body=SPEC_EVENTS))
    chat = chat_for(fault, chat_id=None)
    chat.send("one")
    chat.send("two")
    assert [r.path for r in fault.requests] == ["/api/chats", STREAM_PATH, STREAM_PATH]
    assert fault.requests[0].json() == {"userId": "user-123"}
    assert chat.target.chat_id == CHAT_ID


COOKIES_TXT = """# Netscape HTTP Cookie File
# https://curl.se/docs/http-cookies.html
127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tfrom-file
#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tcsrf\thttponly-value
other.example\tFALSE\t/\tFALSE\t0\tforeign\tnot-for-us
"""


def test_cookies_file_as_curl_reads_it(fault: FaultServer, tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(COOKIES_TXT)
    fault.script(STREAM_PATH, Script(body=SPEC_EVENTS))
    chat_for(fault, cookies=cookies).send("hi")
    sent = dict(part.split("=", 1) for part in fault.requests[0].headers["Cookie"].split("; "))
    assert sent == {"session": "from-file", "csrf": "httponly-value"}


def test_cookies_file_without_the_magic_line(fault: FaultServer, tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(COOKIES_TXT.split("\n", 2)[2])
    fault.script(STREAM_PATH, Script(body=SPEC_EVENTS))
    chat_for(fault, cookies=str(cookies)).send("hi")
    assert "session=from-file" in fault.requests[0].headers["Cookie"]


def test_a_broken_cookies_file_is_a_clear_error_without_its_values(tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text("127.0.0.1\tFALSE\t/\tsession\tVERY-SECRET-VALUE\n")
    with pytest.raises(ConfigurationError) as caught:
        nbchat.Chat("http://127.0.0.1:1", model="m", user_id="u", cookies=cookies).send("hi")
    assert "VERY-SECRET-VALUE" not in str(caught.value)
    assert "cookies.txt" in str(caught.value)


def test_missing_target_fields_are_configuration_errors() -> None:
    chat = nbchat.Chat("http://127.0.0.1:1", dialect="chats", user_id="u")
    with pytest.raises(ConfigurationError, match="model"):
        chat.send("hi")
    with pytest.raises(ConfigurationError, match="dialect"):
        nbchat.Chat("http://127.0.0.1:1", dialect="smoke-signals")


def test_a_whole_answer_with_lone_surrogate_halves_is_still_text(fault: FaultServer) -> None:
    response = '{"id": "m2", "content": "rocket \\ud83d\\ude80, half \\ud83d, other half \\ude80"}'
    body = f'{{"data": {{"id": "m1", "response": {response}}}}}'.encode()
    fault.script(
        f"/api/chats/{CHAT_ID}/messages",
        Script(201, {"Content-Type": "application/json"}, [body]),
    )
    reply = chat_for(fault).send("hi", stream=False)
    assert reply.text == "rocket 🚀, half \ufffd, other half \ufffd"
    reply.text.encode("utf-8")
