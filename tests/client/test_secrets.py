"""Tokens, URL passwords and cookie values: sent where they belong, never quoted in any form."""

from __future__ import annotations

import logging
import secrets

import pytest
from leaks import assert_no_secret

import nbchat
from nbchat import errors

from .faultserver import FaultServer, Script, sse
from .test_http_errors import free_port

PATH = "/chat/stream"
OK = Script(body=sse({"type": "text", "content": "ok"}, {"type": "done", "usage": {}}))
JSON = {"Content-Type": "application/json"}


def new_secret() -> str:
    return f"sk-{secrets.token_hex(12)}"


def everything_said(exc: BaseException, chat: nbchat.Chat, caplog: pytest.LogCaptureFixture) -> str:
    """Every text a user could see about a failure: message, repr, args, history, logs."""
    texts = [str(exc), repr(exc), repr(exc.args), repr(chat), repr(chat.history)]
    texts += [repr(turn.reply.to_dict()) for turn in chat.history]
    texts += [record.getMessage() for record in caplog.records]
    return "\n".join(texts)


@pytest.mark.parametrize("padding", ["\n", "\r\n", " ", "\t \n"])
def test_a_token_with_surrounding_whitespace_is_stripped(
    fault: FaultServer, monkeypatch: pytest.MonkeyPatch, padding: str
) -> None:
    token = new_secret()
    monkeypatch.setenv("NBCHAT_TOKEN", f"{padding}{token}{padding}")
    fault.script(PATH, OK)
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    assert chat.send("hi").text == "ok"
    assert fault.requests[0].headers["Authorization"] == f"Bearer {token}"


@pytest.mark.parametrize("inside", ["\n", "\r\n", " ", "\x7f", "é"])
def test_a_token_with_a_bad_character_inside_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    token = new_secret()
    monkeypatch.setenv("NBCHAT_TOKEN", token[:10] + inside + token[10:])
    with pytest.raises(errors.ConfigurationError, match="the token has") as caught:
        nbchat.Chat("http://127.0.0.1:9", dialect="agents", agent_id="ag_1")
    assert_no_secret(f"{caught.value}\n{caught.value!r}", token, token[:10], token[10:])


def test_a_header_http_refuses_is_a_configuration_error_not_retried(
    fault: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    value = new_secret()
    fault.script(PATH, OK)
    chat = nbchat.Chat(
        fault.url, dialect="agents", agent_id="ag_1", cookies={"session": f"{value}\r\nX: y"}
    )
    with (
        caplog.at_level(logging.DEBUG, logger="nbchat"),
        pytest.raises(errors.ConfigurationError, match="could not be sent") as caught,
    ):
        chat.send("hi")
    assert fault.requests == []
    assert not any("retrying" in record.getMessage() for record in caplog.records)
    assert_no_secret(everything_said(caught.value, chat, caplog), value)


def test_a_server_message_quoting_the_token_is_masked(
    fault: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = new_secret()
    body = f'{{"message": "invalid token {token} (Bearer%20{token})"}}'.encode()
    fault.script(PATH, Script(401, JSON, [body]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    with (
        caplog.at_level(logging.DEBUG, logger="nbchat"),
        pytest.raises(errors.AuthenticationError, match=r"invalid token \*\*\*") as caught,
    ):
        chat.send("hi")
    assert_no_secret(everything_said(caught.value, chat, caplog), token)


def test_an_error_event_quoting_the_token_is_masked(fault: FaultServer) -> None:
    token = new_secret()
    fault.script(PATH, Script(body=sse({"type": "error", "message": f"bad key {token!r}"})))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    with pytest.raises(errors.StreamError) as caught:
        chat.send("hi")
    assert caught.value.reply.error.message == "bad key '***'"
    assert_no_secret(f"{caught.value!r} {caught.value.reply.to_dict()}", token)


def test_a_url_password_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    password = new_secret()
    url = f"http://user:{password}@127.0.0.1:{free_port()}"
    chat = nbchat.Chat(url, dialect="agents", agent_id="ag_1", max_retry_wait=0.01)
    with (
        caplog.at_level(logging.DEBUG, logger="nbchat"),
        pytest.raises(errors.ConnectionError, match="Connection refused") as caught,
    ):
        chat.send("hi")
    assert chat.base_url.startswith("http://127.0.0.1:")
    assert_no_secret(everything_said(caught.value, chat, caplog), password, f"user:{password}")


def test_the_url_password_is_sent_as_basic_auth(fault: FaultServer) -> None:
    password = new_secret()
    fault.script(PATH, OK)
    url = fault.url.replace("http://", f"http://user:{password}@")
    assert nbchat.Chat(url, dialect="agents", agent_id="ag_1").send("hi").text == "ok"
    assert fault.requests[0].headers["Authorization"].startswith("Basic ")
