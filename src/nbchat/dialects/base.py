"""What a dialect is: its settings, how it builds requests, and how it decodes a stream.

A dialect translates one backend's wire format. It does no I/O: the client sends the
`HttpRequest`s it builds and feeds it what comes back. Adding a backend is one module with a
`Dialect` subclass (registered in `nbchat.dialects`) and its tests.

The shapes, in one place:

    settings      a frozen dataclass of `setting(...)` fields (`nbchat.settings`); the
                  dialect's own, e.g. `model`, `chat_id`. Chat passes an instance to every
                  method; required fields are checked before `prepare`, so they are set there.
    history       `Sequence[Turn]`: the conversation so far, oldest first, ending with the turn
                  being sent (its `user` text; its reply still empty). Earlier turns carry
                  their `reply` (final, unless another thread still streams it: check
                  `reply.finished`; any status, so a stopped or failed reply is there too, for
                  the dialect to keep or skip), with `reply.text` and `reply.tool_calls`
                  (`ToolCallRecord`: name, args, id, result, done).
    HttpRequest   method, a path relative to the base URL, a JSON body, headers.
    events        `nbchat.events`: Start, TextDelta, ToolCall, ToolResult, Done, Error.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import orjson

from ..errors import ConfigurationError, NbchatError
from ..events import Event, Reply
from ..settings import Setting, declared

if TYPE_CHECKING:
    from ..turn import Turn

__all__ = ["Decoder", "Dialect", "HttpRequest", "MalformedPayload"]

#: A dialect's settings dataclass.
S = TypeVar("S")


@dataclass(frozen=True)
class HttpRequest:
    """method: "POST"...; path: relative to the base URL ("/chat/stream"); json: the body."""

    method: str
    path: str
    json: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def post(cls, path: str, body: dict[str, Any], *, stream: bool) -> HttpRequest:
        """A JSON POST answered with an SSE stream (`stream`) or with one JSON object."""
        accept = "text/event-stream" if stream else "application/json"
        return cls("POST", path, body, {"Accept": accept, "Content-Type": "application/json"})


class MalformedPayload(NbchatError, ValueError):
    """A payload the dialect cannot read: a stream ends with `Error("malformed")`."""


class Decoder(ABC):
    """Decodes one stream; `Dialect.decoder()` makes a fresh one per stream, so a decoder may
    keep state (e.g. to merge streamed tool-call fragments, or to remember a finish reason
    until the stream's closing sentinel).

    E.g. OpenAI-style chunks: collect `delta.tool_calls` fragments by index and remember
    `finish_reason` and `usage` as they pass (returning [] or TextDeltas), then answer
    `data: [DONE]` with the merged `ToolCall`s and `Done(finish_reason=..., usage=...)`; `end()`
    can return the same for a server that closes without the sentinel.
    """

    @abstractmethod
    def decode(self, data: str, event: str) -> list[Event]:
        """The normalized events for one SSE message, in order; [] to skip it.

        `data` is the message's data field, never empty or only whitespace (keep-alives are
        dropped before); a sentinel such as OpenAI's `[DONE]` arrives as it is. `event` is the
        SSE event name ("message" when the server gave none). The reply ends at the first
        `Done` or `Error` returned; raise MalformedPayload for data that cannot be read.
        """

    def end(self) -> list[Event]:
        """Events for a stream that closed before any `Done` or `Error`.

        The default, [], ends the reply with `Error("incomplete")`; a format whose stream
        may simply end (or that buffers events until then) returns what it still holds.
        """
        return []


class Dialect(ABC, Generic[S]):
    """One wire format. Subclasses set the class attributes and the abstract methods.

    name:       what `dialect=` and `--dialect` take, e.g. "chats".
    summary:    endpoint and auth in one line, for the README and `%chat_connect --help`.
    settings:   the settings dataclass (see `nbchat.settings.setting`).
    connection: restated connection settings (`nbchat.settings.CONNECTION`), e.g. the token
                with another environment variable: `replace(TOKEN, env=(..., "X_API_KEY"))`.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    settings: ClassVar[type[Any]]
    connection: ClassVar[tuple[Setting, ...]] = ()

    @classmethod
    def declared(cls) -> tuple[Setting, ...]:
        """This dialect's own settings (not the connection ones)."""
        return declared(cls.settings)

    def prepare(self, settings: S) -> tuple[S, HttpRequest | None]:
        """Fill in what the conversation still lacks (a chat id, a session id).

        Returns the completed settings and, when the server must be asked first (e.g. to
        create a chat), the request whose JSON answer `prepared` reads. The default needs
        nothing.
        """
        return settings, None

    def prepared(self, settings: S, body: Any) -> S:
        """The settings completed from the JSON answer to `prepare`'s request."""
        return settings

    @abstractmethod
    def request(self, settings: S, history: Sequence[Turn], *, stream: bool) -> HttpRequest:
        """The request that sends `history[-1].user`; `stream` picks the streaming endpoint
        (SSE) or the one answered with a single JSON object. Raises ConfigurationError where
        the format has no such endpoint."""

    def parse_reply(self, body: Any) -> Reply:
        """A complete Reply from the non-streaming endpoint's JSON answer (its events, ending
        with `Done`, and `created_at`/`user_message_id` where the format has them); raises
        MalformedPayload for an answer it cannot read."""
        raise ConfigurationError(f"the {self.name} dialect has no non-streaming endpoint")

    @abstractmethod
    def decoder(self) -> Decoder:
        """A fresh decoder for one stream."""


def parse_json_object(data: str) -> dict[str, Any]:
    """The JSON object in an SSE payload, or MalformedPayload.

    orjson: parsing is most of the per-delta cost, and long replies have many deltas.
    """
    try:
        payload = orjson.loads(data)
    except ValueError as exc:
        raise MalformedPayload(f"payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise MalformedPayload("payload is not a JSON object")
    return payload


def text_field(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key, "")
    if type(value) is not str:
        raise MalformedPayload(f"{key!r} is not a string")
    return value
