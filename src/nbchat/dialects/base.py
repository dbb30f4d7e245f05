"""What every dialect provides: request building and payload decoding, no I/O."""

from __future__ import annotations

import dataclasses
import json
import re
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

    orjson: parsing is most of the per-delta cost, and long replies have many deltas. orjson
    refuses a lone UTF-16 surrogate escape (`"\\ud83d"`), which is legal JSON that servers
    send when they cut text between the two halves of a character; only then the payload is
    read again with the stdlib parser, which keeps the half. `EventDecoder` joins such halves
    across deltas (as a browser's string concatenation does) and replaces any left alone.
    """
    try:
        payload = orjson.loads(data)
    except ValueError as exc:
        payload = _loads_with_lone_surrogates(data, exc)
    if not isinstance(payload, dict):
        raise MalformedPayload("payload is not a JSON object")
    return payload


def _loads_with_lone_surrogates(data: str, orjson_error: ValueError) -> Any:
    if "\\u" not in data:  # no escape, so no surrogate: orjson was right to refuse it
        raise MalformedPayload(f"payload is not JSON: {orjson_error}") from None
    try:
        payload = json.loads(data, parse_constant=_refuse_constant)
    except ValueError:
        raise MalformedPayload(f"payload is not JSON: {orjson_error}") from None
    return replace_lone_surrogates(payload, keep_edges=True)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: refused, as orjson does


_SURROGATE = re.compile("[\ud800-\udfff]")
_REPLACEMENT = "\ufffd"


def whole_characters(text: str, *, keep_edges: bool = False) -> str:
    """Pairs of UTF-16 halves joined into their character, lone halves replaced by U+FFFD.

    With `keep_edges`, a second half at the start and a first half at the end stay: they may
    join with the text before or after (see `EventDecoder`).
    """
    if _SURROGATE.search(text) is None:
        return text
    head = tail = ""
    if keep_edges:
        head = text[0] if "\udc00" <= text[0] <= "\udfff" else ""
        tail = text[-1] if len(text) > len(head) and "\ud800" <= text[-1] <= "\udbff" else ""
        text = text[len(head) : len(text) - len(tail)]
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return head + joined + tail


def replace_lone_surrogates(value: Any, *, keep_edges: bool = False) -> Any:
    """JSON, or an event, with every string passed through `whole_characters`.

    A lone half cannot be encoded as UTF-8, so it would break every output and saved notebook
    that showed it; only payloads read by the stdlib fallback can hold one.
    """
    if isinstance(value, str):
        return whole_characters(value, keep_edges=keep_edges)
    if isinstance(value, list):
        return [replace_lone_surrogates(item, keep_edges=keep_edges) for item in value]
    if isinstance(value, dict):
        return {
            replace_lone_surrogates(k, keep_edges=keep_edges): replace_lone_surrogates(
                v, keep_edges=keep_edges
            )
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        changes = {f.name: replace_lone_surrogates(getattr(value, f.name)) for f in fields}
        return dataclasses.replace(value, **changes)
    return value


def text_field(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key, "")
    if type(value) is not str:
        raise MalformedPayload(f"{key!r} is not a string")
    return value
