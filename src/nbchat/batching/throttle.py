"""Pacing shared by every request of one batch loop: an rpm cap, and a backoff after 429s.

Each request already honours its own `Retry-After` (the client retries it). When a row still
ends rate-limited, the server is saying the whole batch is too fast: the throttle pauses every
sender of the loop, for the server's `Retry-After` or an exponential backoff that grows while
429s repeat and resets on the next success.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

#: First pause after a rate-limited row when the server gave no Retry-After, in seconds.
BACKOFF_START = 1.0
#: The longest pause the backoff grows to, in seconds.
BACKOFF_MAX = 60.0


class Throttle:
    """`await throttle.wait()` before each request; report 429s and successes after."""

    def __init__(self, rpm: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 60.0 / rpm if rpm else 0.0
        self._clock = clock
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._struck_at = float("-inf")
        self.strikes = 0  # rate-limited bursts since the last success

    async def wait(self) -> None:
        """Return when this request may go: after any pause, and its rpm slot."""
        while True:
            now = self._clock()
            start = max(now, self._paused_until, self._next_slot)
            if start <= now:
                self._next_slot = now + self._interval
                return
            await asyncio.sleep(start - now)

    def rate_limited(self, retry_after: float | None, sent_at: float) -> float:
        """A row sent at `sent_at` (this throttle's clock) ended with 429: pause everyone.

        Rows sent before the last strike belong to the burst that caused it, so they do not
        grow the backoff again. Returns the pause in seconds.
        """
        now = self._clock()
        if sent_at >= self._struck_at:
            self.strikes += 1
            self._struck_at = now
        backoff = min(BACKOFF_MAX, BACKOFF_START * 2 ** (self.strikes - 1))
        pause = max(retry_after or 0.0, backoff * (1 + random.random() / 4))
        self._paused_until = max(self._paused_until, now + pause)
        return pause

    def now(self) -> float:
        return self._clock()

    def succeeded(self) -> None:
        self.strikes = 0
