"""Normalized stream events and the `Reply` that accumulates them.

Every dialect maps its wire payloads to these few types, so the widget, the magics and user
code handle one vocabulary whatever the backend speaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
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
class ReasoningDelta:
    """A piece of the model's reasoning ("thinking"), streamed before or between its answer.

    OpenAI-compatible servers that reason (vLLM, llama.cpp, Ollama, DeepSeek) send it as
    `reasoning_content` or `reasoning` beside `content` in each delta.
    """

    text: str
    type: ClassVar[str] = "reasoning"


@dataclass(slots=True)
class ToolCallDelta:
    """A tool call still streaming: `arguments` is the JSON text received so far (not parsed).

    The complete call follows as one `ToolCall` with parsed `args`.
    """

    id: str | None
    name: str
    arguments: str
    type: ClassVar[str] = "tool_call_delta"


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


#: Where a tool call stands. Kernel-side tools (`nbchat.tools`) go "pending" (waiting for
#: approval) → "running" → "done", "error" or "denied"; "cancelled" when the reply was stopped
#: first. A backend's own tool results are "done".
ToolState = Literal["pending", "running", "done", "error", "denied", "cancelled"]


@dataclass(slots=True)
class ToolStatus:
    """A kernel-side tool call changed state before its result: "pending" (it waits for
    approval: `Chat.decide(id, approved)`) or "running" (approved, the function runs)."""

    id: str | None
    name: str
    status: ToolState
    type: ClassVar[str] = "tool_status"


@dataclass(slots=True)
class ToolResult:
    """What a tool returned: `result` is the decoded JSON value (any type), paired with its
    `ToolCall` by `id`, else by `name` (the oldest call of that name still waiting).

    For kernel-side tools `result` is the text sent to the model (the serialized value, an
    error message, or the denial), `status` says which ("done", "error", "denied"), and
    `elapsed` how long the function ran, in seconds (None when it did not run).
    """

    name: str
    result: Any = None
    id: str | None = None
    status: ToolState = "done"
    elapsed: float | None = None
    type: ClassVar[str] = "tool_result"


@dataclass(frozen=True)
class Source:
    """A citation a server attached to its reply: a link and, when given, its title."""

    url: str | None = None
    title: str | None = None


@dataclass(slots=True)
class Done:
    """The reply completed.

    message_id:    the server's id for the assistant message, when it gives one.
    usage:         token counts, when the server reports them.
    finish_reason: why the model stopped, in the backend's words (OpenAI's "stop", "length"
                   (cut off by a token limit), "tool_calls", "content_filter"); None when the
                   format does not say.
    sources:       citations the server sent with the reply.
    """

    message_id: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    sources: tuple[Source, ...] = ()
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


Event = (
    Start
    | TextDelta
    | ReasoningDelta
    | ToolCallDelta
    | ToolCall
    | ToolStatus
    | ToolResult
    | Done
    | Error
)


@dataclass
class ToolCallRecord:
    """A tool call paired with its result once the result arrives.

    status:  None for a call nothing has acted on yet (a backend's call without a result);
             else a `ToolState`. `elapsed`: seconds the tool ran, once it has.
    """

    name: str
    args: Any = None
    id: str | None = None
    result: Any = None
    done: bool = False
    status: ToolState | None = None
    elapsed: float | None = None


@dataclass
class Reply:
    """Everything one assistant turn produced, built up event by event.

    A reply is usable at every moment: while streaming, after an error (partial text kept),
    or after the user stopped it.

    text:            the text so far (str; the TextDelta pieces joined).
    reasoning:       the model's reasoning so far (str; the ReasoningDelta pieces joined),
                     kept apart from `text`; "" when the backend sent none.
    status:          "streaming" until it ends; then "complete" (a `Done` arrived), "error"
                     (an `Error` event: see `error`), "incomplete" (the stream ended early),
                     or "stopped" (the user stopped it).
    error:           the `Error` event that ended it, else None.
    message_id:      the server's id for the assistant message, when given.
    tool_calls:      `ToolCallRecord`s in call order, each with its result once it arrived.
    usage:           token counts from `Done`, when the server reports them.
    finish_reason:   why the model stopped ("stop", "length": cut off by the token limit...),
                     when the format says.
    sources:         `Source` citations the server sent with the reply (list).
    events:          every event in arrival order.
    created_at:      the server's timestamp (ISO 8601 string), non-streaming chats only.
    user_message_id: the server's id for the user's message, non-streaming chats only.
    """

    message_id: str | None = None
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    sources: list[Source] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    status: Status = "streaming"
    error: Error | None = None
    created_at: str | None = None
    user_message_id: str | None = None
    _parts: list[str] = field(default_factory=list, repr=False, compare=False)
    _reasoning: list[str] = field(default_factory=list, repr=False, compare=False)
    _on_stop: list[Callable[[], None]] = field(default_factory=list, repr=False, compare=False)

    @property
    def text(self) -> str:
        return join_parts(self._parts)

    @property
    def reasoning(self) -> str:
        return join_parts(self._reasoning)

    def add(self, event: Event) -> None:
        """Fold one event into the reply."""
        self.events.append(event)
        if isinstance(event, TextDelta):
            self._parts.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
        elif isinstance(event, Start):
            self.message_id = event.message_id or self.message_id
        elif isinstance(event, ToolCall):
            self.tool_calls.append(ToolCallRecord(event.name, event.args, event.id))
        elif isinstance(event, ToolResult):
            self._pair_result(event)
        elif isinstance(event, ToolStatus):
            for call in self.tool_calls:
                if call.id == event.id and not call.done:
                    call.status = event.status
        elif isinstance(event, Done):
            self.message_id = event.message_id or self.message_id
            self.usage = event.usage
            self.finish_reason = event.finish_reason
            self.sources.extend(event.sources)
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
                call.status, call.elapsed = event.status, event.elapsed
                return
        self.tool_calls.append(
            ToolCallRecord(
                event.name, None, event.id, event.result, True, event.status, event.elapsed
            )
        )

    def raise_for_status(self) -> Reply:
        """This reply if it completed; else StreamError (with this reply as `.reply`).

        The one place nbchat raises StreamError: `send()`, `asend()` and the magics call it.
        """
        if self.status == "complete":
            return self
        detail = self.error.message if self.error else self.status
        raise StreamError(f"the reply did not complete ({self.status}): {detail}", self)

    def stop(self) -> None:
        """Stop the reply: its stream closes at once (from any thread) and it is kept, marked
        "stopped"; tool calls still waiting or running are marked "cancelled". A finished reply
        stays as it was."""
        if self.status != "streaming":
            return
        self.status = "stopped"
        for call in self.tool_calls:
            if not call.done and call.status in ("pending", "running"):
                call.status = "cancelled"
        for hook in list(self._on_stop):
            hook()

    def on_stop(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook()` when the reply is stopped (the stream that fills it closes itself);
        returns the function that removes the hook."""
        self._on_stop.append(hook)

        def remove() -> None:
            if hook in self._on_stop:
                self._on_stop.remove(hook)

        return remove

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
            "reasoning": self.reasoning,
            "finish_reason": self.finish_reason,
            "sources": [dataclasses.asdict(source) for source in self.sources],
            "error": {"code": self.error.code, "message": self.error.message}
            if self.error
            else None,
        }

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        return f"Reply(status={self.status!r}, text={preview!r}, tool_calls={len(self.tool_calls)})"


def join_parts(parts: list[str]) -> str:
    """Deltas joined on read (appending to one string would copy it on every delta); the
    list keeps the joined string as its only part."""
    count = len(parts)
    if count > 1:
        # Replace only what was joined, so a delta appended meanwhile by a streaming thread
        # is kept.
        parts[:count] = ["".join(parts[:count])]
    return parts[0] if parts else ""
