"""Secrets out of a reply's events, before anything folds, shows or stores them.

A reply is untrusted text from a server that saw the request: a gateway or a misconfigured
proxy may echo its headers (the token) into the text, an error, a tool call, an id or a
citation. Masking the events once, as they arrive, keeps every consumer clean: `Reply.text`,
the conversation sent back to the backend, `%%chat` outputs, the panel's state, exports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from .events import Event, ReasoningDelta, Source, TextDelta, ToolCall, ToolCallDelta
from .redact import Redactor, StreamMask

__all__ = ["ReplyMask", "masked"]


class ReplyMask:
    """Masks one reply's events (`Redactor` forms become `***`).

    Text and reasoning arrive in pieces, so a secret may be split between two deltas: the end
    of a delta that could start a secret waits for the next one (`StreamMask`); what is held
    comes out before the next event of another kind (a tool call, the end), so the reply keeps
    its order. A tool call's arguments grow the same way, per call. Every other string an
    event carries (error messages and codes, ids, names, results, citations) is masked whole.

    If the reply is stopped, what is held is dropped: it may be the start of a secret.
    """

    def __init__(self, redact: Redactor) -> None:
        self._redact = redact
        self._text = StreamMask(redact)
        self._reasoning = StreamMask(redact)
        self._arguments: dict[str, _Arguments] = {}  # per tool call still streaming

    def events(self, events: Iterable[Event]) -> Iterator[Event]:
        passes = self._text.passes
        for event in events:
            if type(event) is TextDelta and passes(event.text):
                yield event  # `__call__`'s common case, without its call and list per delta
            else:
                yield from self(event)

    async def aevents(self, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        async for event in events:
            for shown in self(event):
                yield shown

    def __call__(self, event: Event) -> list[Event]:
        """The events to show for `event`: none while its text is held, more before others."""
        kind = type(event)
        if kind is TextDelta and self._text.passes(event.text):  # type: ignore[union-attr]
            return [event]  # the common case, kept short: nothing to mask, nothing held
        if kind is TextDelta or kind is ReasoningDelta:
            stream = self._text if kind is TextDelta else self._reasoning
            text = stream.feed(event.text)  # type: ignore[union-attr]
            return [kind(text)] if text else []
        held = self._held()
        if isinstance(event, ToolCallDelta):
            return [*held, self._growing(event)]
        if isinstance(event, ToolCall):
            self._arguments.pop(event.id or event.name, None)
        return [*held, masked(event, self._redact)]

    def _held(self) -> list[Event]:
        held: list[Event] = []
        if reasoning := self._reasoning.flush():
            held.append(ReasoningDelta(reasoning))
        if text := self._text.flush():
            held.append(TextDelta(text))
        return held

    def _growing(self, event: ToolCallDelta) -> ToolCallDelta:
        """A streaming call's arguments so far, masked: only the new part is looked at."""
        key = event.id or event.name
        state = self._arguments.get(key)
        if state is None or not event.arguments.startswith(state.raw):  # another call
            state = self._arguments[key] = _Arguments(StreamMask(self._redact))
        state.shown += state.mask.feed(event.arguments[len(state.raw) :])
        state.raw = event.arguments
        redact = self._redact
        return ToolCallDelta(redact(event.id or "") or None, redact(event.name), state.shown)


@dataclasses.dataclass
class _Arguments:
    mask: StreamMask
    raw: str = ""  # the arguments as received so far
    shown: str = ""  # the same, masked


def masked(value: Any, redact: Redactor) -> Any:
    """`value` with every string in it masked: an event's fields, decoded JSON (keys too)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {masked(k, redact): masked(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(masked(item, redact) for item in value)
    if isinstance(value, Source) or (
        dataclasses.is_dataclass(value) and type(value).__module__ == "nbchat.events"
    ):
        changes = {}
        for item in dataclasses.fields(value):
            before = getattr(value, item.name)
            after = masked(before, redact)
            if after is not before:
                changes[item.name] = after
        return dataclasses.replace(value, **changes) if changes else value  # type: ignore[type-var]
    return value
