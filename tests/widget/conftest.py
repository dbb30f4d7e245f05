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
        """Custom messages (the streaming protocol), in order."""
        with self._lock:
            return [d["content"] for _, d in self.sent if d.get("method") == "custom"]

    def timed_customs(self) -> list[tuple[float, dict[str, Any]]]:
        with self._lock:
            return [(t, d["content"]) for t, d in self.sent if d.get("method") == "custom"]

    def state_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d["state"] for _, d in self.sent if d.get("method") == "update"]

    def from_view(self, content: dict[str, Any]) -> None:
        """Deliver a custom message as if the front end sent it."""
        self.handle_msg(
            {"content": {"data": {"method": "custom", "content": content}}, "buffers": []}
        )


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


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)
