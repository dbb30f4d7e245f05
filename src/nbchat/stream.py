"""Event streams: SSE from an open response, folded into a Reply, never raising mid-stream.

`EventDecoder` holds the only copy of the event logic; `EventStream` and `AsyncEventStream`
just drive it from a blocking or an asyncio response.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import TracebackType
from typing import Any, Literal

import httpx
import httpx_sse

from .client import Deadline, Silence
from .dialects import Dialect, MalformedPayload
from .errors import APIStatusError, NbchatError
from .events import Done, Error, Event, Reply

log = logging.getLogger("nbchat")

TurnKind = Literal["turn_start", "event", "turn_end"]

TERMINAL = (Done, Error)  # a reply is over after either


@dataclass
class Turn:
    """One exchange: what the user said and the reply it got (complete or not), and where the
    reply came from (`provenance()`)."""

    user: str
    reply: Reply = field(default_factory=Reply)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    dialect: str | None = None
    model: str | None = None
    server: str | None = None  # scheme://host[:port] only: no path, query or credentials
    started_at: str | None = None  # UTC, ISO 8601, when the request went out
    ended_at: str | None = None  # UTC, ISO 8601, when the reply finished (in any status)

    def provenance(self) -> dict[str, Any]:
        """Where the reply came from, JSON-ready: what a saved notebook records beside it.

        Keys: nbchat_version, dialect, model, server, message_id, user_message_id, usage
        ({input_tokens, output_tokens, total_tokens} or None), started_at, ended_at, status.
        """
        from . import __version__

        usage = self.reply.usage
        return {
            "nbchat_version": __version__,
            "dialect": self.dialect,
            "model": self.model,
            "server": self.server,
            "message_id": self.reply.message_id,
            "user_message_id": self.reply.user_message_id,
            "usage": dataclasses.asdict(usage) if usage else None,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.reply.status,
        }

    def to_dict(self) -> dict[str, Any]:
        """The turn as JSON-ready data: id, user text, reply text and its provenance."""
        return {"id": self.id, "user": self.user, "reply": self.reply.text, **self.provenance()}


def utc_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds: 2026-11-30T08:00:00.000Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Notify = Callable[[TurnKind, Turn, "Event | None"], None]


class EventDecoder:
    """Maps SSE messages to normalized events and knows when a stream is over."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self.finished = False

    def feed(self, sse: httpx_sse.ServerSentEvent) -> list[Event]:
        data = sse.data
        if self.finished or not data or data.isspace():
            return []  # keep-alives and empty payloads carry nothing
        try:
            events = self._dialect.decode(data)
        except MalformedPayload as exc:
            events = [Error("malformed", str(exc))]
        if len(events) == 1 and not isinstance(events[0], TERMINAL):
            return events  # the common case, without the loop below
        for index, event in enumerate(events):
            if isinstance(event, TERMINAL):
                self.finished = True
                return events[: index + 1]
        return events

    def end_of_stream(self) -> list[Event]:
        if self.finished:
            return []
        self.finished = True
        return [Error("incomplete", "the stream ended before the reply was complete")]

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
        return Error("stream", f"{type(exc).__name__}: {exc}")


def failure_event(exc: NbchatError) -> Error:
    """The Error event recorded in a reply when the request itself failed."""
    if isinstance(exc, APIStatusError):
        return Error(f"http_{exc.status_code}", exc.message)
    return Error(type(exc).__name__.removesuffix("Error").lower() or "error", str(exc))


class _TurnStream:
    """Turn bookkeeping shared by both streams: notifications, closing once, stop state."""

    def __init__(self, turn: Turn, notify: Notify, decoder: EventDecoder, timeout: float) -> None:
        self.turn = turn
        self._notify = notify
        self._decoder = decoder
        self._deadline = Deadline(timeout)
        self._lock = threading.Lock()
        self._opened = False
        self._closed = False
        self._stopped = False
        self._response: httpx.Response | None = None

    @property
    def reply(self) -> Reply:
        return self.turn.reply

    def _begin(self) -> bool:
        with self._lock:
            if self._opened:
                return False
            self._opened = True
        self._notify("turn_start", self.turn, None)
        return True

    def _emit(self, event: Event) -> Event:
        self._deadline.reset()
        self.reply.add(event)
        self._notify("event", self.turn, event)
        return event

    def _fail_open(self, exc: NbchatError) -> None:
        self._emit(failure_event(exc))
        self._finish()

    def _mark_stopped(self) -> bool:
        """Flag the stop; True if this call is the one that should release the response."""
        with self._lock:
            self._stopped = True
            self.reply.stop()
            if self._closed:
                return False
            self._closed = True
            return True

    def _finish(self) -> None:
        with self._lock:
            self._closed = True
        self._notify("turn_end", self.turn, None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} status={self.reply.status!r} chars={len(self.reply.text)}>"


class EventStream(_TurnStream):
    """Iterate normalized events of one reply. Use as a context manager so it always closes."""

    def __init__(
        self,
        open_response: Callable[[Deadline], httpx.Response],
        turn: Turn,
        notify: Notify,
        decoder: EventDecoder,
        timeout: float,
    ) -> None:
        super().__init__(turn, notify, decoder, timeout)
        self._open_response = open_response
        self._iterator: Iterator[Event] | None = None

    def open(self) -> None:
        """Send the request; HTTP and connection errors raise here, typed."""
        if not self._begin():
            return
        try:
            self._response = self._open_response(self._deadline)
        except NbchatError as exc:
            self._fail_open(exc)
            raise
        except BaseException:
            self._mark_stopped()
            self._finish()
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
        if self._response is None:
            return
        try:
            for sse in httpx_sse.EventSource(self._response).iter_sse():
                for event in self._decoder.feed(sse):
                    if self._stopped:
                        return
                    yield self._emit(event)
                if self._decoder.finished:
                    return
            for event in self._decoder.end_of_stream():
                yield self._emit(event)
        except Exception as exc:
            if not self._stopped:
                yield self._emit(self._decoder.failure(exc))
        finally:
            self.close()

    def stop(self) -> None:
        """Stop now, from any thread: the HTTP response closes and the reply is kept, stopped."""
        if self._mark_stopped():
            self._release()

    def close(self) -> None:
        """Close the response; an unfinished reply counts as stopped."""
        if self._response is None and not self._opened:
            return
        self.stop()

    def _release(self) -> None:
        if self._response is not None:
            try:
                self._response.close()
            except Exception as exc:  # closing a half-read socket must not hide the stop
                log.debug("closing the response: %s", exc)
        self._finish()


class AsyncEventStream(_TurnStream):
    """The asyncio twin of EventStream: `async with chat.astream(...) as events`."""

    def __init__(
        self,
        open_response: Callable[[Deadline], Awaitable[httpx.Response]],
        close_client: Callable[[], Awaitable[None]],
        turn: Turn,
        notify: Notify,
        decoder: EventDecoder,
        timeout: float,
    ) -> None:
        super().__init__(turn, notify, decoder, timeout)
        self._open_response = open_response
        self._close_client = close_client
        self._iterator: AsyncIterator[Event] | None = None

    async def open(self) -> None:
        if not self._begin():
            return
        try:
            self._response = await self._open_response(self._deadline)
        except NbchatError as exc:
            await self._close_client()
            self._fail_open(exc)
            raise
        except BaseException:
            await self._close_client()
            self._mark_stopped()
            self._finish()
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
        if self._response is None:
            return
        try:
            async for sse in httpx_sse.EventSource(self._response).aiter_sse():
                for event in self._decoder.feed(sse):
                    if self._stopped:
                        return
                    yield self._emit(event)
                if self._decoder.finished:
                    return
            for event in self._decoder.end_of_stream():
                yield self._emit(event)
        except Exception as exc:
            if not self._stopped:
                yield self._emit(self._decoder.failure(exc))
        finally:
            await self.aclose()

    def stop(self) -> None:
        """Ask the stream to stop; it closes at the next chunk (or call `aclose`)."""
        with self._lock:
            self._stopped = True
            self.reply.stop()

    async def aclose(self) -> None:
        if not self._opened or not self._mark_stopped():
            return
        if self._response is not None:
            try:
                await self._response.aclose()
            except Exception as exc:
                log.debug("closing the response: %s", exc)
        await self._close_client()
        self._finish()
