"""The reference server's OpenAI Chat Completions endpoints, read as raw HTTP and SSE."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from nbchat.server import ServerHandle, start_server

TOKEN = "sk-test-openai-token"


def completions(url: str, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30, **kwargs)


def chunks(url: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON chunks of a streamed completion, and every raw `data` field in order."""
    raw: list[str] = []
    with (
        httpx.Client(timeout=30) as client,
        connect_sse(
            client, "POST", f"{url}/v1/chat/completions", json={**body, "stream": True}
        ) as source,
    ):
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        raw = [event.data for event in source.iter_sse()]
    return [json.loads(data) for data in raw if data != "[DONE]"], raw


def user(text: str) -> dict[str, Any]:
    return {"model": "demo", "messages": [{"role": "user", "content": text}]}


def content_of(parsed: list[dict[str, Any]], field: str = "content") -> str:
    return "".join(
        choice["delta"].get(field) or "" for chunk in parsed for choice in chunk["choices"]
    )


def assert_openai_error(response: httpx.Response, status: int, code: str | None) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error["message"]


def test_models_lists_the_demo_model(server_url: str) -> None:
    body = httpx.get(f"{server_url}/v1/models").json()
    assert body["object"] == "list"
    assert [model["id"] for model in body["data"]] == ["demo"]
    assert all(model["object"] == "model" for model in body["data"])


def test_streamed_reply_equals_the_whole_one(server_url: str) -> None:
    parsed, raw = chunks(server_url, user("Explain quantum computing"))
    assert raw[-1] == "[DONE]"
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in parsed)
    assert len({chunk["id"] for chunk in parsed}) == 1
    assert parsed[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["finish_reason"] for c in parsed[:-1]] == [None] * (len(parsed) - 1)
    assert parsed[-1]["choices"][0]["finish_reason"] == "stop"
    assert len(parsed) > 10  # word-sized deltas
    whole = completions(server_url, user("Explain quantum computing")).json()
    assert whole["object"] == "chat.completion"
    choice = whole["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] == "stop"
    assert content_of(parsed) == choice["message"]["content"]
    assert "Explain quantum computing" in choice["message"]["content"]
    usage = whole["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_usage_chunk_only_when_asked(server_url: str) -> None:
    parsed, _ = chunks(server_url, user("/echo one two three"))
    assert all("usage" not in chunk for chunk in parsed)
    body = {**user("/echo one two three"), "stream_options": {"include_usage": True}}
    parsed, raw = chunks(server_url, body)
    assert raw[-1] == "[DONE]"
    last = parsed[-1]
    assert last["choices"] == []
    assert last["usage"] == {"prompt_tokens": 4, "completion_tokens": 3, "total_tokens": 7}
    assert all(chunk["usage"] is None for chunk in parsed[:-1])


def test_the_conversation_comes_in_the_request(server_url: str) -> None:
    body = {
        "model": "demo",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"type": "text", "text": "second question"}]},
        ],
    }
    text = completions(server_url, body).json()["choices"][0]["message"]["content"]
    assert "**Turn 2.**" in text
    assert 'Before this you said: "first question"' in text


def test_calculator_arguments_stream_in_pieces(server_url: str) -> None:
    parsed, _ = chunks(server_url, user("calculate 2+3*4"))
    fragments = [
        call
        for chunk in parsed
        for choice in chunk["choices"]
        for call in choice["delta"].get("tool_calls") or []
    ]
    assert len(fragments) >= 3
    head = fragments[0]
    assert head["id"].startswith("call_") and head["function"]["name"] == "calculator"
    assert all(fragment["index"] == 0 for fragment in fragments)
    assert all("id" not in fragment for fragment in fragments[1:])
    arguments = "".join(fragment["function"]["arguments"] for fragment in fragments)
    assert json.loads(arguments) == {"expression": "2+3*4"}
    assert parsed[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert content_of(parsed) == "Let me use the calculator."


def test_tool_result_sent_back_gets_an_answer(server_url: str) -> None:
    first = completions(server_url, user("calculate 2+3*4")).json()["choices"][0]
    assert first["finish_reason"] == "tool_calls"
    call = first["message"]["tool_calls"][0]
    assert json.loads(call["function"]["arguments"]) == {"expression": "2+3*4"}
    body = user("calculate 2+3*4")
    body["messages"] += [
        first["message"],
        {"role": "tool", "tool_call_id": call["id"], "content": "14"},
    ]
    answer = completions(server_url, body).json()["choices"][0]
    assert answer["finish_reason"] == "stop"
    assert answer["message"]["content"] == "`2+3*4` = **14**."


def test_reasoning_section_streams_apart(server_url: str) -> None:
    parsed, _ = chunks(server_url, user("/think /echo done"))
    reasoning = content_of(parsed, "reasoning_content")
    assert reasoning.startswith('The user asks me to think about "/echo done".')
    assert content_of(parsed) == "done"
    whole = completions(server_url, user("/think /echo done")).json()["choices"][0]["message"]
    assert whole["reasoning_content"] == reasoning
    assert whole["content"] == "done"


def test_max_tokens_cuts_with_length(server_url: str) -> None:
    body = {**user("/echo a b c d e f"), "max_tokens": 3}
    whole = completions(server_url, body).json()
    assert whole["choices"][0]["finish_reason"] == "length"
    assert whole["choices"][0]["message"]["content"] == "a b c "
    assert whole["usage"]["completion_tokens"] == 3
    parsed, _ = chunks(server_url, {**body, "max_tokens": None, "max_completion_tokens": 2})
    assert content_of(parsed) == "a b "
    assert parsed[-1]["choices"][0]["finish_reason"] == "length"


def test_failure_mid_stream_is_an_error_object(server_url: str) -> None:
    parsed, raw = chunks(server_url, user("/fail"))
    assert "[DONE]" not in raw
    assert parsed[-1] == {
        "error": {
            "message": "the demo model failed on purpose (/fail)",
            "type": "server_error",
            "param": None,
            "code": None,
        }
    }
    assert content_of(parsed[:-1]) == "This reply will stop part way"
    whole = completions(server_url, user("/fail"))
    assert "on purpose" in assert_openai_error(whole, 500, None)
    assert whole.json()["error"]["type"] == "server_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "demo"}, "messages"),
        ({"model": "demo", "messages": []}, "messages"),
        ({"model": "demo", "messages": [{"role": "robot", "content": "hi"}]}, "messages[0].role"),
        ({"model": "demo", "messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"model": "demo", "messages": [{"role": "assistant", "content": "hi"}]}, "messages"),
        ({**user("hi"), "stream": "yes"}, "stream"),
        ({**user("hi"), "max_tokens": 0}, "max_tokens"),
        ({**user("hi"), "n": 2}, "n"),
        (
            {"model": "demo", "messages": [{"role": "tool", "tool_call_id": "x", "content": "1"}]},
            "messages[0].tool_call_id",
        ),
    ],
)
def test_bad_request_is_400_with_param(server_url: str, body: dict[str, Any], param: str) -> None:
    response = completions(server_url, body)
    assert_openai_error(response, 400, None)
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["param"] == param


def test_unknown_model_is_404(server_url: str) -> None:
    response = completions(server_url, {**user("hi"), "model": "gpt-4o"})
    assert "gpt-4o" in assert_openai_error(response, 404, "model_not_found")


def test_unknown_path_under_v1_is_an_openai_404(server_url: str) -> None:
    response = httpx.post(f"{server_url}/v1/completions", json={})
    assert_openai_error(response, 404, "unknown_url")


@pytest.fixture(scope="module")
def secured() -> Iterator[ServerHandle]:
    with start_server(token=TOKEN, rate_limit=2) as handle:
        yield handle


def test_auth_then_rate_limit(secured: ServerHandle) -> None:
    response = completions(secured.url, user("hi"), headers={"Authorization": "Bearer wrong"})
    assert_openai_error(response, 401, "invalid_api_key")
    assert TOKEN not in response.text
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{secured.url}/v1/models", headers=auth).status_code == 200
    assert completions(secured.url, user("hi"), headers=auth).status_code == 200
    limited = completions(secured.url, user("hi"), headers=auth)
    assert_openai_error(limited, 429, "rate_limit_exceeded")
    assert limited.json()["error"]["type"] == "requests"
    assert int(limited.headers["retry-after"]) >= 1
