"""What every dialect provides: request building and payload decoding, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from ..errors import NbchatError
from ..events import Event, Reply


@dataclass(frozen=True)
class Target:
    """Who a message goes to. Each dialect reads the fields it needs."""

    chat_id: str | None = None
    model: str | None = None
    user_id: str | None = None
    workflow_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    json: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class MalformedPayload(NbchatError, ValueError):
    """A payload the dialect cannot read: a stream ends with `Error("malformed")`."""


class Dialect(Protocol):
    name: str

    def prepare(self, target: Target) -> tuple[Target, HttpRequest | None]:
        """Fill in what the conversation still lacks (a chat id, a session id).

        Returns the completed target and, when the server must be asked (e.g. to create a
        chat), the request whose JSON answer `prepared` reads.
        """

    def prepared(self, target: Target, body: Any) -> Target:
        """The target completed from the answer to `prepare`'s request."""

    def stream_request(self, target: Target, text: str) -> HttpRequest: ...

    def send_request(self, target: Target, text: str) -> HttpRequest:
        """The non-streaming request; raises ConfigurationError where the format has none."""

    def parse_reply(self, body: Any) -> Reply:
        """A complete Reply from the non-streaming endpoint's JSON."""

    def decode(self, data: str) -> list[Event]:
        """Normalized events for one SSE `data` payload; [] for unknown types.

        A reply ends with `Done` or `Error`.
        """


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
