"""The agents wire format: bearer token, session memory, usage."""

from __future__ import annotations

import pytest

import nbchat

from .faultserver import FaultServer, Script, sse

PATH = "/chat/stream"
SPEC_EVENTS = sse(
    {"type": "text", "content": "Machine learning is"},
    {"type": "text", "content": " a subset of artificial intelligence"},
    {"type": "tool_call", "name": "web_search", "args": {"query": "ML applications 2026"}},
    {"type": "tool_result", "name": "web_search", "result": "..."},
    {"type": "text", "content": " from data."},
    {"type": "done", "usage": {"input_tokens": 50, "output_tokens": 120, "total_tokens": 170}},
)


def test_spec_request_and_events(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=SPEC_EVENTS))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_c47e7c97_b2f2", token="tok-1")
    reply = chat.send("Hello")

    sent = fault.requests[0]
    assert sent.headers["Authorization"] == "Bearer tok-1"
    assert sent.headers["Content-Type"] == "application/json"
    body = sent.json()
    assert body["agent_id"] == "ag_c47e7c97_b2f2"
    assert body["message"] == "Hello"
    assert reply.text == "Machine learning is a subset of artificial intelligence from data."
    assert reply.usage == nbchat.Usage(50, 120, 170)
    assert reply.tool_calls[0].name == "web_search"
    assert reply.tool_calls[0].result == "..."


def test_token_from_the_environment(fault: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBCHAT_TOKEN", "env-token")
    fault.script(PATH, Script(body=SPEC_EVENTS))
    nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1").send("Hello")
    assert fault.requests[0].headers["Authorization"] == "Bearer env-token"


def test_session_id_is_kept_across_turns_and_renewed_by_new(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=SPEC_EVENTS))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    chat.send("one")
    chat.send("two")
    chat.new()
    chat.send("three")
    sessions = [r.json()["session_id"] for r in fault.requests]
    assert sessions[0] == sessions[1]
    assert sessions[0].startswith("sess_")
    assert sessions[2] != sessions[0]
    assert len(chat.history) == 1


def test_a_given_session_id_is_sent(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=SPEC_EVENTS))
    nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", session_id="s-42").send("hi")
    assert fault.requests[0].json()["session_id"] == "s-42"


def test_send_message_is_the_non_streaming_twin(fault: FaultServer) -> None:
    answer = (
        b'{"response": "It is 42.", "session_id": "s-1",'
        b' "usage": {"input_tokens": 3, "output_tokens": 3, "total_tokens": 6},'
        b' "tool_calls": [{"name": "calculator", "args": {"expression": "6*7"}, "result": "42"}]}'
    )
    fault.script("/chat", Script(200, {"Content-Type": "application/json"}, [answer]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", session_id="s-1")
    reply = chat.send("what is 6*7?", stream=False)

    sent = fault.requests[0]
    assert sent.path == "/chat"
    assert sent.headers["Accept"] == "application/json"
    assert sent.json() == {"agent_id": "ag_1", "message": "what is 6*7?", "session_id": "s-1"}
    assert (reply.text, reply.status) == ("It is 42.", "complete")
    assert reply.usage == nbchat.Usage(3, 3, 6)
    assert [(c.name, c.result, c.done) for c in reply.tool_calls] == [("calculator", "42", True)]


def test_a_send_message_answer_without_text_is_a_typed_error(fault: FaultServer) -> None:
    fault.script("/chat", Script(200, {"Content-Type": "application/json"}, [b'{"oops": 1}']))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    with pytest.raises(nbchat.errors.NbchatError, match="no response text"):
        chat.send("hi", stream=False)
    assert chat.history[-1].reply.status == "error"
