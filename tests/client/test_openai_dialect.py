"""The openai dialect over real HTTP against scripted answers: exact requests, environment
defaults, error bodies, retry headers, and how a stream may end."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import nbchat
from nbchat import errors
from nbchat.events import Done, Error, TextDelta

from .faultserver import Cut, FaultServer, Script, sse

PATH = "/v1/chat/completions"
JSON = {"Content-Type": "application/json"}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return json.dumps({"id": "chatcmpl-7", "choices": choices, **extra})


HELLO = sse(
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hello"}),
    chunk({}, "stop"),
    "[DONE]",
)


def openai(server: FaultServer, **kwargs: Any) -> nbchat.Chat:
    options = {"model": "m", **kwargs}
    return nbchat.Chat(f"{server.url}/v1", dialect="openai", **options)


def test_the_request_carries_the_conversation(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=HELLO))
    chat = openai(fault, system="Be terse.", params={"temperature": 0, "seed": 7}, token="sk-1")
    chat.send("first")
    chat.send("second")
    sent = fault.requests[1]
    assert sent.path == PATH
    assert sent.headers["Authorization"] == "Bearer sk-1"
    assert sent.headers["Accept"] == "text/event-stream"
    assert sent.json() == {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "second"},
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
        "seed": 7,
    }
    chat.new()
    chat.send("again")
    assert [m["role"] for m in fault.requests[2].json()["messages"]] == ["system", "user"]


def test_whole_reply_is_one_post_with_stream_false(fault: FaultServer) -> None:
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hi."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3},
    }
    fault.script(PATH, Script(200, JSON, [json.dumps(answer).encode()]))
    reply = openai(fault).send("hi", stream=False)
    assert (reply.text, reply.finish_reason, reply.usage) == ("Hi.", "stop", nbchat.Usage(2, 1, 3))
    body = fault.requests[0].json()
    assert body["stream"] is False and "stream_options" not in body
    assert fault.requests[0].headers["Accept"] == "application/json"


def test_environment_defaults(fault: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    fault.script(PATH, Script(body=HELLO))
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fault.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("NBCHAT_BASE_URL", "http://127.0.0.1:9")  # the OpenAI variable wins
    chat = nbchat.Chat(dialect="openai", model="m")
    assert chat.send("hi").text == "Hello"
    assert fault.requests[0].headers["Authorization"] == "Bearer sk-from-env"
    assert "sk-from-env" not in repr(chat)


@pytest.mark.parametrize("key", ["model", "messages", "stream"])
def test_params_cannot_replace_what_the_dialect_writes(fault: FaultServer, key: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=f"params= cannot set '{key}'"):
        openai(fault, params={key: 1}).send("hi")
    assert fault.requests == []


def test_model_is_required() -> None:
    with pytest.raises(errors.ConfigurationError, match="model="):
        nbchat.Chat("http://127.0.0.1:9/v1", dialect="openai").send("hi")


@pytest.mark.parametrize(
    ("status", "error_type", "code"),
    [
        (400, errors.BadRequestError, None),
        (401, errors.AuthenticationError, "invalid_api_key"),
        (404, errors.NotFoundError, "model_not_found"),
    ],
)
def test_openai_error_bodies_become_typed_errors(
    fault: FaultServer, status: int, error_type: type[errors.APIStatusError], code: str | None
) -> None:
    error = {
        "message": "The model `m` does not exist",
        "type": "invalid_request_error",
        "code": code,
    }
    fault.script(PATH, Script(status, JSON, [json.dumps({"error": error}).encode()]))
    chat = openai(fault)
    with pytest.raises(error_type) as caught:
        chat.send("hi")
    assert caught.value.message == "The model `m` does not exist"
    assert chat.history[-1].reply.error == Error(f"http_{status}", "The model `m` does not exist")


def test_retry_after_ms_is_honoured_before_the_first_event(fault: FaultServer) -> None:
    limited = Script(429, {**JSON, "retry-after-ms": "300", "Retry-After": "60"}, [b"{}"])
    fault.script(PATH, limited, Script(body=HELLO))
    started = time.monotonic()
    assert openai(fault, max_retry_wait=5).send("hi").text == "Hello"
    assert 0.3 <= time.monotonic() - started < 5
    assert len(fault.requests) == 2


def test_error_object_mid_stream_keeps_the_partial_text(fault: FaultServer) -> None:
    error = {"error": {"message": "the engine died", "type": "server_error", "code": None}}
    fault.script(PATH, Script(body=sse(chunk({"content": "Half"}), json.dumps(error), "[DONE]")))
    chat = openai(fault)
    with pytest.raises(errors.StreamError, match="the engine died") as caught:
        chat.send("hi")
    reply = caught.value.reply
    assert (reply.text, reply.status) == ("Half", "error")
    assert reply.error == Error("server_error", "the engine died")


def test_bytes_after_done_are_ignored(fault: FaultServer) -> None:
    body = [*HELLO, *sse(chunk({"content": " more"})), b"data: {not json\n\n", Cut()]
    fault.script(PATH, Script(body=body))
    reply = openai(fault).send("hi")
    assert (reply.text, reply.status) == ("Hello", "complete")


def test_a_stream_that_finished_but_sent_no_done_completes(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=sse(chunk({"content": "ok"}), chunk({}, "length"))))
    reply = openai(fault).send("hi")
    assert (reply.text, reply.status, reply.finish_reason) == ("ok", "complete", "length")


def test_a_stream_cut_before_finishing_is_incomplete(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=sse(chunk({"content": "par"}))))
    with pytest.raises(errors.StreamError) as caught:
        openai(fault).send("hi")
    assert (caught.value.reply.text, caught.value.reply.status) == ("par", "incomplete")


def test_events_in_order(fault: FaultServer) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    body = sse(
        chunk({"role": "assistant", "reasoning_content": "hm"}),
        chunk({"content": "A"}),
        chunk({}, "stop"),
        chunk(None, usage=usage),
        "[DONE]",
    )
    fault.script(PATH, Script(body=body))
    with openai(fault).stream("hi") as events:
        types = [event.type for event in events]
    assert types == ["start", "reasoning", "text", "done"]
    reply = events.reply
    assert (reply.reasoning, reply.text, reply.usage) == ("hm", "A", nbchat.Usage(1, 1, 2))
    assert reply.events[-1] == Done("chatcmpl-7", nbchat.Usage(1, 1, 2), "stop")
    assert isinstance(reply.events[2], TextDelta)


@pytest.mark.parametrize(
    "body",
    [
        {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
        {"choices": [None]},
        {"choices": [{"index": 0, "message": {"tool_calls": [None]}}]},
    ],
)
def test_a_whole_answer_of_the_wrong_shape_is_a_typed_error(
    fault: FaultServer, body: dict[str, Any]
) -> None:
    answer = json.dumps(body).encode()
    fault.script(
        "/v1/chat/completions", Script(200, {"Content-Type": "application/json"}, [answer])
    )
    chat = nbchat.Chat(f"{fault.url}/v1", dialect="openai", model="m")
    with pytest.raises(nbchat.NbchatError, match="answer"):
        chat.send("hi", stream=False)
    assert chat.history[-1].reply.status == "error"
