"""`Turn`: one exchange of a conversation, and the listener type that hears turns happen."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .events import Event, Reply

__all__ = ["Listener", "Turn", "TurnKind"]

#: What a listener is told: a turn began, one of its events arrived, or it ended.
TurnKind = Literal["turn_start", "event", "turn_end"]


@dataclass
class Turn:
    """One exchange: what the user said and the reply it got (complete or not).

    user:  the message as sent (str).
    reply: the `Reply`, filled event by event while the turn streams; final once
           `reply.finished`.
    id:    a random hex id, unique per turn (32 characters).
    """

    user: str
    reply: Reply = field(default_factory=Reply)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


#: `listener(kind, turn, event)`: `event` is the normalized event for "event", else None.
#: Listeners run on the thread that streams the turn; what they raise is logged and dropped.
Listener = Callable[[TurnKind, Turn, "Event | None"], None]
