"""Widget fixtures: a comm that records what the kernel would send to the front end."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm

import nbchat
from nbchat.server import ServerHandle
from nbchat.widget import ChatWidget


class RecordingComm(BaseComm):
    """Keeps every message published to the front end, with the time it was sent."""

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[tuple[float, dict[str, Any]]] = []
        self.last_buffers: list[bytes] = []
        self._lock = threading.Lock()
        super().__init__(**kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[bytes] | None = None,
        **keys: Any,
    ) -> None:
        with self._lock:
            self.sent.append((time.monotonic(), data or {}))
            if buffers:
                self.last_buffers = [bytes(b) for b in buffers]

    def customs(self) -> list[dict[str, Any]]:
        """Custom messages (the streaming protocol), in order, deltas as dicts."""
        return [content for _, content in self.timed_customs()]

    def raw_customs(self) -> list[Any]:
        """Custom messages as sent (deltas are lists)."""
        with self._lock:
            return [d["content"] for _, d in self.sent if d.get("method") == "custom"]

    def timed_customs(self) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            sent = [(t, d["content"]) for t, d in self.sent if d.get("method") == "custom"]
        return [(t, as_dict(content)) for t, content in sent]

    def state_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d["state"] for _, d in self.sent if d.get("method") == "update"]

    def from_view(self, content: dict[str, Any]) -> None:
        """Deliver a custom message as if the front end sent it."""
        self.handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        )


def as_dict(content: Any) -> dict[str, Any]:
    """A custom message in dict form: a delta `["delta", seq, turn, text, tools?, reasoning?]`
    too (tools null when only reasoning came)."""
    if not isinstance(content, list):
        return content
    delta = dict(zip(("type", "seq", "turn", "text", "tools", "reasoning"), content, strict=False))
    return {k: v for k, v in delta.items() if v is not None}


def view_transcript(customs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transcript a view that saw every message from the first one builds (as js/src/live.ts
    does): the kernel never re-sends it, so this must equal the widget's `messages`."""
    live: dict[str, dict[str, Any]] = {}
    transcript: list[dict[str, Any]] = []
    for m in customs:
        if m["type"] == "turn_start":
            live[m["turn"]] = {"text": m["text"], "reasoning": m.get("reasoning", "")}
        elif m["type"] == "delta":
            live[m["turn"]]["text"] += m["text"]
            live[m["turn"]]["reasoning"] += m.get("reasoning", "")
        elif m["type"] == "turn_end":
            # A turn that never started live comes whole in its turn_end.
            turn = live.pop(m["turn"], {"text": "", "reasoning": ""})
            text, reasoning = turn["text"] + m["text"], turn["reasoning"] + m.get("reasoning", "")
            transcript += [m["user_entry"], {**m["entry"], "text": text, "reasoning": reasoning}]
    return transcript


@pytest.fixture(autouse=True)
def recording_comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    """Every widget made in a test gets a RecordingComm."""
    made: list[RecordingComm] = []

    def create_comm(**kwargs: Any) -> RecordingComm:
        made.append(RecordingComm(**kwargs))
        return made[-1]

    monkeypatch.setattr(comm, "create_comm", create_comm)
    return made


MakeChat = Callable[..., nbchat.Chat]


@pytest.fixture
def make_chat(server: ServerHandle) -> Iterator[MakeChat]:
    """Chats against the reference server over loopback (chats dialect)."""
    chats: list[nbchat.Chat] = []

    def make(**kwargs: Any) -> nbchat.Chat:
        options: dict[str, Any] = {"dialect": "chats", "user_id": "user-1", "model": "gpt-4"}
        chats.append(nbchat.Chat(server.url, **(options | kwargs)))
        return chats[-1]

    yield make
    for chat in chats:
        chat.close()


@pytest.fixture
def make_widget(make_chat: MakeChat) -> Iterator[Callable[..., ChatWidget]]:
    widgets: list[ChatWidget] = []

    def make(chat: nbchat.Chat | None = None) -> ChatWidget:
        widgets.append(ChatWidget(chat or make_chat()))
        return widgets[-1]

    yield make
    for widget in widgets:
        widget.close()


def recorder(widget: ChatWidget) -> RecordingComm:
    assert isinstance(widget.comm, RecordingComm)
    return widget.comm


def open_view(widget: ChatWidget) -> RecordingComm:
    """A view opens, as in JupyterLab: its first message asks for a sync (js/src/widget.ts).
    From then on a finished turn is not re-sent as state. Returns the comm, its record
    cleared, so what follows is what the turns cost."""
    comm = recorder(widget)
    comm.from_view({"type": "sync", "have": 0, "last": None})
    comm.sent.clear()
    return comm


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)
