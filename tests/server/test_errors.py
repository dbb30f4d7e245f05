"""Every documented error status, produced by its documented cause, with a JSON body."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from nbchat.server import ServerHandle, start_server

from .helpers import chat_body, new_chat

TOKEN = "s3cret-token-value"
STREAM = "/messages/stream"


def assert_error(response: httpx.Response, status: int, reason: str, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == reason
    assert words in body["message"]
    assert TOKEN not in response.text


@pytest.fixture(scope="module")
def secured() -> Iterator[ServerHandle]:
    with start_server(token=TOKEN) as handle:
        yield handle


# --- 400 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/messages", STREAM])
@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"modelId": "gpt-4", "userId": "user-1"}', "'content' must be a non-empty string"),
        (b'{"content": "hi", "userId": "user-1"}', "'modelId'"),
        (b'{"content": "hi", "modelId": "gpt-4"}', "'userId'"),
        (b'{"content": 42, "modelId": "gpt-4", "userId": "user-1"}', "'content'"),
        (b'{"content": "  ", "modelId": "gpt-4", "userId": "user-1"}', "'content'"),
        (
            b'{"content": "hi", "modelId": "gpt-4", "userId": "user-1", "workflowId": "w1"}',
            "workflowId 'w1' is not a UUID",
        ),
    ],
)
def test_chats_bad_body_is_400(server_url: str, suffix: str, body: bytes, words: str) -> None:
    chat_id = new_chat(server_url)
    response = httpx.post(
        f"{server_url}/api/chats/{chat_id}{suffix}",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "Bad Request", words)


@pytest.mark.parametrize("suffix", ["/messages", STREAM])
def test_chats_non_uuid_chat_id_is_400(server_url: str, suffix: str) -> None:
    response = httpx.post(f"{server_url}/api/chats/not-a-uuid{suffix}", json=chat_body("hi"))
    assert_error(response, 400, "Bad Request", "chat id 'not-a-uuid' is not a UUID")


def test_create_chat_without_user_is_400(server_url: str) -> None:
    response = httpx.post(f"{server_url}/api/chats", json={"title": "no user"})
    assert_error(response, 400, "Bad Request", "'userId'")


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
@pytest.mark.parametrize(
    "body",
    [{"message": "hi"}, {"agent_id": "ag_demo"}, {"agent_id": "ag_demo", "message": ["hi"]}],
)
def test_agents_bad_body_is_400(server_url: str, path: str, body: dict) -> None:
    assert_error(httpx.post(f"{server_url}{path}", json=body), 400, "Bad Request", "must be")


# --- 401 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/messages", STREAM])
@pytest.mark.parametrize("cookies", [{}, {"session": "wrong"}, {"other": TOKEN}])
def test_chats_without_the_right_session_cookie_is_401(
    secured: ServerHandle, suffix: str, cookies: dict[str, str]
) -> None:
    chat_id = new_chat(secured.url, cookies={"session": TOKEN})
    with httpx.Client(cookies=cookies) as client:
        response = client.post(f"{secured.url}/api/chats/{chat_id}{suffix}", json=chat_body("hi"))
    assert_error(response, 401, "Unauthorized", "session cookie or bearer token")


def test_chats_with_the_session_cookie_are_served(secured: ServerHandle) -> None:
    with httpx.Client(cookies={"session": TOKEN}) as client:
        created = client.post(f"{secured.url}/api/chats", json={"userId": "user-1"})
        chat_id = created.json()["data"]["id"]
        response = client.post(
            f"{secured.url}/api/chats/{chat_id}/messages", json=chat_body("/echo in")
        )
        listing = client.get(f"{secured.url}/api/chats/{chat_id}/messages")
    assert response.status_code == 201 and listing.status_code == 200
    unauthorized = httpx.get(f"{secured.url}/api/chats/{chat_id}/messages")
    assert_error(unauthorized, 401, "Unauthorized", "session cookie")
    assert_error(
        httpx.post(f"{secured.url}/api/chats", json={"userId": "u"}), 401, "Unauthorized", ""
    )


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"X-Token": TOKEN}],
)
def test_agents_without_the_right_bearer_token_is_401(
    secured: ServerHandle, path: str, headers: dict[str, str]
) -> None:
    body = {"agent_id": "ag_demo", "message": "hi"}
    response = httpx.post(f"{secured.url}{path}", json=body, headers=headers)
    assert_error(response, 401, "Unauthorized", "bearer token")


def test_non_ascii_credentials_are_401_not_a_crash(secured: ServerHandle) -> None:
    response = httpx.post(
        f"{secured.url}/chat",
        json={"agent_id": "ag_demo", "message": "hi"},
        headers={b"Authorization": b"Bearer \xe9t\xe9", b"Cookie": b"session=\xe9"},
    )
    assert_error(response, 401, "Unauthorized", "bearer token")


def test_agents_with_the_bearer_token_are_served(secured: ServerHandle) -> None:
    response = httpx.post(
        f"{secured.url}/chat",
        json={"agent_id": "ag_demo", "message": "/echo in"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200 and response.json()["response"] == "in"


# --- 403 / 404 / 402 ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/messages", STREAM])
def test_posting_to_another_users_chat_is_403(server_url: str, suffix: str) -> None:
    chat_id = new_chat(server_url, user="alice")
    response = httpx.post(
        f"{server_url}/api/chats/{chat_id}{suffix}", json=chat_body("hi", user="mallory")
    )
    assert_error(response, 403, "Forbidden", f"chat {chat_id} belongs to another user")
    messages = httpx.get(f"{server_url}/api/chats/{chat_id}/messages").json()["data"]
    assert messages == []


@pytest.mark.parametrize("suffix", ["/messages", STREAM])
def test_unknown_chat_is_404(server_url: str, suffix: str) -> None:
    chat_id = "00000000-0000-4000-8000-000000000000"
    response = httpx.post(f"{server_url}/api/chats/{chat_id}{suffix}", json=chat_body("hi"))
    assert_error(response, 404, "Not Found", f"chat {chat_id} does not exist")
    listing = httpx.get(f"{server_url}/api/chats/{chat_id}/messages")
    assert_error(listing, 404, "Not Found", "does not exist")


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
def test_unknown_agent_is_404(server_url: str, path: str) -> None:
    response = httpx.post(f"{server_url}{path}", json={"agent_id": "ag_nobody", "message": "hi"})
    assert_error(response, 404, "Not Found", "agent 'ag_nobody' not found")


@pytest.mark.parametrize("path", ["/chat", "/chat/stream"])
def test_agent_with_spent_balance_is_402(server_url: str, path: str) -> None:
    response = httpx.post(f"{server_url}{path}", json={"agent_id": "ag_broke", "message": "hi"})
    assert_error(response, 402, "Payment Required", "insufficient balance")


def test_unknown_route_is_a_json_404(server_url: str) -> None:
    assert_error(httpx.get(f"{server_url}/no/such/route"), 404, "Not Found", "Not Found")


# --- 429 ------------------------------------------------------------------------------------


def test_requests_past_the_rate_limit_get_429_with_retry_after() -> None:
    with start_server(rate_limit=3, rate_window=1.0) as limited:
        body = {"agent_id": "ag_demo", "message": "/echo ok"}
        statuses = [httpx.post(f"{limited.url}/chat", json=body).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        refused = httpx.post(f"{limited.url}/chat/stream", json=body)
        assert_error(refused, 429, "Too Many Requests", "over 3 requests in 1 s")
        assert refused.headers["retry-after"] == "1"
        chats = httpx.post(f"{limited.url}/api/chats", json={"userId": "u"})
        assert_error(chats, 429, "Too Many Requests", "retry in 1 s")
        time.sleep(float(refused.headers["retry-after"]))
        assert httpx.post(f"{limited.url}/chat", json=body).status_code == 200


def test_retry_after_counts_whole_seconds_until_the_window_frees() -> None:
    with start_server(rate_limit=1, rate_window=30) as limited:
        assert httpx.post(f"{limited.url}/api/chats", json={"userId": "u"}).status_code == 201
        refused = httpx.post(f"{limited.url}/api/chats", json={"userId": "u"})
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "30"
