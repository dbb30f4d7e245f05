"""Small helpers for talking to the reference server over real HTTP."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
from httpx_sse import connect_sse

from nbchat.server.store import StreamStats

USER = "user-1"
MODEL = "gpt-4"


def new_chat(url: str, user: str = USER, **kwargs: Any) -> str:
    response = httpx.post(f"{url}/api/chats", json={"userId": user}, **kwargs)
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"]


def chat_body(content: str, user: str = USER) -> dict[str, str]:
    return {"content": content, "modelId": MODEL, "userId": user}


def sse_payloads(
    url: str, path: str, body: dict[str, Any], **kwargs: Any
) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """The response and the decoded JSON of every SSE event of one streamed request."""
    with (
        httpx.Client(timeout=30, **kwargs) as client,
        connect_sse(client, "POST", f"{url}{path}", json=body) as source,
    ):
        return source.response, [json.loads(event.data) for event in source.iter_sse()]


def chat_stream(url: str, chat_id: str, content: str, user: str = USER) -> list[dict[str, Any]]:
    response, payloads = sse_payloads(
        url, f"/api/chats/{chat_id}/messages/stream", chat_body(content, user)
    )
    assert response.status_code == 200
    return payloads


def agent_stream(
    url: str, message: str, session_id: str | None = None, agent_id: str = "ag_demo"
) -> list[dict[str, Any]]:
    body = {"agent_id": agent_id, "message": message}
    if session_id:
        body["session_id"] = session_id
    response, payloads = sse_payloads(url, "/chat/stream", body)
    assert response.status_code == 200
    return payloads


def text_of(payloads: list[dict[str, Any]]) -> str:
    """Concatenated text deltas of either format."""
    return "".join(p.get("delta") or p.get("content") or "" for p in payloads if "type" in p)


def stop_after_five(chat: Any, message: str = "/stream 1000 10 20") -> Any:
    """Stream a long reply, stop it after five events; the reply, stopped."""
    with chat.stream(message) as events:
        for _ in itertools.islice(events, 5):
            pass
        events.stop()
    assert events.reply.status == "stopped"
    return events.reply


def assert_generation_stopped(stats: StreamStats) -> None:
    """The server saw the client go and stopped generating, long before the reply's end."""
    deadline = time.monotonic() + 5
    while stats.cancelled != 1:
        assert time.monotonic() < deadline, "the server kept generating"
        time.sleep(0.01)
    assert stats.deltas < 100
