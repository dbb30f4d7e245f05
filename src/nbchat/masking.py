"""Secrets out of a reply's events, before anything folds, shows or stores them.

A reply is untrusted text from a server that saw the request: a gateway or a misconfigured
proxy may echo its headers (the token) into the text, an error, a tool call or a citation.
Masking the events once, as they arrive, keeps every consumer clean: `Reply.text`, the
conversation sent back to the backend, `%%chat` outputs, the panel's state, exports.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import replace
from typing import Any

from .events import (
    Done,
    Error,
    Event,
    ReasoningDelta,
    Source,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
)
from .redact import Redactor, StreamMask

__all__ = ["ReplyMask"]


class ReplyMask:
    """Masks one reply's events (`Redactor` forms become `***`).

    Text and reasoning arrive in pieces, so a secret may be split between two deltas: the end
    of a delta that could start a secret waits for the next one (`StreamMask`), and what is
    still held when the reply ends comes before its Done or Error. Complete events (tool
    calls, results, errors, citations) are masked whole.
    """

    def __init__(self, redact: Redactor) -> None:
        self._redact = redact
        self._text = StreamMask(redact)
        self._reasoning = StreamMask(redact)

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
        """The events to show for `event`: none while its text is held, more at the end."""
        kind = type(event)
        if kind is TextDelta and self._text.passes(event.text):  # type: ignore[union-attr]
            return [event]  # the common case, kept short: nothing to mask, nothing held
        if kind is TextDelta or kind is ReasoningDelta:
            stream = self._text if kind is TextDelta else self._reasoning
            text = stream.feed(event.text)  # type: ignore[union-attr]
            return [kind(text)] if text else []
        if isinstance(event, (Done, Error)):
            return [*self._held(), self.complete(event)]
        return [self.complete(event)]

    def _held(self) -> list[Event]:
        held: list[Event] = []
        if reasoning := self._reasoning.flush():
            held.append(ReasoningDelta(reasoning))
        if text := self._text.flush():
            held.append(TextDelta(text))
        return held

    def complete(self, event: Event) -> Event:
        """A whole event with its strings masked (text deltas go through `__call__`)."""
        redact = self._redact
        if isinstance(event, Error):
            return Error(event.code, redact(event.message))
        if isinstance(event, ToolCallDelta):  # the arguments so far: hold a possible start
            shown = redact(event.arguments)
            return replace(event, arguments=shown[: len(shown) - redact.pending(shown)])
        if isinstance(event, ToolCall):
            return replace(event, args=_masked(event.args, redact))
        if isinstance(event, ToolResult):
            return replace(event, result=_masked(event.result, redact))
        if isinstance(event, Done) and event.sources:
            sources = tuple(
                Source(_masked(item.url, redact), _masked(item.title, redact))
                for item in event.sources
            )
            return replace(event, sources=sources)
        return event


def _masked(value: Any, redact: Redactor) -> Any:
    """`value` (decoded JSON) with every string in it masked, keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_masked(k, redact): _masked(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_masked(item, redact) for item in value)
    return value
