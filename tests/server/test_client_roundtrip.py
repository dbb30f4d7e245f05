"""The core client (`nbchat.Chat`) against the reference server, over loopback, every dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

import nbchat
from nbchat.errors import (
    AuthenticationError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    StreamError,
)
from nbchat.events import Done, Start, TextDelta, ToolCall, ToolResult
from nbchat.server import ServerHandle, start_server

from .helpers import assert_generation_stopped, new_chat, stop_after_five


def chats(url: str, **kwargs: Any) -> nbchat.Chat:
    return nbchat.Chat(url, dialect="chats", **{"model": "gpt-4", "user_id": "user-1", **kwargs})


def agents(url: str, **kwargs: Any) -> nbchat.Chat:
    return nbchat.Chat(url, dialect="agents", **{"agent_id": "ag_demo", **kwargs})


def test_chats_round_trip_creates_a_chat_and_matches_the_server(server: ServerHandle) -> None:
    with chats(server.url) as chat:
        reply = chat.send("Explain quantum computing")
        chat_id = chat.target.chat_id
    assert reply.status == "complete"
    assert reply.text.startswith('**Turn 1.** You said: "Explain quantum computing".')
    stored = server.store.chats[chat_id].messages
    assert [m.role for m in stored] == ["user", "assistant"]
    assert (reply.message_id, reply.text) == (stored[1].id, stored[1].content)
    assert isinstance(reply.events[0], Start) and isinstance(reply.events[-1], Done)


def test_chats_multi_turn_and_tool_calls(server_url: str) -> None:
    with chats(server_url) as chat:
        chat.send("/echo first")
        reply = chat.send("calculate 2+3*4")
        remembered = chat.send("and?")
    [call] = reply.tool_calls
    assert (call.name, call.args, call.result, call.done) == (
        "calculator",
        {"expression": "2+3*4"},
        "14",
        True,
    )
    kinds = [type(event) for event in reply.events]
    assert kinds.index(ToolCall) + 1 == kinds.index(ToolResult)
    assert reply.text.endswith("**14**.")
    assert remembered.text.startswith("**Turn 3.**")
    assert 'Before this you said: "calculate 2+3*4"' in remembered.text
    assert [turn.user for turn in chat.history] == ["/echo first", "calculate 2+3*4", "and?"]


def test_chats_non_streaming_send(server_url: str) -> None:
    with chats(server_url, chat_id=new_chat(server_url)) as chat:
        reply = chat.send("/echo whole reply", stream=False)
    assert (reply.status, reply.text) == ("complete", "whole reply")
    assert reply.message_id and reply.user_message_id and reply.created_at


def test_stream_yields_normalized_events_as_they_arrive(server_url: str) -> None:
    with chats(server_url) as chat, chat.stream("/stream 5 3") as events:
        received = list(events)
    assert [type(e) for e in received] == [Start, *[TextDelta] * 5, Done]
    assert events.reply.text == "aaabbbcccdddeee"


def test_agents_round_trip_with_usage_and_session_memory(server: ServerHandle) -> None:
    with agents(server.url) as chat:
        first = chat.send("/echo one two")
        second = chat.send("remember?")
        session_id = chat.target.session_id
    assert first.text == "one two"
    usage = first.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (3, 2, 5)
    assert 'Before this you said: "/echo one two"' in second.text
    assert [t.user for t in server.store.sessions[session_id]] == ["/echo one two", "remember?"]


async def test_async_round_trip(server_url: str) -> None:
    with agents(server_url) as chat:
        reply = await chat.asend("what is 6*7?")
    assert reply.tool_calls[0].result == "42"
    assert reply.status == "complete"


def test_mid_stream_failure_raises_with_the_partial_reply(server_url: str) -> None:
    for chat in (chats(server_url), agents(server_url)):
        with chat, pytest.raises(StreamError) as caught:
            chat.send("/fail")
        reply = caught.value.reply
        assert (reply.status, reply.text) == ("error", "This reply will stop part way")
        assert "failed on purpose" in reply.error.message


def test_documented_errors_become_typed_exceptions(server_url: str) -> None:
    with pytest.raises(PaymentRequiredError) as broke:
        agents(server_url, agent_id="ag_broke").send("hi")
    assert broke.value.status_code == 402 and "insufficient balance" in broke.value.message
    with pytest.raises(NotFoundError):
        agents(server_url, agent_id="ag_missing").send("hi")
    with pytest.raises(NotFoundError):
        chats(server_url, chat_id="00000000-0000-4000-8000-000000000000").send("hi")
    someone_else = new_chat(server_url, user="alice")
    with pytest.raises(PermissionDeniedError):
        chats(server_url, chat_id=someone_else).send("hi")


def test_token_auth_by_bearer_and_by_cookies_txt(tmp_path: Path) -> None:
    token = "tok-roundtrip"
    cookies_txt = tmp_path / "cookies.txt"
    line = "\t".join(["127.0.0.1", "FALSE", "/", "FALSE", "0", "session", token])
    cookies_txt.write_text(f"# Netscape HTTP Cookie File\n{line}\n")
    with start_server(token=token) as srv:
        with pytest.raises(AuthenticationError) as refused:
            chats(srv.url).send("hi")
        assert token not in str(refused.value)
        assert agents(srv.url, token=token).send("/echo bearer").text == "bearer"
        assert chats(srv.url, cookies=str(cookies_txt)).send("/echo cookie").text == "cookie"


def test_rate_limit_becomes_rate_limit_error_with_retry_after() -> None:
    with start_server(rate_limit=1, rate_window=30) as srv:
        agents(srv.url).send("/echo ok")
        with pytest.raises(RateLimitError) as limited:
            agents(srv.url, max_retries=0).send("/echo again")
    assert limited.value.retry_after == 30


def test_client_stop_closes_the_response_and_the_server_stops_generating() -> None:
    with start_server() as srv, chats(srv.url) as chat:
        stop_after_five(chat)
        assert_generation_stopped(srv.store.stats)
        # the conversation goes on after a stop
        assert chat.send("/echo still here").text == "still here"
        assert httpx.get(f"{srv.url}/api/chats/{chat.target.chat_id}/messages").status_code == 200
