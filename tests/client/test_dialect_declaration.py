"""A dialect declared once gets Chat's keywords, the environment, `%chat_connect` and the README.

`ToyDialect` exists only here: nothing in nbchat knows it, so whatever it gets, it gets from its
declaration. Its wire format is stateless on the server (the whole history goes in every
request) and streams tool-call arguments in fragments that end with a `[DONE]` sentinel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

import nbchat
from nbchat.dialects import DIALECTS, Decoder, Dialect, HttpRequest, settings_table
from nbchat.errors import ConfigurationError
from nbchat.events import Done, Event, TextDelta, ToolCall
from nbchat.magics.connect import DemoServer, connect, connect_parser
from nbchat.settings import setting
from nbchat.turn import Turn

from .faultserver import Cut, FaultServer, Script, sse


@dataclass(frozen=True)
class ToySettings:
    key: str | None = setting("the toy's key", env=["TOY_KEY"], required=True)
    temperature: float | None = setting("sampling temperature", default=0.5, parse=float)
    thread: str | None = setting("the thread to continue", conversation=True)


class ToyDecoder(Decoder):
    """Merges `{"args": "..."}` fragments into one ToolCall, emitted before `[DONE]`."""

    def __init__(self) -> None:
        self.fragments: list[str] = []

    def decode(self, data: str, event: str) -> list[Event]:
        if data == "[DONE]":
            call = [ToolCall("lookup", "".join(self.fragments))] if self.fragments else []
            return [*call, Done(finish_reason="stop")]
        payload = json.loads(data)
        if "args" in payload:
            self.fragments.append(payload["args"])
            return []
        return [TextDelta(payload["text"])]


class ToyDialect(Dialect[ToySettings]):
    name = "toy"
    summary = "`POST /toy` with the whole history; no auth"
    settings = ToySettings

    def request(
        self, settings: ToySettings, history: Sequence[Turn], *, stream: bool
    ) -> HttpRequest:
        messages: list[dict[str, Any]] = []
        for turn in history[:-1]:
            messages += [
                {"role": "user", "content": turn.user},
                {"role": "assistant", "content": turn.reply.text},
            ]
        messages.append({"role": "user", "content": history[-1].user})
        body = {"key": settings.key, "temperature": settings.temperature, "messages": messages}
        return HttpRequest("POST", "/toy", body)

    def decoder(self) -> ToyDecoder:
        return ToyDecoder()


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> type[ToyDialect]:
    monkeypatch.setitem(DIALECTS, "toy", ToyDialect)
    monkeypatch.delenv("TOY_KEY", raising=False)
    return ToyDialect


def connect_line(line: str) -> nbchat.Chat:
    chat, _token_env = connect(connect_parser().parse_argstring(line), DemoServer())
    return chat


def test_chat_takes_the_declared_settings_and_nothing_else(
    toy: type[ToyDialect], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = nbchat.Chat("http://127.0.0.1:1", dialect="toy", key="k-1")
    assert chat.target == ToySettings(key="k-1", temperature=0.5, thread=None)
    monkeypatch.setenv("TOY_KEY", "k-env")
    assert nbchat.Chat("http://127.0.0.1:1", dialect="toy").target.key == "k-env"
    with pytest.raises(ConfigurationError, match=r"no setting model=; its settings: key="):
        nbchat.Chat("http://127.0.0.1:1", dialect="toy", model="gpt-4")


def test_a_missing_required_setting_names_the_keyword_and_the_variable(
    toy: type[ToyDialect],
) -> None:
    chat = nbchat.Chat("http://127.0.0.1:1", dialect="toy")
    with pytest.raises(ConfigurationError, match=r"the toy dialect needs key= \(or the TOY_KEY"):
        chat.send("hi")


def test_requests_carry_the_history_and_each_stream_gets_a_fresh_decoder(
    toy: type[ToyDialect], fault: FaultServer
) -> None:
    fault.script(
        "/toy",
        Script(body=[*sse({"text": "Hel"}, {"args": '{"q": '}), Cut()]),
        Script(body=sse({"text": "Hello"}, {"args": '{"q": '}, {"args": '"x"}'}, "[DONE]")),
    )
    chat = nbchat.Chat(fault.url, dialect="toy", key="k-1", temperature=0.2)
    with pytest.raises(nbchat.StreamError):
        chat.send("first")
    reply = chat.send("second")

    # The second stream's decoder did not inherit the first one's half-sent fragment.
    assert [(c.name, c.args) for c in reply.tool_calls] == [("lookup", '{"q": "x"}')]
    assert (reply.text, reply.status, reply.finish_reason) == ("Hello", "complete", "stop")
    assert fault.requests[1].json() == {
        "key": "k-1",
        "temperature": 0.2,
        "messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "Hel"},
            {"role": "user", "content": "second"},
        ],
    }


def test_fork_and_new_forget_the_conversation_but_keep_the_settings(
    toy: type[ToyDialect],
) -> None:
    chat = nbchat.Chat("http://127.0.0.1:1", dialect="toy", key="k-1", thread="t-1", token="tk")
    twin = chat.fork()
    assert twin.target == ToySettings(key="k-1", temperature=0.5, thread=None)
    assert (twin.base_url, twin.dialect, twin.history) == (chat.base_url, "toy", [])
    assert "token=***" in repr(twin)
    assert chat.target.thread == "t-1"  # the original is untouched
    chat.new()
    assert chat.target.thread is None


def test_chat_connect_gets_the_flags_and_the_help(toy: type[ToyDialect]) -> None:
    chat = connect_line("http://127.0.0.1:1 --dialect toy --key k-2 --temperature 0.9")
    assert (chat.dialect, chat.target.key, chat.target.temperature) == ("toy", "k-2", 0.9)
    text = connect_parser().format_help()
    for expected in ("--key KEY", "the toy's key [toy; TOY_KEY]", "--temperature", "POST /toy"):
        assert expected in text
    assert connect_parser().parse_argstring("--dialect toy").dialect == "toy"


def test_chat_connect_validates_at_connect_time_with_flag_names(toy: type[ToyDialect]) -> None:
    with pytest.raises(UsageError, match=r"the toy dialect needs --key \(or the TOY_KEY"):
        connect_line("http://127.0.0.1:1 --dialect toy")
    with pytest.raises(UsageError, match=r"--temperature: cannot read 'hot'"):
        connect_line("http://127.0.0.1:1 --dialect toy --key k --temperature hot")
    with pytest.raises(UsageError, match=r"--agent is not a setting of the toy dialect"):
        connect_line("http://127.0.0.1:1 --dialect toy --key k --agent ag_1")
    with pytest.raises(UsageError, match=r"the chats dialect needs --model"):
        connect_line("http://127.0.0.1:1 --dialect chats --user-id u")


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert settings_table() in readme, "run `python -m nbchat.dialects` and paste its output"
