"""The agents format end to end over loopback: stream, send, sessions, usage."""

from __future__ import annotations

import httpx

from .helpers import agent_stream, text_of


def test_stream_ends_with_done_and_usage(server_url: str) -> None:
    payloads = agent_stream(server_url, "/echo one two three")
    assert payloads == [
        {"type": "text", "content": "one "},
        {"type": "text", "content": "two "},
        {"type": "text", "content": "three"},
        {"type": "done", "usage": {"input_tokens": 4, "output_tokens": 3, "total_tokens": 7}},
    ]


def test_fail_streams_text_then_an_error(server_url: str) -> None:
    payloads = agent_stream(server_url, "/fail")
    assert text_of(payloads) == "This reply will stop part way"
    assert payloads[-1] == {"type": "error", "message": "the demo model failed on purpose (/fail)"}


def test_a_session_remembers_and_counts_its_history_as_input(server_url: str) -> None:
    first = agent_stream(server_url, "/echo alpha beta", session_id="sess-memory")
    second = agent_stream(server_url, "and now?", session_id="sess-memory")
    assert 'Before this you said: "/echo alpha beta"' in text_of(second)
    assert text_of(second).startswith("**Turn 2.**")
    # input = this prompt (2 words) + the earlier exchange (3 + 2 words)
    assert second[-1]["usage"]["input_tokens"] == 2 + 3 + 2
    assert first[-1]["usage"]["input_tokens"] == 3


def test_without_a_session_each_message_stands_alone(server_url: str) -> None:
    agent_stream(server_url, "remember me")
    assert text_of(agent_stream(server_url, "remember me")).startswith("**Turn 1.**")


def test_send_message_returns_response_session_usage_and_tool_calls(server_url: str) -> None:
    response = httpx.post(
        f"{server_url}/chat", json={"agent_id": "ag_demo", "message": "calculate 2+3*4"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"response", "session_id", "usage", "tool_calls"}
    assert body["response"] == text_of(agent_stream(server_url, "calculate 2+3*4"))
    assert body["tool_calls"] == [
        {"name": "calculator", "args": {"expression": "2+3*4"}, "result": "14"}
    ]
    usage = body["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    follow_up = httpx.post(
        f"{server_url}/chat",
        json={"agent_id": "ag_demo", "message": "thanks", "session_id": body["session_id"]},
    ).json()
    assert follow_up["session_id"] == body["session_id"]
    assert follow_up["response"].startswith("**Turn 2.**")


def test_streamed_and_sent_sessions_share_memory(server_url: str) -> None:
    agent_stream(server_url, "/echo first", session_id="sess-shared")
    body = httpx.post(
        f"{server_url}/chat",
        json={"agent_id": "ag_demo", "message": "second", "session_id": "sess-shared"},
    ).json()
    assert 'Before this you said: "/echo first"' in body["response"]
