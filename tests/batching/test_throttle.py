"""The throttle paces one loop's requests (rpm) and pauses all of them after 429s."""

from __future__ import annotations

import asyncio
import itertools
import time

from nbchat.batching.throttle import BACKOFF_START, Throttle


async def test_rpm_spaces_request_starts() -> None:
    throttle = Throttle(rpm=600)  # one request per 0.1 s
    starts = []

    async def request() -> None:
        await throttle.wait()
        starts.append(time.monotonic())

    await asyncio.gather(*(request() for _ in range(5)))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 0.099 for gap in gaps), gaps


async def test_a_429_pauses_every_sender_for_the_retry_after() -> None:
    throttle = Throttle(rpm=None)
    pause = throttle.rate_limited(retry_after=0.3, sent_at=throttle.now())
    assert pause >= BACKOFF_START  # the backoff is never shorter than its start
    began = time.monotonic()
    await asyncio.gather(*(throttle.wait() for _ in range(4)))
    assert time.monotonic() - began >= pause - 0.01


def test_repeated_429s_grow_the_backoff_and_a_success_resets_it() -> None:
    now = [100.0]
    throttle = Throttle(rpm=None, clock=lambda: now[0])
    pauses = []
    for _ in range(4):
        pauses.append(throttle.rate_limited(None, sent_at=now[0]))
        now[0] += 0.5  # the next request went out after the previous strike
    assert throttle.strikes == 4
    assert pauses[0] < pauses[1] < pauses[2] < pauses[3] <= 8 * 1.25
    throttle.succeeded()
    assert throttle.rate_limited(None, sent_at=now[0]) <= BACKOFF_START * 1.25


def test_429s_from_one_burst_count_as_one_strike() -> None:
    now = [100.0]
    throttle = Throttle(rpm=None, clock=lambda: now[0])
    sent = now[0]
    now[0] += 0.2
    for _ in range(8):  # eight rows sent together, all refused
        throttle.rate_limited(1.0, sent_at=sent)
    assert throttle.strikes == 1
