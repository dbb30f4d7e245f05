"""The checkpoint: append-only JSONL, a torn last line dropped, other damage refused."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from nbchat.batching.checkpoint import Checkpoint
from nbchat.batching.rows import RowResult
from nbchat.errors import CheckpointError

PROMPTS = ["p0", "p1", "p2"]


def row(index: int, status: str = "ok") -> RowResult:
    return RowResult(index, PROMPTS[index], f"text {index}", status, None, None, 0.1, 1)  # type: ignore[arg-type]


def write(path: Path, *rows: RowResult) -> None:
    checkpoint = Checkpoint(path)
    checkpoint.open(PROMPTS)
    for r in rows:
        checkpoint.append(r)
    checkpoint.close()


def test_rows_read_back_and_the_later_line_of_an_index_wins(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    write(path, row(0), row(1, "error"))
    write(path, row(1))
    assert [json.loads(line)["index"] for line in path.read_text().splitlines()] == [0, 1, 1]
    checkpoint = Checkpoint(path)
    assert checkpoint.open(PROMPTS) == {0: row(0), 1: row(1)}
    checkpoint.close()


def test_a_torn_last_line_is_dropped_and_cut_off_before_the_next_append(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.jsonl"
    write(path, row(0))
    with path.open("ab") as file:
        file.write(b'{"index": 1, "prompt": "p1", "sta')  # a crash in the middle of a write
    checkpoint = Checkpoint(path)
    with caplog.at_level(logging.WARNING, logger="nbchat"):
        assert checkpoint.open(PROMPTS) == {0: row(0)}
    assert "torn last line" in caplog.text
    checkpoint.append(row(2))
    checkpoint.close()
    lines = path.read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [0, 2]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"not json\n", "line 2 is not a row record"),
        (b'{"index": 1, "prompt": "p1", "status": "pending"}\n', "line 2 is not a finished row"),
        (b'{"prompt": "p1", "status": "ok"}\n', "line 2 is not a row record"),
        (b'{"index": 1, "prompt": "other", "status": "ok"}\n', "is row 1 of another batch"),
        (b'{"index": 7, "prompt": "p1", "status": "ok"}\n', "is row 7 of another batch"),
    ],
)
def test_a_damaged_line_or_another_batchs_row_is_refused(
    tmp_path: Path, line: bytes, message: str
) -> None:
    path = tmp_path / "c.jsonl"
    write(path, row(0))
    with path.open("ab") as file:
        file.write(line)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match=message):
        Checkpoint(path).open(PROMPTS)
    assert path.read_bytes() == before  # nothing was lost


def test_two_batches_cannot_write_one_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    first = Checkpoint(path)
    first.open(PROMPTS)
    with pytest.raises(CheckpointError, match="in use by another running batch"):
        Checkpoint(path).open(PROMPTS)
    first.close()
    second = Checkpoint(path)
    assert second.open(PROMPTS) == {}
    second.close()
