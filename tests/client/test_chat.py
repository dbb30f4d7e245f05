"""Chat as a conversation: history, listeners, configuration, secrets, a light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import nbchat
from nbchat import errors

from .faultserver import FaultServer, Script, sse

PATH = "/chat/stream"
BODY = sse({"type": "text", "content": "Hi"}, {"type": "done"})
TOKEN = "tok-SECRET-123"
COOKIE = "cookie-SECRET-456"


def test_history_keeps_every_turn(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=BODY))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    chat.send("one")
    chat.send("two")
    assert [(t.user, t.reply.text, t.reply.status) for t in chat.history] == [
        ("one", "Hi", "complete"),
        ("two", "Hi", "complete"),
    ]
    chat.new()
    assert chat.history == []


def test_listeners_hear_every_turn_in_order(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=BODY))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")
    heard: list[tuple[str, str, str | None]] = []
    unsubscribe = chat.subscribe(
        lambda kind, turn, event: heard.append((kind, turn.user, event and event.type))
    )
    chat.send("one")
    unsubscribe()
    chat.send("two")
    assert heard == [
        ("turn_start", "one", None),
        ("event", "one", "text"),
        ("event", "one", "done"),
        ("turn_end", "one", None),
    ]


def test_a_failing_listener_does_not_break_the_reply(fault: FaultServer) -> None:
    fault.script(PATH, Script(body=BODY))
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag_1")

    def broken(*_: object) -> None:
        raise RuntimeError("display went away")

    chat.subscribe(broken)
    assert chat.send("one").text == "Hi"


def test_environment_configures_a_chat(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBCHAT_BASE_URL", "http://127.0.0.1:9999/")
    monkeypatch.setenv("NBCHAT_DIALECT", "agents")
    monkeypatch.setenv("NBCHAT_AGENT_ID", "ag_env")
    chat = nbchat.Chat()
    assert (chat.base_url, chat.dialect, chat.target.agent_id) == (
        "http://127.0.0.1:9999",
        "agents",
        "ag_env",
    )


def test_no_base_url_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NBCHAT_BASE_URL", raising=False)
    with pytest.raises(errors.ConfigurationError, match="NBCHAT_BASE_URL"):
        nbchat.Chat()


def test_empty_messages_are_refused() -> None:
    chat = nbchat.Chat("http://127.0.0.1:1", dialect="agents", agent_id="a")
    with pytest.raises(errors.ConfigurationError):
        chat.send("   ")


def test_secrets_stay_out_of_reprs_and_errors(fault: FaultServer, tmp_path: Path) -> None:
    fault.script(
        PATH, Script(401, {"Content-Type": "application/json"}, [b'{"message": "bad token"}'])
    )
    chat = nbchat.Chat(
        f"http://user:pw-SECRET@{fault.url.removeprefix('http://')}",
        dialect="agents",
        agent_id="ag_1",
        token=TOKEN,
        cookies={"session": COOKIE},
    )
    with pytest.raises(errors.AuthenticationError) as caught:
        chat.send("hi")
    shown = " ".join(
        [repr(chat), str(caught.value), repr(caught.value), repr(chat.history), chat.base_url]
    )
    for secret in (TOKEN, COOKIE, "pw-SECRET"):
        assert secret not in shown
    assert "token=***" in repr(chat)


def test_connection_errors_do_not_show_url_passwords() -> None:
    chat = nbchat.Chat(
        "http://me:pw-SECRET@127.0.0.1:1", dialect="agents", agent_id="a", max_retries=0
    )
    with pytest.raises(errors.ConnectionError) as caught:
        chat.send("hi")
    assert "pw-SECRET" not in str(caught.value)


def test_import_is_light() -> None:
    code = (
        "import sys, nbchat\n"
        "heavy = [m for m in ('nbchat.server', 'nbchat.widget', 'nbchat.magics', 'anywidget',"
        "  'ipywidgets', 'IPython', 'starlette', 'uvicorn', 'jupyter_client', 'pandas', 'numpy',"
        " 'polars', 'tiktoken', 'tabulate', 'pydantic', 'docstring_parser') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_url_without_scheme_is_refused_at_once_without_its_password() -> None:
    with pytest.raises(errors.ConfigurationError, match=r"needs http:// or https://") as refused:
        nbchat.Chat("user:s3cret@example.com:3026", dialect="chats", model="m", user_id="u")
    assert "s3cret" not in str(refused.value)
    assert refused.value._render_traceback_() == [f"ConfigurationError: {refused.value}"]
