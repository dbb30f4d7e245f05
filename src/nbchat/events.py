"""Normalized stream events and the `Reply` that accumulates them.

Every dialect maps its wire payloads to these few types, so the widget, the magics and user
code handle one vocabulary whatever the backend speaks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .errors import StreamError

Status = Literal["streaming", "complete", "error", "incomplete", "stopped"]


@dataclass(frozen=True)
class Usage:
    """Token counts for one reply, as the server reported them (None where it did not)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None


@dataclass(slots=True)
class Start:
    """The reply began. `message_id`: the server's id for it, when the format gives one."""

    message_id: str | None = None
    type: ClassVar[str] = "start"


@dataclass(slots=True)
class TextDelta:
    """The next piece of the reply's text (str, untrusted model output: any length, any
    characters; join the pieces in order, or read `Reply.text`)."""

    text: str
    type: ClassVar[str] = "text"


@dataclass(slots=True)
class ToolCall:
    """The model called a tool.

    name: the tool's name (str).
    args: the arguments as the backend sent them, decoded from JSON: usually a dict
          (`{"expression": "6*7"}`), or whatever JSON value the backend chose (a string when
          it sends the arguments as unparsed JSON text). Untrusted.
    id:   the backend's id for the call, when it gives one; pairs the call with its result.
    """

    name: str
    args: Any = None
    id: str | None = None
    type: ClassVar[str] = "tool_call"


@dataclass(slots=True)
class ToolResult:
    """What a tool returned: `result` is the decoded JSON value (any type), paired with its
    `ToolCall` by `id`, else by `name` (the oldest call of that name still waiting)."""

    name: str
    result: Any = None
    id: str | None = None
    type: ClassVar[str] = "tool_result"


@dataclass(slots=True)
class Done:
    """The reply completed.

    message_id:    the server's id for the assistant message, when it gives one.
    usage:         token counts, when the server reports them.
    finish_reason: why the model stopped, in the backend's words (OpenAI's "stop", "length",
                   "tool_calls", "content_filter"); None when the format does not say.
    """

    message_id: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    type: ClassVar[str] = "done"


@dataclass(slots=True)
class Error:
    """The stream ended badly. `code` is short and machine-readable, `message` is for people.

    Codes: "server" (an `error` event from the backend), "connection" (cut mid-stream),
    "incomplete" (ended without `end`/`done`), "malformed" (undecodable payload),
    "timeout" (silence past the timeout), or the backend's own `error` code.
    """

    code: str
    message: str
    type: ClassVar[str] = "error"


Event = Start | TextDelta | ToolCall | ToolResult | Done | Error


@dataclass
class ToolCallRecord:
    """A tool call paired with its result once the result arrives."""

    name: str
    args: Any = None
    id: str | None = None
    result: Any = None
    done: bool = False


@dataclass
class Reply:
    """Everything one assistant turn produced, built up event by event.

    A reply is usable at every moment: while streaming, after an error (partial text kept),
    or after the user stopped it.

    text:            the text so far (str; the TextDelta pieces joined).
    status:          "streaming" until it ends; then "complete" (a `Done` arrived), "error"
                     (an `Error` event: see `error`), "incomplete" (the stream ended early),
                     or "stopped" (the user stopped it).
    error:           the `Error` event that ended it, else None.
    message_id:      the server's id for the assistant message, when given.
    tool_calls:      `ToolCallRecord`s in call order, each with its result once it arrived.
    usage:           token counts from `Done`, when the server reports them.
    finish_reason:   why the model stopped ("stop", "length"...), when the format says.
    events:          every event in arrival order.
    created_at:      the server's timestamp (ISO 8601 string), non-streaming chats only.
    user_message_id: the server's id for the user's message, non-streaming chats only.
    """

    message_id: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    events: list[Event] = field(default_factory=list)
    status: Status = "streaming"
    error: Error | None = None
    created_at: str | None = None
    user_message_id: str | None = None
    # Deltas are joined on read: appending to one string would copy it on every delta.
    _parts: list[str] = field(default_factory=list, repr=False, compare=False)

    @property
    def text(self) -> str:
        parts, count = self._parts, len(self._parts)
        if count > 1:
            # Replace only what was joined, so a delta appended meanwhile by a streaming
            # thread is kept.
            parts[:count] = ["".join(parts[:count])]
        return parts[0] if parts else ""

    def add(self, event: Event) -> None:
        """Fold one event into the reply."""
        self.events.append(event)
        if isinstance(event, TextDelta):
            self._parts.append(event.text)
        elif isinstance(event, Start):
            self.message_id = event.message_id or self.message_id
        elif isinstance(event, ToolCall):
            self.tool_calls.append(ToolCallRecord(event.name, event.args, event.id))
        elif isinstance(event, ToolResult):
            self._pair_result(event)
        elif isinstance(event, Done):
            self.message_id = event.message_id or self.message_id
            self.usage = event.usage
            self.finish_reason = event.finish_reason
            self.status = "complete"
        elif isinstance(event, Error):
            self.error = event
            self.status = "incomplete" if event.code == "incomplete" else "error"

    def _pair_result(self, event: ToolResult) -> None:
        # Match by id when the backend gives one, else the oldest pending call of that name.
        for call in self.tool_calls:
            if call.done:
                continue
            if (event.id and call.id == event.id) or (not event.id and call.name == event.name):
                call.result, call.done = event.result, True
                return
        self.tool_calls.append(ToolCallRecord(event.name, None, event.id, event.result, True))

    def raise_for_status(self) -> Reply:
        """This reply if it completed; else StreamError (with this reply as `.reply`).

        The one place nbchat raises StreamError: `send()`, `asend()` and the magics call it.
        """
        if self.status == "complete":
            return self
        detail = self.error.message if self.error else self.status
        raise StreamError(f"the reply did not complete ({self.status}): {detail}", self)

    def stop(self) -> None:
        """Mark a reply the user cut short; a finished reply stays as it was."""
        if self.status == "streaming":
            self.status = "stopped"

    @property
    def finished(self) -> bool:
        return self.status != "streaming"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no raw event list) for widget state and saved notebooks."""
        return {
            "text": self.text,
            "message_id": self.message_id,
            "status": self.status,
            "tool_calls": [dataclasses.asdict(call) for call in self.tool_calls],
            "usage": dataclasses.asdict(self.usage) if self.usage else None,
            "error": {"code": self.error.code, "message": self.error.message}
            if self.error
            else None,
        }

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"Reply(status={self.status!r}, text={preview!r}, tool_calls={len(self.tool_calls)})"
