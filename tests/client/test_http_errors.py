"""HTTP errors before the stream: typed exceptions, the server's message, bounded retries."""

from __future__ import annotations

import email.utils
import socket
import time

import pytest

import nbchat
from nbchat import errors

from .faultserver import Cut, FaultServer, Script, sse

PATH = "/chat/stream"
OK = Script(body=sse({"type": "text", "content": "ok"}, {"type": "done", "usage": {}}))
JSON = {"Content-Type": "application/json"}


def agents(server: FaultServer, **kwargs: object) -> nbchat.Chat:
    return nbchat.Chat(server.url, dialect="agents", agent_id="ag_1", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (402, errors.PaymentRequiredError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
    ],
)
def test_client_errors_are_typed_and_never_retried(
    fault: FaultServer, status: int, error_type: type[errors.APIStatusError]
) -> None:
    fault.script(PATH, Script(status, JSON, [b'{"error": "x", "message": "the server says no"}']))
    with pytest.raises(error_type) as caught:
        agents(fault).send("hi")
    assert caught.value.status_code == status
    assert caught.value.message == "the server says no"
    assert str(caught.value) == f"HTTP {status}: the server says no"
    assert len(fault.requests) == 1


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (b'{"detail": "agent ag_1 not found"}', JSON, "agent ag_1 not found"),
        (b'{"error": "Not Found"}', JSON, "Not Found"),
        (b'{"error": {"message": "nested"}}', JSON, "nested"),
        (b"plain words", {"Content-Type": "text/plain"}, "plain words"),
    ],
)
def test_the_servers_message_is_found(
    fault: FaultServer, body: bytes, headers: dict[str, str], message: str
) -> None:
    fault.script(PATH, Script(404, headers, [body]))
    with pytest.raises(errors.NotFoundError, match=message):
        agents(fault).send("hi")


def test_an_error_is_recorded_in_history_for_retry(fault: FaultServer) -> None:
    fault.script(PATH, Script(404, JSON, [b'{"message": "Agent not found"}']))
    chat = agents(fault)
    with pytest.raises(errors.NotFoundError):
        chat.send("hi")
    reply = chat.history[-1].reply
    assert (reply.status, reply.error) == ("error", nbchat.Error("http_404", "Agent not found"))


def test_429_is_retried_after_retry_after_seconds(fault: FaultServer) -> None:
    limited = Script(429, {**JSON, "Retry-After": "0.3"}, [b'{"message": "slow down"}'])
    fault.script(PATH, limited, OK)
    started = time.monotonic()
    reply = agents(fault).send("hi")
    assert reply.text == "ok"
    assert len(fault.requests) == 2
    assert time.monotonic() - started >= 0.3


def test_retry_after_as_an_http_date(fault: FaultServer) -> None:
    when = email.utils.formatdate(time.time() + 1, usegmt=True)
    limited = Script(429, {**JSON, "Retry-After": when}, [b"{}"])
    fault.script(PATH, limited, OK)
    assert agents(fault).send("hi").text == "ok"
    assert len(fault.requests) == 2


def test_retry_after_beyond_the_cap_raises_at_once(fault: FaultServer) -> None:
    fault.script(PATH, Script(429, {**JSON, "Retry-After": "120"}, [b'{"message": "later"}']))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as caught:
        agents(fault, max_retry_wait=5).send("hi")
    assert caught.value.retry_after == 120
    assert len(fault.requests) == 1
    assert time.monotonic() - started < 2


def test_retries_are_bounded(fault: FaultServer) -> None:
    fault.script(PATH, Script(503, JSON, [b'{"message": "maintenance"}']))
    with pytest.raises(errors.ServerError, match="maintenance") as caught:
        agents(fault, max_retries=2, max_retry_wait=0.05).send("hi")
    assert caught.value.status_code == 503
    assert len(fault.requests) == 3


def test_5xx_then_success(fault: FaultServer) -> None:
    fault.script(PATH, Script(500, JSON, [b"{}"]), OK)
    assert agents(fault, max_retry_wait=0.05).send("hi").text == "ok"


def test_nothing_is_retried_after_the_first_event(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=[*sse({"type": "text", "content": "par"}), Cut()]), OK)
    with pytest.raises(errors.StreamError) as caught:
        agents(fault).send("hi")
    assert caught.value.reply.text == "par"
    assert len(fault.requests) == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_connection_refused_is_nbchats_connection_error() -> None:
    chat = nbchat.Chat(
        f"http://127.0.0.1:{free_port()}", dialect="agents", agent_id="a", max_retry_wait=0.01
    )
    with pytest.raises(errors.ConnectionError, match=r"cannot reach http://127\.0\.0\.1"):
        chat.send("hi")


def test_no_answer_before_the_timeout_is_nbchats_timeout_error() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        chat = nbchat.Chat(url, dialect="agents", agent_id="a", timeout=0.3, max_retries=0)
        with pytest.raises(errors.TimeoutError):
            chat.send("hi")
