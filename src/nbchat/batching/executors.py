"""Running a batch on an executor: a Dask `distributed.Client` or a `concurrent.futures` one.

The rows are cut into shards of `SHARD_ROWS_PER_SENDER * concurrency` rows; each shard is one task
running its own bounded loop (`run_shard`) on a worker. Shards come back to the client as they
finish, and the client alone writes the checkpoint, so a crash loses at most the shards in
flight. The rpm cap is split between the loops that run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Any

from ..chat import Chat
from .loop import LoopSettings, Work, run_shard, shards
from .rows import RowResult

#: A shard holds this many rows per sender: enough to keep a worker's loop busy, few enough
#: that a crash loses little and progress moves often.
SHARD_ROWS_PER_SENDER = 4


def is_dask(executor: Any) -> bool:
    """A Dask `distributed.Client`, recognised without importing Dask."""
    return type(executor).__module__.startswith("distributed") and hasattr(
        executor, "scheduler_info"
    )


def worker_slots(executor: Any) -> int:
    """How many shards the executor runs at once."""
    if is_dask(executor):
        workers = executor.scheduler_info()["workers"].values()
        return max(1, sum(worker.get("nthreads", 1) for worker in workers))
    # concurrent.futures pools keep their size in `_max_workers`; others run one per core.
    return max(1, getattr(executor, "_max_workers", None) or os.cpu_count() or 1)


async def run_on_executor(
    executor: Any,  # a concurrent.futures.Executor or a distributed.Client
    chat: Chat,
    work: Work,
    settings: LoopSettings,
    on_row: Callable[[RowResult], None],
) -> None:
    """Run `work` as shards on `executor`, reporting rows as their shards come back.

    On a failed row with on_error="stop", or when cancelled, the shards not yet finished are
    cancelled. A shard that raised (a worker lost, the chat not picklable) raises here.
    """
    if not work:
        return
    loop = asyncio.get_running_loop()
    finished: asyncio.Queue[Any] = asyncio.Queue()
    shard_settings = settings.share(worker_slots(executor))
    size = SHARD_ROWS_PER_SENDER * settings.concurrency
    extra = {"pure": False} if is_dask(executor) else {}
    futures = [
        executor.submit(run_shard, chat, shard, shard_settings, **extra)
        for shard in shards(work, size)
    ]
    for future in futures:
        future.add_done_callback(_deliver_to(loop, finished))
    try:
        for _ in futures:
            outcome = await finished.get()
            if isinstance(outcome, BaseException):
                raise outcome
            stop = False
            for row in outcome:
                on_row(row)
                stop = stop or (row.status == "error" and settings.on_error == "stop")
            if stop:
                return
    finally:
        unfinished = [future for future in futures if not future.done()]
        if unfinished and is_dask(executor):
            executor.cancel(unfinished)  # one message to the scheduler, not one per shard
        else:
            for future in unfinished:
                future.cancel()


def _deliver_to(
    loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any]
) -> Callable[[Any], None]:
    """A done-callback (run on the executor's thread) that hands a shard's rows, or its
    error, to the batch's event loop."""

    def deliver(future: Any) -> None:
        try:
            outcome = future.result()
        except BaseException as exc:  # a lost worker, a cancelled shard: the loop decides
            outcome = exc
        with contextlib.suppress(RuntimeError):  # the batch is over and its loop closed
            loop.call_soon_threadsafe(queue.put_nowait, outcome)

    return deliver
