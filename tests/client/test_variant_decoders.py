"""The chats and agents decoders on the variant vocabularies their real servers send."""

from __future__ import annotations

import json
from typing import Any

from nbchat.dialects.agents import AgentsDecoder
from nbchat.dialects.base import sources
from nbchat.dialects.chats import ChatsDecoder
from nbchat.events import Done, Error, Event, Source, TextDelta, Usage


def decode(decoder: ChatsDecoder | AgentsDecoder, *payloads: dict[str, Any]) -> list[Event]:
    return [e for p in payloads for e in decoder.decode(json.dumps(p), "message")]


def test_chats_tokens_then_complete() -> None:
    events = decode(
        ChatsDecoder(),
        {"type": "user_message", "message": {"id": "u1", "content": "hi"}},
        {"type": "token", "token": "Hel"},
        {"type": "token", "token": "lo"},
        {"type": "complete", "message": {"id": "a1", "content": "Hello"}, "chatId": "c"},
    )
    assert events == [TextDelta("Hel"), TextDelta("lo"), Done("a1")]


def test_chats_complete_without_tokens_gives_the_text() -> None:
    message = {"id": "a1", "content": "All at once", "sources": ["https://a.example/"]}
    events = decode(ChatsDecoder(), {"type": "complete", "message": message, "chatId": "c"})
    assert events == [
        TextDelta("All at once"),
        Done("a1", sources=(Source("https://a.example/"),)),
    ]


def test_chats_error_shapes() -> None:
    nested = {"type": "error", "error": {"message": "quota", "code": "limit"}}
    flat = {"type": "error", "error": "model_error", "message": "broke"}
    assert decode(ChatsDecoder(), nested) == [Error("limit", "quota")]
    assert decode(ChatsDecoder(), flat) == [Error("model_error", "broke")]


def test_agents_content_token_and_tokens_used() -> None:
    events = decode(
        AgentsDecoder(),
        {"type": "content", "content": "a"},
        {"type": "token", "token": "b"},
        {"type": "token", "content": "c"},
        {"type": "done", "session_id": "s", "tokens_used": 12},
    )
    assert events == [
        TextDelta("a"),
        TextDelta("b"),
        TextDelta("c"),
        Done(usage=Usage(None, None, 12)),
    ]


def test_sources_shapes() -> None:
    raw = [
        "https://a/",
        {"url": "https://b/", "title": "B"},
        {"link": "https://c/", "name": "C"},
        {"href": "https://d/"},
        {"other": 1},
        7,
    ]
    assert sources(raw) == (
        Source("https://a/"),
        Source("https://b/", "B"),
        Source("https://c/", "C"),
        Source("https://d/"),
    )
    assert sources(None) == ()
