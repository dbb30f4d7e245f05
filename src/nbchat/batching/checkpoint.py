"""A batch's checkpoint: an append-only JSONL file of finished rows, so a re-run skips them.

Each finished row is one line (`RowResult.to_record()`), written with a single unbuffered
`write`, so a crash leaves at most a torn last line; opening drops that line. When an index
appears twice (a failed row retried), the later line wins.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import BinaryIO

import orjson

from ..errors import CheckpointError
from .rows import RowResult

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, one writer is the user's business
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("nbchat")

FINISHED = ("ok", "error")


class Checkpoint:
    """The checkpoint at `path`; `open()` locks it, reads it and readies it for appends."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._file: BinaryIO | None = None

    def open(self, prompts: list[str]) -> dict[int, RowResult]:
        """The rows already finished, by index. Raises CheckpointError if another batch is
        writing the file, a line is damaged, or a row was made from a different prompt."""
        file = self.path.open("ab+", buffering=0)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise CheckpointError(
                        f"{self.path} is in use by another running batch; stop it first"
                    ) from None
            file.seek(0)
            rows = self._read(file.read(), file, prompts)
        except BaseException:
            file.close()
            raise
        self._file = file
        return rows

    def append(self, row: RowResult) -> None:
        if self._file is None:
            raise RuntimeError("the checkpoint is not open")
        self._file.write(orjson.dumps(row.to_record()) + b"\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the lock
            self._file = None

    def _read(self, data: bytes, file: BinaryIO, prompts: list[str]) -> dict[int, RowResult]:
        end = data.rfind(b"\n") + 1
        if end < len(data):
            log.warning("%s: dropping a torn last line (%d bytes)", self.path, len(data) - end)
            file.truncate(end)
        rows: dict[int, RowResult] = {}
        for number, line in enumerate(data[:end].splitlines(), start=1):
            if line.strip():
                row = self._row(line, number)
                self._check(row, number, prompts)
                rows[row.index] = row
        return rows

    def _row(self, line: bytes, number: int) -> RowResult:
        try:
            record = orjson.loads(line)
            row = RowResult.from_record(record)
        except (orjson.JSONDecodeError, TypeError, AttributeError) as exc:
            raise CheckpointError(
                f"{self.path} line {number} is not a row record ({exc}); "
                "delete that line, or the file to start over"
            ) from None
        if not isinstance(row.index, int) or row.status not in FINISHED:
            raise CheckpointError(
                f"{self.path} line {number} is not a finished row; "
                "delete that line, or the file to start over"
            )
        return row

    def _check(self, row: RowResult, number: int, prompts: list[str]) -> None:
        if row.index < 0 or row.index >= len(prompts) or prompts[row.index] != row.prompt:
            raise CheckpointError(
                f"{self.path} line {number} is row {row.index} of another batch (its prompt "
                "differs from this batch's); use another checkpoint file, or delete this one "
                "to start over"
            )
