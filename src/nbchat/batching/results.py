"""`BatchResults`: a batch's rows, and the handle on its run (progress, `wait()`, `stop()`)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..chat import Chat
from ..errors import BatchError, ConfigurationError
from ..events import Usage
from .checkpoint import Checkpoint
from .executors import run_on_executor
from .loop import LoopSettings, Work, run_rows
from .progress import ProgressBar
from .rows import RowResult

if TYPE_CHECKING:
    import os

    import pandas

State = Literal["ready", "running", "done", "stopped", "failed"]


@dataclass(frozen=True)
class Progress:
    """A snapshot of a batch. `rate` is rows finished per second in this run; `eta` is the
    seconds left at that rate (None before the first row)."""

    total: int
    ok: int
    failed: int
    elapsed: float
    rate: float
    eta: float | None

    @property
    def done(self) -> int:
        return self.ok + self.failed

    @property
    def pending(self) -> int:
        return self.total - self.done


class BatchResults:
    """One row per input, in input order, filled in as rows finish.

    While the batch runs (in the background, or from another thread) `progress` tells how far
    it is, `stop()` ends it at once and `wait()` blocks until it ends. Rows still in flight
    when it stops stay "pending"; a re-run with the same checkpoint runs them.
    """

    def __init__(
        self,
        chat: Chat,
        prompts: list[str],
        settings: LoopSettings,
        *,
        checkpoint: str | os.PathLike[str] | None = None,
        executor: Executor | Any = None,
        progress: bool = True,
    ) -> None:
        if not isinstance(chat, Chat):
            raise ConfigurationError(f"a batch needs an nbchat.Chat, not {type(chat).__name__}")
        self._chat = chat
        self._prompts = prompts
        self._settings = settings
        self._executor = executor
        self._rows: list[RowResult | None] = [None] * len(prompts)
        self._ok = self._failed = self._finished_here = 0
        self.state: State = "ready"
        #: What ended the batch early: BatchError (on_error="stop") or an executor's error.
        self.error: BaseException | None = None
        self._started: float | None = None
        self._ended: float | None = None
        self._ended_event = threading.Event()
        self._stop_requested = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Future[None] | None = None
        self._checkpoint = Checkpoint(checkpoint) if checkpoint is not None else None
        self._work = self._resume()
        try:
            self._bar = ProgressBar(len(prompts), self._ok, 0) if progress else None
        except BaseException:
            self._close_checkpoint()
            raise

    # -- what the batch has so far --------------------------------------------------------

    @property
    def rows(self) -> list[RowResult]:
        return [row or RowResult(i, self._prompts[i]) for i, row in enumerate(self._rows)]

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def progress(self) -> Progress:
        end = self._ended or time.monotonic()
        elapsed = end - self._started if self._started is not None else 0.0
        rate = self._finished_here / elapsed if elapsed > 0 else 0.0
        left = len(self._rows) - self._ok - self._failed
        eta = left / rate if rate > 0 else None
        return Progress(len(self._rows), self._ok, self._failed, elapsed, rate, eta)

    @property
    def usage(self) -> Usage:
        """Token totals over the rows that reported usage (None where none did)."""
        totals: dict[str, int | None] = {"input_tokens": None, "output_tokens": None}
        totals["total_tokens"] = None
        for row in self._rows:
            for key, value in ((row and row.usage) or {}).items():
                if value is not None and key in totals:
                    totals[key] = (totals[key] or 0) + value
        return Usage(**totals)

    def to_pandas(self) -> pandas.DataFrame:
        """A DataFrame, one row per input: index, prompt, text, status, error, usage (a dict
        of token counts or None), latency (seconds), attempts."""
        try:
            import pandas
        except ImportError:
            raise ConfigurationError("to_pandas() needs pandas: pip install pandas") from None
        records = [row.to_record() for row in self.rows]
        columns = list(RowResult.__dataclass_fields__)
        return pandas.DataFrame.from_records(records, columns=columns)

    def __repr__(self) -> str:
        p = self.progress
        return (
            f"<BatchResults {p.total} rows: {p.ok} ok, {p.failed} failed, "
            f"{p.pending} pending ({self.state})>"
        )

    # -- controlling the run -------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state == "running"

    def stop(self) -> None:
        """Stop now, from any thread: rows in flight are dropped (and run again on a re-run);
        every finished row stays here and in the checkpoint."""
        self._stop_requested = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended: so did the batch
                loop.call_soon_threadsafe(task.cancel)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the batch ends (True) or `timeout` seconds pass (False). Raises what
        ended it early: BatchError for on_error="stop", or an executor's error."""
        if not self._ended_event.wait(timeout):
            return False
        self._raise_failure()
        return True

    # -- running -------------------------------------------------------------------------

    def _resume(self) -> Work:
        """Rows the checkpoint already has are filled in; the others (failed ones too) are the
        work of this run."""
        if self._checkpoint is not None:
            for row in self._checkpoint.open(self._prompts).values():
                self._set(row)
        return [
            (index, prompt)
            for index, prompt in enumerate(self._prompts)
            if (done := self._rows[index]) is None or done.status != "ok"
        ]

    def _set(self, row: RowResult) -> None:
        old = self._rows[row.index]
        if old is not None:
            self._ok -= old.status == "ok"
            self._failed -= old.status == "error"
        self._rows[row.index] = row
        self._ok += row.status == "ok"
        self._failed += row.status == "error"

    def _record(self, row: RowResult) -> None:
        """A row finished (on the batch's event loop): keep it, log it, count it."""
        self._set(row)
        self._finished_here += 1
        if self._checkpoint is not None:
            self._checkpoint.append(row)
        if self._bar is not None:
            self._bar.row_done(failed=row.status == "error")
        if row.status == "error" and self._settings.on_error == "stop" and self.error is None:
            self.error = BatchError(
                f"row {row.index} failed: {row.error}. The batch stopped (on_error='stop'); "
                f"{self._ok + self._failed} rows are finished and kept"
                + (" in the checkpoint: run it again to continue" if self._checkpoint else ""),
                self,
            )

    async def _run(self) -> None:
        """Run the batch on the current event loop. Only a cancellation that did not come from
        `stop()` propagates; other failures end up in `error`."""
        self._loop = asyncio.get_running_loop()
        self.state, self._started = "running", time.monotonic()
        if self._executor is not None:
            work = run_on_executor(
                self._executor, self._chat, self._work, self._settings, self._record
            )
        else:
            work = run_rows(self._chat, self._work, self._settings, self._record)
        self._task = asyncio.ensure_future(work)
        if self._stop_requested:
            self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            self.state = "stopped"
            if not self._stop_requested:
                raise
        except Exception as exc:
            self.error = exc
        else:
            self.state = "done"
        finally:
            if self.error is not None:
                self.state = "failed"
            self._ended = time.monotonic()
            if self._bar is not None:
                self._bar.close(stopped=self.state != "done")
            self._close_checkpoint()
            self._ended_event.set()

    def _start_thread(self) -> None:
        """Run the batch on an event loop of its own, in a background thread (Jupyter's main
        thread already runs a loop, so the batch cannot borrow it)."""
        thread = threading.Thread(
            target=asyncio.run, args=(self._run(),), name="nbchat-batch", daemon=True
        )
        self.state = "running"  # from now on, not once the thread gets going
        thread.start()

    def _raise_failure(self) -> None:
        if self.error is not None:
            raise self.error

    def _close_checkpoint(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.close()
