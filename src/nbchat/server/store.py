"""In-memory state of the reference server: chats, agent sessions, stream counters."""

from __future__ import annotations

import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .demo_model import Turn

#: The chat the spec pages' curl examples post to, so they work as printed.
EXAMPLE_CHAT_ID = "550e8400-e29b-41d4-a716-446655440000"
EXAMPLE_USER_ID = "user-123"

#: Demo agents and whether their balance allows another reply. The spec's example agent works.
AGENTS = {"ag_demo": True, "ag_c47e7c97_b2f2": True, "ag_broke": False}


def now_iso() -> str:
    """ISO 8601 UTC with milliseconds, as in the spec: 2024-02-04T12:00:00.000Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Message:
    id: str
    chat_id: str
    role: str
    content: str
    created_at: str = field(default_factory=now_iso)

    def to_json(self) -> dict[str, str]:
        return {
            "id": self.id,
            "chatId": self.chat_id,
            "role": self.role,
            "content": self.content,
            "createdAt": self.created_at,
        }


@dataclass
class Chat:
    id: str
    user_id: str
    title: str | None = None
    created_at: str = field(default_factory=now_iso)
    messages: list[Message] = field(default_factory=list)

    def to_json(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "userId": self.user_id,
            "title": self.title,
            "createdAt": self.created_at,
        }

    def add(self, role: str, content: str) -> Message:
        # Ids derive from the chat and position, so a replayed conversation has the same ids.
        message_id = str(uuid.uuid5(uuid.UUID(self.id), str(len(self.messages))))
        message = Message(message_id, self.id, role, content)
        self.messages.append(message)
        return message

    def history(self) -> list[Turn]:
        """Finished user/assistant exchanges, oldest first, for the demo model."""
        turns, pending = [], None
        for message in self.messages:
            if message.role == "user":
                pending = message.content
            elif pending is not None:
                turns.append(Turn(pending, message.content))
                pending = None
        return turns


@dataclass
class StreamStats:
    """Counters tests read to see what the server did with each stream."""

    started: int = 0
    completed: int = 0
    cancelled: int = 0
    deltas: int = 0
    peak: int = 0  # most streams open at once

    @property
    def active(self) -> int:
        return self.started - self.completed - self.cancelled

    def open(self) -> None:
        self.started += 1
        self.peak = max(self.peak, self.active)


@dataclass
class Store:
    chats: dict[str, Chat] = field(default_factory=dict)
    sessions: dict[str, list[Turn]] = field(default_factory=dict)
    stats: StreamStats = field(default_factory=StreamStats)

    def __post_init__(self) -> None:
        self.chats.setdefault(EXAMPLE_CHAT_ID, Chat(EXAMPLE_CHAT_ID, EXAMPLE_USER_ID))

    def create_chat(
        self, user_id: str, title: str | None = None, *, chat_id: str | None = None
    ) -> Chat:
        chat = Chat(chat_id or str(uuid.uuid4()), user_id, title)
        self.chats[chat.id] = chat
        return chat


class RateLimiter:
    """At most `limit` requests in any `window` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self.times: deque[float] = deque()

    def retry_after(self) -> float | None:
        """Record a request; None if allowed, else seconds until one would be."""
        now = time.monotonic()
        while self.times and self.times[0] <= now - self.window:
            self.times.popleft()
        if len(self.times) >= self.limit:
            return self.times[0] + self.window - now
        self.times.append(now)
        return None
