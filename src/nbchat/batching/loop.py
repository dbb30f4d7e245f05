"""The bounded concurrent loop that runs rows: `concurrency` senders sharing one Throttle.

Each row is a fresh conversation (`chat.fork()`), so rows never see each other's history.
The loop knows nothing of checkpoints or progress: it hands every finished row to `on_row`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from ..chat import Chat
from ..errors import ConfigurationError, NbchatError, RateLimitError, StreamError
from .rows import RowResult
from .throttle import Throttle

OnError = Literal["continue", "stop"]
Work = list[tuple[int, str]]  # (row index, prompt)


@dataclass(frozen=True)
class LoopSettings:
    """How one loop runs; picklable, so a worker gets the same settings as the client.

    `max_attempts` bounds the sends of one row while the server keeps answering 429.
    """

    concurrency: int = 8
    rpm: float | None = None
    on_error: OnError = "continue"
    max_attempts: int = 6

    def __post_init__(self) -> None:
        if not isinstance(self.concurrency, int) or self.concurrency < 1:
            raise ConfigurationError("concurrency must be a positive integer (rows in flight)")
        if self.rpm is not None and self.rpm <= 0:
            raise ConfigurationError("rpm must be positive (rows per minute), or None for no cap")
        if self.on_error not in ("continue", "stop"):
            raise ConfigurationError('on_error must be "continue" or "stop"')
        if self.max_attempts < 1:
            raise ConfigurationError("max_attempts must be at least 1")

    def share(self, parts: int) -> LoopSettings:
        """The settings of one of `parts` loops running at once: the rpm cap is split."""
        return dataclasses.replace(self, rpm=self.rpm / parts if self.rpm else None)


async def run_rows(
    chat: Chat, work: Work, settings: LoopSettings, on_row: Callable[[RowResult], None]
) -> None:
    """Run every row of `work`, at most `settings.concurrency` at once.

    With on_error="stop" the first failed row is reported, then the rows in flight are
    cancelled and the loop returns. Cancelling the loop cancels the rows in flight: they are
    never reported.
    """
    throttle = Throttle(settings.rpm)
    rows = iter(work)  # shared: each sender takes the next row

    async def sender() -> None:
        for index, prompt in rows:
            row = await run_row(chat, index, prompt, throttle, settings.max_attempts)
            on_row(row)
            if row.status == "error" and settings.on_error == "stop":
                raise _StopOnError

    senders = [asyncio.ensure_future(sender()) for _ in range(settings.concurrency)]
    try:
        with contextlib.suppress(_StopOnError):
            await asyncio.gather(*senders)
    finally:
        for task in senders:
            task.cancel()
        await asyncio.gather(*senders, return_exceptions=True)


class _StopOnError(Exception):
    """A row failed with on_error="stop": the loop ends."""


async def run_row(
    chat: Chat, index: int, prompt: str, throttle: Throttle, max_attempts: int
) -> RowResult:
    """One row in a fresh conversation; 429s that outlast the client's retries are tried
    again, after the throttle's shared pause, up to `max_attempts` sends."""
    attempts = 0
    while True:
        attempts += 1
        await throttle.wait()
        conversation = chat.fork()
        sent_at = throttle.now()
        started = time.perf_counter()
        try:
            reply = await conversation.asend(prompt)
        except RateLimitError as exc:
            if attempts < max_attempts:
                throttle.rate_limited(exc.retry_after, sent_at)
                continue
            return _failed(index, prompt, exc, started, attempts)
        except NbchatError as exc:
            return _failed(index, prompt, exc, started, attempts)
        finally:
            conversation.close()
        throttle.succeeded()
        usage = dataclasses.asdict(reply.usage) if reply.usage else None
        latency = time.perf_counter() - started
        return RowResult(index, prompt, reply.text, "ok", None, usage, latency, attempts)


def _failed(index: int, prompt: str, exc: NbchatError, started: float, attempts: int) -> RowResult:
    text = exc.reply.text if isinstance(exc, StreamError) else ""
    latency = time.perf_counter() - started
    error = f"{type(exc).__name__}: {exc}"
    return RowResult(index, prompt, text, "error", error, None, latency, attempts)


def run_shard(chat: Chat, work: Work, settings: LoopSettings) -> list[RowResult]:
    """Run a shard of rows in a loop of its own and return them (what an executor runs)."""
    rows: list[RowResult] = []
    asyncio.run(run_rows(chat, work, settings, rows.append))
    return rows


def shards(work: Work, size: int) -> Iterator[Work]:
    for start in range(0, len(work), size):
        yield work[start : start + size]
