"""`Turn`: one exchange of a conversation, and the listener type that hears turns happen."""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from .events import Event, Reply

__all__ = ["Listener", "Listeners", "Turn", "TurnKind", "utc_now"]

log = logging.getLogger("nbchat")

#: What a listener is told: a turn began, one of its events arrived, or it ended.
TurnKind = Literal["turn_start", "event", "turn_end"]


@dataclass
class Turn:
    """One exchange: what the user said and the reply it got (complete or not).

    user:  the message as sent (str).
    reply: the `Reply`, filled event by event while the turn streams; final once
           `reply.finished`.
    id:    a random hex id, unique per turn (32 characters).
    dialect, model, server, started_at, ended_at: where and when the reply came from, set by
           the `Chat` (see `provenance()`).
    """

    user: str
    reply: Reply = field(default_factory=Reply)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    dialect: str | None = None
    model: str | None = None  # the model (or agent) the message went to
    server: str | None = None  # scheme://host[:port] only: no path, query or credentials
    started_at: str | None = None  # UTC, ISO 8601, when the request went out
    ended_at: str | None = None  # UTC, ISO 8601, when the reply finished (in any status)

    def provenance(self) -> dict[str, Any]:
        """Where the reply came from, JSON-ready: what a saved notebook records beside it.

        Keys: nbchat_version, dialect, model, server, message_id, user_message_id, usage
        ({input_tokens, output_tokens, total_tokens} or None), started_at, ended_at, status.
        """
        from . import __version__

        usage = self.reply.usage
        return {
            "nbchat_version": __version__,
            "dialect": self.dialect,
            "model": self.model,
            "server": self.server,
            "message_id": self.reply.message_id,
            "user_message_id": self.reply.user_message_id,
            "usage": dataclasses.asdict(usage) if usage else None,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.reply.status,
        }

    def to_dict(self) -> dict[str, Any]:
        """The turn as JSON-ready data: id, user text, reply text and its provenance."""
        return {"id": self.id, "user": self.user, "reply": self.reply.text, **self.provenance()}


def utc_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds: 2026-11-30T08:00:00.000Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: `listener(kind, turn, event)`: `event` is the normalized event for "event", else None.
#: Listeners run on the thread that streams the turn; what they raise is logged and dropped.
Listener = Callable[[TurnKind, Turn, "Event | None"], None]


class Listeners:
    """Who hears a Chat's turns. `all` is replaced, never mutated, so a streaming thread reads
    it without a lock, and a stream skips the call per event when nobody listens."""

    def __init__(self) -> None:
        self.all: tuple[Listener, ...] = ()

    def add(self, listener: Listener) -> None:
        self.all = (*self.all, listener)

    def remove(self, listener: Listener) -> None:
        self.all = tuple(x for x in self.all if x is not listener)

    def __call__(self, kind: TurnKind, turn: Turn, event: Event | None) -> None:
        for listener in self.all:
            try:
                listener(kind, turn, event)
            except Exception:  # a broken display must not break the conversation
                log.exception("nbchat listener failed")
