"""The SSE parser on the streaming path, against the event stream format's edge cases (WHATWG
HTML, "Server-sent events"), fed in every possible split of the bytes."""

from __future__ import annotations

import pytest

from nbchat.sse import SSEParser

STREAM = (
    "\ufeff: a comment, then an event over two data lines\r\n"
    "data: first\r\n"
    "data:  second, the space after the colon is kept but one\r\n"
    "\r\n"
    "event: tool\r"
    "data:no space\r"
    "id: 7\r"
    "retry: 1000\r"
    "\r"
    "data: üñí €\n"
    "unknown: field\n"
    "data\n"
    "\n"
    "event: ignored because no data follows\n"
    "\n"
    "data: unfinished at the end of the stream"
).encode()

EXPECTED = [
    ("message", "first\n second, the space after the colon is kept but one"),
    ("tool", "no space"),
    ("message", "üñí €\n"),
]


def parse(chunks: list[bytes]) -> list[tuple[str, str]]:
    parser = SSEParser()
    return [event for chunk in chunks for event in parser.feed(chunk)]


def test_whole_stream_at_once() -> None:
    assert parse([STREAM]) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 13])
def test_any_chunking_gives_the_same_events(size: int) -> None:
    # Splits land inside "\r\n", inside multi-byte characters and inside field names.
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert parse(chunks) == EXPECTED


def test_every_two_way_split() -> None:
    for cut in range(len(STREAM) + 1):
        assert parse([STREAM[:cut], STREAM[cut:]]) == EXPECTED, cut


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    assert parse([b"data: a\xffb\n\n"]) == [("message", "a\ufffdb")]
