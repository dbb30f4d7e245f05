"""One turn's lifecycle: events from either endpoint, folded into a Reply, never raising
mid-stream.

`EventStream` (blocking) and `AsyncEventStream` (asyncio) are the handle `Chat.stream` and
`Chat.astream` return for both endpoints. A source feeds them: `SSESource` reads a streaming
response through the dialect's decoder (`EventDecoder` holds the only copy of that logic);
`WholeSource` waits for the non-streaming endpoint's one JSON answer on a worker thread, so
`stop()` and Ctrl-C end the wait at once instead of after the server's whole answer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

import httpx
import httpx_sse

from .client import Deadline, Silence, server_message
from .dialects import Decoder, MalformedPayload
from .dialects.base import replace_lone_surrogates, whole_characters
from .errors import APIStatusError, NbchatError
from .events import Done, Error, Event, Reply, TextDelta
from .masking import ReplyMask
from .redact import Redactor
from .turn import Listeners, Turn, TurnKind

log = logging.getLogger("nbchat")

TERMINAL = (Done, Error)  # a reply is over after either


#: Hears a turn start and end (and the Error that ends a failed one); each streamed event goes
#: to the `Listeners` directly, without a call when there are none.
Notify = Callable[[TurnKind, Turn, "Event | None"], None]


class EventDecoder:
    """Maps SSE messages (their data and event type) to normalized events, through the
    dialect's decoder for this stream, and knows when a stream is over.

    Text joins across deltas as a browser joins JavaScript strings: a character whose two
    UTF-16 halves arrive in two payloads becomes one character; a half left alone becomes
    U+FFFD. Only payloads with such halves leave the common path (see `parse_json_object`).
    """

    def __init__(self, decoder: Decoder, redact: Redactor | None = None) -> None:
        self._decoder = decoder
        self._redact = redact or Redactor()  # a server's error message might quote the token
        self._high = ""  # a first UTF-16 half waiting for the next delta's second half
        self.finished = False

    def feed(self, data: str, event: str) -> list[Event]:
        if self.finished or (data[:1] <= " " and (not data or data.isspace())):
            return []  # keep-alives and empty payloads carry nothing
        try:
            events = self._decoder.decode(data, event)
        except MalformedPayload as exc:
            events = [Error("malformed", str(exc))]
        # The common case: one delta of whole characters. An ASCII string (`isascii` is O(1)
        # in CPython) has no UTF-16 half; other text is looked at only at its two ends.
        if len(events) == 1 and type(events[0]) is TextDelta and not self._high:
            text = events[0].text
            if text.isascii() or not (
                "\ud800" <= text[-1:] <= "\udfff" or "\ud800" <= text[:1] <= "\udfff"
            ):
                return events
        return self._fold(events)

    def end_of_stream(self) -> list[Event]:
        if self.finished:
            return []
        try:
            events = self._fold(self._decoder.end())
        except MalformedPayload as exc:
            events = self._fold([Error("malformed", str(exc))])
        if self.finished:
            return events
        incomplete = Error("incomplete", "the stream ended before the reply was complete")
        return [*events, *self._fold([incomplete])]

    def _fold(self, events: list[Event]) -> list[Event]:
        """`events` up to the first Done or Error, which finishes the stream; text joined
        across UTF-16 halves, and error messages without secrets."""
        out: list[Event] = []
        for event in events:
            if type(event) is TextDelta:
                text = self._high + event.text
                self._high = text[-1] if "\ud800" <= text[-1:] <= "\udbff" else ""
                text = whole_characters(text[: len(text) - len(self._high)])
                if text:
                    out.append(TextDelta(text))
                continue
            if self._high:  # the second half did not come: the first is not a character
                out.append(TextDelta("\ufffd"))
                self._high = ""
            if type(event) is Error:
                event = Error(event.code, self._redact(event.message))
            out.append(replace_lone_surrogates(event))
            if isinstance(event, TERMINAL):
                self.finished = True
                break
        return out

    def not_a_stream(self, response: httpx.Response) -> Error:
        """The reply's end when a streaming request got a whole answer (read already) instead
        of an event stream: a JSON error some servers send with status 200, or a proxy's page.
        The message is the server's own words."""
        self.finished = True
        kind = response.headers.get("content-type") or "no content type"
        said = server_message(response, self._redact)
        code = "server" if "json" in kind else "malformed"  # JSON: the server's own error
        return Error(code, f"the server answered with {kind}, not an event stream: {said}")

    def failure(self, exc: BaseException) -> Error:
        self.finished = True
        if isinstance(exc, Silence):
            return Error("timeout", str(exc))
        if isinstance(exc, httpx.TimeoutException):
            return Error("timeout", f"no data within the timeout ({type(exc).__name__})")
        if isinstance(exc, httpx_sse.SSEError):
            return Error("malformed", str(exc))
        if isinstance(exc, httpx.TransportError):
            return Error("connection", f"the connection broke mid-stream ({type(exc).__name__})")
        return Error("stream", self._redact(f"{type(exc).__name__}: {exc}"))


def failure_event(exc: NbchatError) -> Error:
    """The Error event recorded in a reply when the request itself failed."""
    if isinstance(exc, APIStatusError):
        return Error(f"http_{exc.status_code}", exc.message)
    return Error(type(exc).__name__.removesuffix("Error").lower() or "error", str(exc))


class Source(Protocol):
    """Where a blocking turn's events come from."""

    def open(self, deadline: Deadline) -> None:
        """Send the request; HTTP and connection errors raise here, typed (NbchatError)."""

    def events(self) -> Iterator[Event]:
        """The normalized events; what goes wrong while reading raises (see `failure`)."""

    def failure(self, exc: Exception) -> Error:
        """The Error event that ends the reply when reading raised `exc`."""

    def close(self) -> None:
        """Release the response; called once, from any thread, possibly during `open`."""


class SSESource:
    """A streaming response (SSE), decoded by the dialect's decoder for this stream."""

    def __init__(
        self, open_response: Callable[[Deadline], httpx.Response], decoder: EventDecoder
    ) -> None:
        self._open_response = open_response
        self._decoder = decoder
        self._response: httpx.Response | None = None
        self._closed = False

    def open(self, deadline: Deadline) -> None:
        response = self._open_response(deadline)
        self._response = response
        if self._closed:  # stopped while connecting: nothing will read it
            response.close()

    def events(self) -> Iterator[Event]:
        if self._response is None:
            return
        decoder = self._decoder
        if not _is_event_stream(self._response):
            self._response.read()
            yield decoder.not_a_stream(self._response)
            return
        feed = decoder.feed
        for sse in httpx_sse.EventSource(self._response).iter_sse():
            yield from feed(sse.data, sse.event)
            if decoder.finished:
                return
        yield from decoder.end_of_stream()

    def failure(self, exc: Exception) -> Error:
        return self._decoder.failure(exc)

    def close(self) -> None:
        self._closed = True
        if self._response is not None:
            self._response.close()


class WholeSource:
    """The non-streaming endpoint: `fetch` (request and parse, blocking) runs on a worker
    thread while the caller waits in short, interruptible steps; `close` ends the wait at once
    and the worker's late answer is dropped."""

    #: Seconds between two checks for Ctrl-C while waiting (a signal another thread received
    #: only reaches the waiting thread when it runs Python again).
    POLL = 0.05

    def __init__(self, fetch: Callable[[], Reply], into: Reply) -> None:
        self._fetch = fetch
        self._into = into
        self._done = threading.Event()
        self._answer: Reply | None = None
        self._raised: BaseException | None = None
        self._closed = False

    def open(self, deadline: Deadline) -> None:
        worker = threading.Thread(target=self._work, name="nbchat-send", daemon=True)
        worker.start()
        while not self._done.wait(self.POLL):
            pass
        if self._raised is not None and not self._closed:
            raise self._raised

    def _work(self) -> None:
        try:
            self._answer = self._fetch()
        except BaseException as exc:  # handed to the waiting thread
            self._raised = exc
        finally:
            self._done.set()

    def events(self) -> Iterator[Event]:
        return _whole_events(self._answer, self._into)

    def failure(self, exc: Exception) -> Error:
        return Error("stream", f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self._closed = True
        self._done.set()


def _whole_events(answer: Reply | None, into: Reply) -> Iterator[Event]:
    """The events of a non-streaming answer (none if it never came), then its metadata."""
    if answer is None:
        return
    yield from answer.events
    into.created_at = answer.created_at
    into.user_message_id = answer.user_message_id


class EventStream:
    """One turn as it happens, from either endpoint: iterate its normalized events.

    `with chat.stream(text) as events: for event in events: ...`. The handle is the same for
    the streaming endpoint (events as they arrive) and the non-streaming one (`whole=True`: the
    one answer's events at once).

    turn:   the `Turn` (in `chat.history` from the start).
    reply:  `turn.reply`, folded event by event; final once the iteration ends.
    stop(): from any thread: the response closes, the reply is kept, marked "stopped".

    Opening (entering the block, or the first `next`) raises the typed HTTP and connection
    errors (`nbchat.errors`); after that nothing raises: the reply ends with an `Error` event
    instead. Listeners hear turn_start, each event, and exactly one turn_end.
    """

    def __init__(
        self,
        source: Source,
        turn: Turn,
        notify: Notify,
        timeout: float,
        redact: Redactor | None,
        listeners: Listeners,
    ) -> None:
        self.turn = turn
        self._source = source
        self._notify = notify
        self._listeners = listeners
        # Restarts when the reader comes back for more after taking events.
        self._deadline = Deadline(timeout, turn.reply.events.__len__)
        self._mask = ReplyMask(redact) if redact else None
        self._lock = threading.Lock()
        self._opened = False
        self._closed = False
        self._stopped = False
        self._iterator: Iterator[Event] | None = None
        self._unhook = turn.reply.on_stop(self.stop)  # `reply.stop()` stops the stream too

    @property
    def reply(self) -> Reply:
        return self.turn.reply

    def open(self) -> None:
        """Send the request; HTTP and connection errors raise here, typed."""
        with self._lock:
            if self._opened:
                return
            self._opened = True
        self._notify("turn_start", self.turn, None)
        try:
            self._source.open(self._deadline)
        except NbchatError as exc:
            if not self._stopped:
                self._emit(failure_event(exc))
            self._end()
            raise
        except BaseException:  # KeyboardInterrupt: the turn ends stopped
            self.stop()
            raise

    def __enter__(self) -> EventStream:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Event]:
        self.open()
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    def _events(self) -> Iterator[Event]:
        # Once per delta: `_emit` with its lookups done once, outside the loop, and no call
        # when nobody listens.
        add, listeners, turn = self.reply.add, self._listeners, self.turn
        mask = self._mask
        events = self._source.events()
        try:
            for event in mask.events(events) if mask else events:
                if self._stopped:
                    return
                add(event)
                if listeners.all:
                    listeners("event", turn, event)
                yield event
        except Exception as exc:
            if not self._stopped:
                failure = self._source.failure(exc)
                for event in mask(failure) if mask else [failure]:  # what was held, then it
                    yield self._emit(event)
        finally:
            self.close()

    def _emit(self, event: Event) -> Event:
        self.reply.add(event)
        self._notify("event", self.turn, event)
        return event

    def stop(self) -> None:
        """Stop now, from any thread: the response closes and the reply is kept, stopped."""
        with self._lock:
            self._stopped = True
        self.reply.stop()  # its hook calls this method again: harmless, both steps are once
        self._end()

    def close(self) -> None:
        """Close the response; an unfinished reply counts as stopped."""
        if self._opened:
            self.stop()

    def _end(self) -> None:
        """Release the source and tell listeners the turn ended, once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._unhook()  # a finished reply keeps no reference to its stream
        try:
            self._source.close()
        except Exception as exc:  # closing a half-read socket must not hide the stop
            log.debug("closing the response: %s", exc)
        self._notify("turn_end", self.turn, None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} status={self.reply.status!r} chars={len(self.reply.text)}>"


class AsyncSource(Protocol):
    """Where an asyncio turn's events come from (see `Source`)."""

    async def open(self, deadline: Deadline) -> None: ...

    def events(self) -> AsyncIterator[Event]: ...

    def failure(self, exc: Exception) -> Error: ...

    async def aclose(self) -> None: ...


class AsyncSSESource:
    """A streaming response on its own httpx.AsyncClient (so any event loop works)."""

    def __init__(
        self,
        open_response: Callable[[Deadline], Awaitable[httpx.Response]],
        close_client: Callable[[], Awaitable[None]],
        decoder: EventDecoder,
    ) -> None:
        self._open_response = open_response
        self._close_client = close_client
        self._decoder = decoder
        self._response: httpx.Response | None = None

    async def open(self, deadline: Deadline) -> None:
        self._response = await self._open_response(deadline)

    async def events(self) -> AsyncIterator[Event]:
        if self._response is None:
            return
        decoder = self._decoder
        if not _is_event_stream(self._response):
            await self._response.aread()
            yield decoder.not_a_stream(self._response)
            return
        async for sse in httpx_sse.EventSource(self._response).aiter_sse():
            for event in decoder.feed(sse.data, sse.event):
                yield event
            if decoder.finished:
                return
        for event in decoder.end_of_stream():
            yield event

    def failure(self, exc: Exception) -> Error:
        return self._decoder.failure(exc)

    async def aclose(self) -> None:
        try:
            if self._response is not None:
                await self._response.aclose()
        finally:
            await self._close_client()


@dataclass
class AsyncWholeSource:
    """The non-streaming endpoint under asyncio: cancelling the task cancels the request."""

    fetch: Callable[[], Awaitable[Reply]]
    close_client: Callable[[], Awaitable[None]]
    into: Reply
    answer: Reply | None = None

    async def open(self, deadline: Deadline) -> None:
        self.answer = await self.fetch()

    async def events(self) -> AsyncIterator[Event]:
        for event in _whole_events(self.answer, self.into):
            yield event

    def failure(self, exc: Exception) -> Error:
        return Error("stream", f"{type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        await self.close_client()


class ThreadedSource:
    """A blocking `Source` for `AsyncEventStream`: opening and each next event run on a worker
    thread, so the event loop stays free (the tool loop, which runs tools and waits for
    approvals, is blocking code)."""

    def __init__(self, source: Source) -> None:
        self._source = source

    async def open(self, deadline: Deadline) -> None:
        await asyncio.to_thread(self._source.open, deadline)

    async def events(self) -> AsyncIterator[Event]:
        iterator = iter(self._source.events())
        while (event := await asyncio.to_thread(next, iterator, None)) is not None:
            yield event

    def failure(self, exc: Exception) -> Error:
        return self._source.failure(exc)

    async def aclose(self) -> None:
        self._source.close()  # from any thread: ends the worker's wait at once


class AsyncEventStream:
    """The asyncio twin of EventStream: `async with chat.astream(...) as events`.

    `stop()` marks the reply stopped and the stream closes at the next event; cancelling the
    task (or `aclose()`) closes it at once.
    """

    def __init__(
        self,
        source: AsyncSource,
        turn: Turn,
        notify: Notify,
        timeout: float,
        redact: Redactor | None,
        listeners: Listeners,
    ) -> None:
        self.turn = turn
        self._source = source
        self._notify = notify
        self._listeners = listeners
        # Restarts when the reader comes back for more after taking events.
        self._deadline = Deadline(timeout, turn.reply.events.__len__)
        self._mask = ReplyMask(redact) if redact else None
        self._opened = False
        self._closed = False
        self._stopped = False
        self._iterator: AsyncIterator[Event] | None = None
        self._unhook = turn.reply.on_stop(self.stop)

    @property
    def reply(self) -> Reply:
        return self.turn.reply

    async def open(self) -> None:
        """Send the request; HTTP and connection errors raise here, typed."""
        if self._opened:
            return
        self._opened = True
        self._notify("turn_start", self.turn, None)
        try:
            await self._source.open(self._deadline)
        except NbchatError as exc:
            self._emit(failure_event(exc))
            await self._end()
            raise
        except BaseException:  # cancelled: the turn ends stopped
            self.stop()
            await self._end()
            raise

    async def __aenter__(self) -> AsyncEventStream:
        await self.open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    async def _events(self) -> AsyncIterator[Event]:
        await self.open()
        mask = self._mask
        events = self._source.events()
        try:
            async for event in mask.aevents(events) if mask else events:
                if self._stopped:
                    return
                yield self._emit(event)
        except Exception as exc:
            if not self._stopped:
                failure = self._source.failure(exc)
                for event in mask(failure) if mask else [failure]:
                    yield self._emit(event)
        finally:
            await self.aclose()

    def _emit(self, event: Event) -> Event:
        self.reply.add(event)
        self._notify("event", self.turn, event)
        return event

    def stop(self) -> None:
        """Ask the stream to stop; it closes at the next event (or call `aclose`)."""
        self._stopped = True
        self.reply.stop()

    async def aclose(self) -> None:
        """Close the response; an unfinished reply counts as stopped."""
        if self._opened:
            self.stop()
            await self._end()

    async def _end(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._unhook()
        try:
            await self._source.aclose()
        except Exception as exc:
            log.debug("closing the response: %s", exc)
        self._notify("turn_end", self.turn, None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} status={self.reply.status!r} chars={len(self.reply.text)}>"


def _is_event_stream(response: httpx.Response) -> bool:
    return "text/event-stream" in response.headers.get("content-type", "")
