"""Server-sent events parsed in bulk, for the streaming path (WHATWG HTML, "Server-sent events":
event stream interpretation).

A reply arrives as thousands of tiny events, so this is the per-event cost of every stream.
httpx-sse decodes line by line into an object per event; here each network chunk is split into
lines at once and an event is a `(type, data)` tuple, which keeps nbchat's whole per-event path
cheaper than a bare httpx-sse loop (bench/bench_client.py).
"""

from __future__ import annotations

import codecs
import re

import httpx

from .errors import NbchatError

_LINE_END = re.compile("\r\n|\r|\n")

#: An event: its type ("message" unless the stream named one) and its data.
SSE = tuple[str, str]


class SSEFormatError(NbchatError):
    """The response is not an event stream (its Content-Type says otherwise)."""


def check_event_stream(response: httpx.Response) -> None:
    """Raise SSEFormatError unless the response's Content-Type is text/event-stream."""
    content_type = response.headers.get("content-type", "").partition(";")[0].strip()
    if content_type.lower() != "text/event-stream":
        raise SSEFormatError(f"expected a text/event-stream response, got {content_type!r}")


class SSEParser:
    """Feed bytes as they arrive; get the events they complete. The id and retry fields are
    read past: nbchat does not reconnect a stream."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._rest = ""  # an incomplete last line
        self._skip_lf = False  # the previous chunk ended in "\r": a leading "\n" belongs to it
        self._started = False
        self._type = ""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[SSE]:
        text = self._text.decode(chunk)
        if not text:
            return []
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        lines = _LINE_END.split(self._rest + text)
        self._rest = lines.pop()  # "" when the text ended with a line break
        if not self._rest and text and text[-1] == "\r":
            self._skip_lf = True
        events: list[SSE] = []
        data = self._data
        for line in lines:
            if line[:6] == "data: ":  # nearly every line
                data.append(line[6:])
            elif not line:
                if data:
                    events.append((self._type or "message", "\n".join(data)))
                    data.clear()
                self._type = ""
            elif line[0] != ":":  # not a comment
                field, _, value = line.partition(":")
                value = value[1:] if value[:1] == " " else value
                if field == "data":
                    data.append(value)
                elif field == "event":
                    self._type = value
        return events
