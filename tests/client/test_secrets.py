"""Tokens, URL passwords and cookie values: sent where they belong, never quoted in any form."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from pathlib import Path

import pytest
from leaks import assert_no_secret

import nbchat
from nbchat import errors
from nbchat.events import ToolCallDelta

from .faultserver import Cut, FaultServer, Pause, Script, sse
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


def _encodings(token: str) -> dict[str, str]:
    """How a gateway or an error page may quote the token back."""
    return {
        "raw": token,
        "html references": "".join(f"&#{ord(c)};" for c in token),
        "mixed references": f"{token[:2]}&#{ord(token[2])};{token[3:-1]}&#x{ord(token[-1]):x};",
        "hex": token.encode().hex(),
        "lowercase percent": "".join(f"%{b:02x}" for b in token.encode()),
        "unicode escapes": "".join(f"\\u{ord(c):04x}" for c in token),
        "base64 header": base64.b64encode(f"Bearer {token}".encode()).decode(),
        "base64 at an offset": base64.b64encode(f"k={token};".encode()).decode(),
    }


def _echo(text: str, pieces: int) -> list[bytes | Pause | Cut]:
    """A reply that says `text` between two sentences, cut into `pieces`-character deltas."""
    said = f"Your request said: {text}. Anything else?"
    deltas = [said[i : i + pieces] for i in range(0, len(said), pieces)]
    return sse(*({"type": "text", "content": d} for d in deltas), {"type": "done", "usage": {}})


@pytest.mark.parametrize("pieces", [1, 3, 1000])
@pytest.mark.parametrize("encoding", list(_encodings("sk-0")))
def test_a_token_echoed_into_the_reply_is_masked_wherever_the_deltas_split_it(
    fault: FaultServer, encoding: str, pieces: int
) -> None:
    token = new_secret()
    fault.script(PATH, Script(body=_echo(_encodings(token)[encoding], pieces)))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    reply = chat.send("hi")
    assert reply.status == "complete"
    assert reply.text.startswith("Your request said: ")
    assert reply.text.endswith(". Anything else?")
    assert "***" in reply.text
    assert_no_secret(f"{reply.text}\n{reply.to_dict()}\n{chat.history!r}", token)


def test_the_reply_sent_back_to_the_backend_is_the_masked_one(fault: FaultServer) -> None:
    token = new_secret()
    fault.script(PATH, Script(body=_echo(token, 2)), OK)
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    chat.send("hi")
    chat.send("and now?")
    assert_no_secret(fault.requests[1].body.decode(), token)


def test_a_reply_ending_with_the_tokens_start_keeps_a_short_one_masks_a_long_one(
    fault: FaultServer,
) -> None:
    token = new_secret()  # 27 characters: half of it or more is masked
    for end, shown in [(token[:8], token[:8]), (token[:14], "***")]:
        said = f"The prefix is {token[:3]} and then {end}"
        body = sse(*({"type": "text", "content": c} for c in said), {"type": "done"})
        fault.script(PATH, Script(body=body))
        chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
        assert chat.send("hi").text == f"The prefix is {token[:3]} and then {shown}"


def test_held_text_keeps_its_place_before_a_tool_call_and_an_error(fault: FaultServer) -> None:
    token = "sk-" + "9" * 24  # held back: any "s" could start it
    events = [
        {"type": "text", "content": "Let me list the files"},
        {"type": "tool_call", "name": "ls", "args": {}},
        {"type": "text", "content": "Done, as"},
        {"type": "error", "message": "bye"},
    ]
    fault.script(PATH, Script(body=sse(*events)))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    with chat.stream("hi") as stream:
        kinds = [type(event).__name__ for event in stream]
    reply = stream.reply
    assert reply.text == "Let me list the filesDone, as"
    assert kinds == ["TextDelta", "TextDelta", "ToolCall", "TextDelta", "TextDelta", "Error"]


def test_held_text_is_kept_when_the_stream_times_out(fault: FaultServer) -> None:
    token = "sk-" + "9" * 24
    body = sse({"type": "text", "content": "The answer is in the files"})
    fault.script(PATH, Script(body=[*body, Pause(2)]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token, timeout=0.3)
    with pytest.raises(errors.StreamError) as caught:
        chat.send("hi")
    assert caught.value.reply.text == "The answer is in the files"
    assert caught.value.reply.error is not None and caught.value.reply.error.code == "timeout"


def test_every_string_the_server_names_is_masked(fault: FaultServer) -> None:
    token = new_secret()
    events = [
        {"type": "start", "messageId": f"m-{token}"},
        {"type": "tool_call", "toolName": f"t{token}", "toolArgs": {}},
        {"type": "tool_result", "toolName": f"t{token}", "result": 1},
        {"type": "content", "delta": "ok"},
        {"type": "error", "error": {"code": token, "message": "no"}},
    ]
    created = json.dumps({"data": {"id": f"c-{token}"}}).encode()
    fault.script("/api/chats", Script(200, JSON, [created]))
    fault.script(f"/api/chats/c-{token}/messages/stream", Script(body=sse(*events)))
    chat = nbchat.Chat(fault.url, dialect="chats", model="m", user_id="u", token=token)
    with pytest.raises(errors.StreamError) as caught:
        chat.send("hi")
    reply = caught.value.reply
    assert reply.message_id == "m-***" and reply.error is not None and reply.error.code == "***"
    assert_no_secret(f"{reply.to_dict()} {reply.events!r} {chat!r} {caught.value}", token)


def test_growing_tool_arguments_are_masked_piece_by_piece(fault: FaultServer) -> None:
    token = new_secret()
    text = json.dumps({"query": f"header {token} " + "x" * 20_000})
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]

    def chunk(delta: dict, finish: str | None = None) -> dict:
        return {"id": "c1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    calls = [{"index": 0, "id": "call_1", "function": {"name": "search", "arguments": ""}}]
    body = [chunk({"role": "assistant", "tool_calls": calls})]
    body += [chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces]
    body += [chunk({}, "tool_calls"), "[DONE]"]
    fault.script("/v1/chat/completions", Script(body=sse(*body)))
    chat = nbchat.Chat(f"{fault.url}/v1", dialect="openai", model="m", token=token)
    with chat.stream("hi") as stream:
        shown = [e.arguments for e in stream if isinstance(e, ToolCallDelta)]
    assert len(shown) == len(pieces) + 1
    assert shown[-1] == text.replace(token, "***")
    assert all(shown[-1].startswith(seen) for seen in shown)  # each one the start of the next
    assert_no_secret(repr(stream.reply.events), token)


@pytest.mark.parametrize("stream", [True, False])
def test_tool_calls_results_and_whole_replies_are_masked(fault: FaultServer, stream: bool) -> None:
    token = new_secret()
    events = [
        {"type": "tool_call", "name": "fetch", "args": {"header": f"Bearer {token}", token: 1}},
        {"type": "tool_result", "name": "fetch", "result": [f"echo {token}"]},
        {"type": "text", "content": f"done with {token}"},
        {"type": "done", "usage": {}},
    ]
    whole = {
        "response": f"done with {token}",
        "tool_calls": [{"name": "fetch", "args": {"h": token}, "result": f"echo {token}"}],
    }
    fault.script(PATH, Script(body=sse(*events)))
    fault.script("/chat", Script(200, JSON, [json.dumps(whole).encode()]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    reply = chat.send("hi", stream=stream)
    assert reply.text == "done with ***"
    assert reply.tool_calls[0].result in (["echo ***"], "echo ***")
    assert_no_secret(repr(reply.tool_calls) + repr(reply.events), token)


async def test_the_asyncio_stream_masks_the_same(fault: FaultServer) -> None:
    token = new_secret()
    fault.script(PATH, Script(body=_echo(f"&#{ord(token[0])};{token[1:]}", 1)))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    reply = await chat.asend("hi")
    assert reply.text == "Your request said: ***. Anything else?"


@pytest.mark.parametrize("encoding", list(_encodings("sk-0")))
def test_an_error_page_quoting_the_token_in_any_form_is_masked(
    fault: FaultServer, caplog: pytest.LogCaptureFixture, encoding: str
) -> None:
    token = new_secret()
    page = f"<html><body><p>401: header {_encodings(token)[encoding]} refused</p></body></html>"
    fault.script(PATH, Script(401, {"Content-Type": "text/html"}, [page.encode()]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    with (
        caplog.at_level(logging.DEBUG, logger="nbchat"),
        pytest.raises(errors.APIStatusError) as caught,
    ):
        chat.send("hi")
    assert_no_secret(everything_said(caught.value, chat, caplog), token)


def test_a_token_given_as_the_url_username_never_shows(
    fault: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = new_secret()
    fault.script(PATH, Script(401, JSON, [f'{{"message": "no such key {key}"}}'.encode()]))
    url = fault.url.replace("http://", f"http://{key}@")
    chat = nbchat.Chat(url, dialect="agents", agent_id="ag_1")
    with (
        caplog.at_level(logging.DEBUG, logger="nbchat"),
        pytest.raises(errors.APIStatusError) as caught,
    ):
        chat.send("hi")
    sent = fault.requests[0].headers["Authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")) == f"{key}:".encode()
    assert_no_secret(everything_said(caught.value, chat, caplog), key)


def test_a_key_in_the_url_query_is_sent_with_every_request_and_never_shows(
    fault: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = new_secret()
    fault.script("/v1/chat/completions", Script(401, JSON, [f'{{"error": "bad {key}"}}'.encode()]))
    url = f"{fault.url}/v1?api-version=2024-06-01&api-key={key}"
    chat = nbchat.Chat(url, dialect="openai", model="m")
    with (
        caplog.at_level(logging.DEBUG, logger="nbchat"),
        pytest.raises(errors.APIStatusError) as caught,
    ):
        chat.send("hi")
    assert fault.requests[0].path == f"/v1/chat/completions?api-version=2024-06-01&api-key={key}"
    assert chat.base_url == f"{fault.url}/v1?api-version=***&api-key=***"
    assert_no_secret(everything_said(caught.value, chat, caplog), key)


def test_a_key_in_the_url_query_reaches_the_server_on_every_endpoint(fault: FaultServer) -> None:
    key = new_secret()
    fault.script(f"/chat/stream?key={key}", OK)
    fault.script(f"/chat?key={key}", Script(200, JSON, [b'{"response": "whole"}']))
    chat = nbchat.Chat(f"{fault.url}?key={key}", dialect="agents", agent_id="ag_1")
    assert chat.send("hi").text == "ok"
    assert chat.send("again", stream=False).text == "whole"


def test_short_preference_cookies_are_not_masked_session_cookies_are(fault: FaultServer) -> None:
    session = new_secret()
    said = f"Theme is dark, consent true, session {session}."
    fault.script(PATH, Script(body=sse({"type": "text", "content": said}, {"type": "done"})))
    cookies = {"theme": "dark", "consent": "true", "sid": "s1x9", "session": session}
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", cookies=cookies)
    assert chat.send("hi").text == "Theme is dark, consent true, session ***."
    assert chat.redact("sid s1x9") == "sid ***"  # short, but named like a session id


@pytest.mark.parametrize("at", [480, 490, 499, 505])
def test_a_long_error_body_is_cut_without_showing_part_of_the_token(
    fault: FaultServer, at: int
) -> None:
    token = new_secret()
    page = "x" * at + token + "y" * 600
    fault.script(PATH, Script(500, {"Content-Type": "text/plain"}, [page.encode()]))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token, max_retries=0)
    with pytest.raises(errors.APIStatusError) as caught:
        chat.send("hi")
    message = str(caught.value)
    assert "x" * 400 in message and "…" in message
    for size in range(6, len(token) + 1):
        assert token[:size] not in message


def test_a_token_split_by_a_tool_call_is_not_whole_in_the_joined_text(fault: FaultServer) -> None:
    token = new_secret()
    events = [
        {"type": "text", "content": f"the key is {token[:6]}"},  # under half: shown
        {"type": "tool_call", "name": "ls", "args": {}},
        {"type": "text", "content": f"{token[6:]} and more"},
        {"type": "done"},
    ]
    fault.script(PATH, Script(body=sse(*events)))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1", token=token)
    reply = chat.send("hi")
    assert reply.text == f"the key is {token[:6]}*** and more"
    assert_no_secret(f"{reply.text} {reply.to_dict()}", token)


def test_cookies_masked_are_the_ones_sent_that_look_like_credentials(
    fault: FaultServer, tmp_path: Path
) -> None:
    session, other = new_secret(), new_secret()
    host = "127.0.0.1"
    lines = [
        f"{host}\tFALSE\t/\tFALSE\t0\tconsent\taccepted",  # a preference, 8 characters
        f"{host}\tFALSE\t/\tFALSE\t0\ttz\tEurope/Berlin",
        f"{host}\tFALSE\t/\tFALSE\t0\tauth_token\tab12",  # short, but named as a credential
        f"{host}\tFALSE\t/\tFALSE\t0\tsid2\t{session}",  # long: a session id
        f"example.org\tFALSE\t/\tFALSE\t0\tweather\t{other}",  # never sent to this server
    ]
    (tmp_path / "cookies.txt").write_text("\n".join(lines) + "\n")
    said = f"accepted Europe/Berlin ab12 {session} {other}"
    fault.script(PATH, Script(body=sse({"type": "text", "content": said}, {"type": "done"})))
    chat = nbchat.Chat(
        fault.url, dialect="agents", agent_id="ag_1", cookies=str(tmp_path / "cookies.txt")
    )
    assert chat.send("hi").text == f"accepted Europe/Berlin *** *** {other}"


def test_url_path_parameters_and_bare_query_names_are_secrets(fault: FaultServer) -> None:
    key, bare = new_secret(), new_secret()
    quoted = Script(404, JSON, [f'{{"message": "no {key} or {bare}"}}'.encode()])
    fault.script(f"/x;api-key={key}/chat/stream?{bare}", quoted)
    chat = nbchat.Chat(f"{fault.url}/x;api-key={key}?{bare}", dialect="agents", agent_id="a")
    with pytest.raises(errors.APIStatusError) as caught:
        chat.send("hi")
    assert str(caught.value).endswith("no *** or ***")
    assert chat.base_url == f"{fault.url}/x?***"
    assert_no_secret(f"{caught.value} {chat!r}", key, bare)


def test_two_calls_of_one_tool_without_ids_keep_their_own_arguments(fault: FaultServer) -> None:
    def chunk(calls: list[dict]) -> dict:
        return {"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": calls}}]}

    def piece(index: int, arguments: str, name: str | None = None) -> dict:
        function = {"arguments": arguments, **({"name": name} if name else {})}
        return {"index": index, "function": function}

    body = [
        chunk([piece(0, "", "weather")]),
        chunk([piece(0, '{"city": "Paris"}')]),
        chunk([piece(1, "", "weather")]),
        chunk([piece(1, '{"country": ')]),
        chunk([piece(1, '"Japan"}')]),
        {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        "[DONE]",
    ]
    fault.script("/v1/chat/completions", Script(body=sse(*body)))
    chat = nbchat.Chat(f"{fault.url}/v1", dialect="openai", model="m", token=new_secret())
    with chat.stream("hi") as stream:
        shown = [e.arguments for e in stream if isinstance(e, ToolCallDelta)]
    assert shown[-2:] == ['{"country": ', '{"country": "Japan"}']
    assert [call.args for call in stream.reply.tool_calls] == [
        {"city": "Paris"},
        {"country": "Japan"},
    ]
