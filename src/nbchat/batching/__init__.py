"""One prompt template over many rows: bounded, resumable, observable, and on a cluster.

`batch()` blocks (or runs in the background with `background=True`), `abatch()` is its asyncio
twin; both return `BatchResults`. Each row is its own fresh conversation (`Chat.fork()`).
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from typing import Any

from ..chat import Chat
from .loop import LoopSettings, OnError
from .results import BatchResults, Progress
from .rows import RowResult, render_prompts

__all__ = ["BatchResults", "Progress", "RowResult", "abatch", "batch"]


def batch(
    chat: Chat | None,
    template: str,
    rows: Any,
    *,
    concurrency: int = 8,
    rpm: float | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    on_error: OnError = "continue",
    executor: Executor | Any = None,
    progress: bool = True,
    background: bool = False,
    max_attempts: int = 6,
) -> BatchResults:
    """Send `template`, filled from each row, as its own conversation forked from `chat`
    (None: the current conversation of the magics and the panel, `nbchat.session`).

    - `rows`: a pandas DataFrame (columns are the template's fields), a list of dicts, or a
      list of strings (each is `{text}`). Fields follow `%%chat`'s rules; `{{`/`}}` are braces.
    - `concurrency`: rows in flight (per worker with an executor); `rpm`: a cap on rows sent
      per minute for the whole batch (each row is one message; 429 retries count too).
    - `checkpoint`: a JSONL file; finished rows are appended as they finish, and a re-run
      with the same file skips the rows that succeeded (failed ones are tried again).
    - `on_error`: "continue" records a failed row and goes on; "stop" ends the batch at the
      first failure and raises `nbchat.errors.BatchError` (its `results` keep every row).
    - Rate limits: each request honours `Retry-After` (the chat's `max_retries`); a row still
      rate-limited pauses the whole batch with a shared backoff and is sent again, at most
      `max_attempts` times.
    - `executor`: a Dask `distributed.Client` or a `concurrent.futures` executor; the rows
      are sharded to its workers, each running its own bounded loop, and the checkpoint is
      written here.
    - `progress`: a tqdm bar (notebook bar in Jupyter, text in a terminal; `nbchat[batch]`).
    - `background=True` returns at once; use the result's `progress`, `wait()` and `stop()`.

    An interrupt (Ctrl-C, Jupyter's stop button) stops the batch at once and returns what
    finished, with `state == "stopped"`. Bad templates raise TemplateError before anything
    is sent; a checkpoint from other inputs raises CheckpointError.
    """
    settings = LoopSettings(concurrency, rpm, on_error, max_attempts)
    results = _prepare(chat, template, rows, settings, checkpoint, executor, progress)
    results._start_thread()
    if background:
        return results
    try:
        results.wait()
    except KeyboardInterrupt:
        results.stop()
        results.wait()
    return results


async def abatch(
    chat: Chat | None,
    template: str,
    rows: Any,
    *,
    concurrency: int = 8,
    rpm: float | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    on_error: OnError = "continue",
    executor: Executor | Any = None,
    progress: bool = True,
    max_attempts: int = 6,
) -> BatchResults:
    """`batch()` on the running event loop: `results = await nbchat.abatch(...)`.

    Cancelling the awaiting task stops the batch at once (finished rows stay in the
    checkpoint) and propagates the cancellation.
    """
    settings = LoopSettings(concurrency, rpm, on_error, max_attempts)
    results = _prepare(chat, template, rows, settings, checkpoint, executor, progress)
    await results._run()
    results.wait()
    return results


def _prepare(
    chat: Chat | None,
    template: str,
    rows: Any,
    settings: LoopSettings,
    checkpoint: str | os.PathLike[str] | None,
    executor: Executor | Any,
    progress: bool,
) -> BatchResults:
    if chat is None:
        from ..session import current_chat  # Jupyter-free: made from NBCHAT_* when unset

        chat = current_chat()
    prompts = render_prompts(template, rows)
    return BatchResults(
        chat, prompts, settings, checkpoint=checkpoint, executor=executor, progress=progress
    )
