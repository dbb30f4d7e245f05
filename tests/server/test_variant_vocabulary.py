"""The seed APIs as their real servers speak them (`vocabulary="variant"`), over loopback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from nbchat.server import ServerHandle, start_server

from .helpers import agent_stream, chat_body, chat_stream


@pytest.fixture(scope="module")
def variant() -> Iterator[ServerHandle]:
    with start_server(vocabulary="variant") as handle:
        yield handle


def test_chats_variant_events(variant: ServerHandle) -> None:
    chat_id = str(uuid.uuid4())  # unknown to the server: the real backend creates it
    payloads = chat_stream(variant.url, chat_id, "/echo hello there")
    assert payloads[0]["type"] == "user_message"
    assert payloads[0]["message"]["content"] == "/echo hello there"
    assert payloads[0]["message"]["role"] == "user"
    tokens = [p["token"] for p in payloads if p["type"] == "token"]
    assert "".join(tokens) == "hello there" and len(tokens) == 2
    complete = payloads[-1]
    assert complete["type"] == "complete" and complete["chatId"] == chat_id
    assert complete["message"]["content"] == "hello there"
    assert complete["message"]["role"] == "assistant"
    assert "sources" not in complete["message"]
    messages = httpx.get(f"{variant.url}/api/chats/{chat_id}/messages").json()["data"]
    assert [m["content"] for m in messages] == ["/echo hello there", "hello there"]


def test_chats_variant_sources_and_errors(variant: ServerHandle) -> None:
    chat_id = str(uuid.uuid4())
    complete = chat_stream(variant.url, chat_id, "/cite")[-1]
    assert complete["message"]["sources"] == [
        {"title": "Project Jupyter", "url": "https://jupyter.org/"},
        {"title": "IPython", "url": "https://ipython.org/"},
    ]
    failed = chat_stream(variant.url, chat_id, "/fail")[-1]
    assert failed == {
        "type": "error",
        "error": {"message": "the demo model failed on purpose (/fail)", "code": "model_error"},
    }


def test_chats_variant_still_guards_other_users_chats(variant: ServerHandle) -> None:
    chat_id = str(uuid.uuid4())
    chat_stream(variant.url, chat_id, "hi")
    response = httpx.post(
        f"{variant.url}/api/chats/{chat_id}/messages/stream", json=chat_body("hi", "someone-else")
    )
    assert response.status_code == 403
    assert f"chat {chat_id} belongs to another user" in response.json()["message"]
    assert (
        httpx.get(f"{variant.url}/api/chats/{chat_id}/messages").json()["data"][0]["content"]
        == "hi"
    )


def test_agents_variant_events(variant: ServerHandle) -> None:
    payloads = agent_stream(variant.url, "/echo one two", session_id="sess_variant")
    texts = [p for p in payloads if p["type"] == "content"]
    assert "".join(p["content"] for p in texts) == "one two"
    assert payloads[-1] == {"type": "done", "session_id": "sess_variant", "tokens_used": 5}
    assert "text" not in {p["type"] for p in payloads}


def test_documented_server_still_404s_unknown_chats(server_url: str) -> None:
    response = httpx.post(
        f"{server_url}/api/chats/{uuid.uuid4()}/messages/stream", json=chat_body("hi")
    )
    assert response.status_code == 404
