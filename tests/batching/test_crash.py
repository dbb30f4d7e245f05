"""A batch process killed mid-run loses at most its rows in flight; a re-run finishes the rest."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import nbchat
from nbchat.server import ServerHandle

from .conftest import agent, checkpoint_lines

CONCURRENCY = 4
ROWS = 120
SCRIPT = """
import sys, nbchat
chat = nbchat.Chat(sys.argv[1], dialect="agents", agent_id="ag_demo")
rows = [str(i) for i in range(int(sys.argv[3]))]
nbchat.batch(chat, "/echo a b c {text}", rows, concurrency=int(sys.argv[4]),
             checkpoint=sys.argv[2], progress=False)
"""


def test_a_killed_batch_loses_only_rows_in_flight_and_resumes_without_duplicates(
    slow_server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    stats = slow_server.store.stats
    completed = stats.completed
    args = [slow_server.url, str(path), str(ROWS), str(CONCURRENCY)]
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, *args])
    try:
        deadline = time.monotonic() + 60
        while not path.exists() or len(checkpoint_lines(path)) < 10:
            assert time.monotonic() < deadline, "the batch made no progress"
            assert process.poll() is None, "the batch process ended early"
            time.sleep(0.01)
    finally:
        process.kill()  # SIGKILL: no cleanup runs
        process.wait()
    while stats.active:  # until the server has seen every stream end or break off
        assert time.monotonic() < deadline + 30, "streams never ended"
        time.sleep(0.01)
    kept = [line["index"] for line in checkpoint_lines(path)]
    answered = stats.completed - completed
    assert answered - len(kept) <= CONCURRENCY  # lost: only the rows that were in flight
    assert len(set(kept)) == len(kept) < ROWS

    with path.open("ab") as file:  # and had the kill torn a line in half:
        file.write(b'{"index": 99, "prompt": "/echo a b c 99", "text": "a b')

    results = nbchat.batch(
        agent(slow_server.url),
        "/echo a b c {text}",
        [str(i) for i in range(ROWS)],
        concurrency=16,
        checkpoint=path,
        progress=False,
    )
    assert results.state == "done"
    assert [r.text for r in results.rows] == [f"a b c {i}" for i in range(ROWS)]
    assert Counter(line["index"] for line in checkpoint_lines(path)) == Counter(range(ROWS))
