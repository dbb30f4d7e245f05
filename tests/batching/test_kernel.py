"""Batches in a real IPython kernel: the interrupt button, and the progress bar's IOPub rate."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from magics.conftest import Kernel  # the real-kernel driver of the magics tests

from nbchat.server import ServerHandle, start_server

from .conftest import checkpoint_lines

#: Jupyter Server drops IOPub output past 1000 messages/s (iopub_msg_rate_limit); the bar
#: should stay orders of magnitude below, whatever the row rate. Its busiest second is the
#: first (a dozen widgets open); then it redraws twice a second, a few comm messages each.
MAX_MESSAGES_IN_ANY_SECOND = 40
MAX_UPDATES_PER_SECOND = 8


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    kernel = Kernel()
    yield kernel
    kernel.shutdown()


def setup_code(url: str) -> str:
    return (
        "import nbchat\n"
        f"chat = nbchat.Chat({url!r}, dialect='agents', agent_id='ag_demo')\n"
        "rows = [{'n': i} for i in range(2000)]"
    )


def test_interrupting_the_kernel_stops_the_batch_and_keeps_what_finished(
    kernel: Kernel, slow_server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    kernel.ok(setup_code(slow_server.url))
    msg_id = kernel.start(
        "results = nbchat.batch(chat, '/echo a b c {n}', rows, concurrency=4, "
        f"checkpoint={str(path)!r}, progress=False)"
    )
    deadline = time.monotonic() + 60
    while not path.exists() or len(checkpoint_lines(path)) < 8:
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.02)
    kernel.km.interrupt_kernel()
    execution = kernel.collect(msg_id)

    assert execution.ok, execution.error  # the batch returned what it had
    assert kernel.eval("results.state") == "stopped"
    finished = kernel.eval("[r.index for r in results.rows if r.status == 'ok']")
    kept = [line["index"] for line in checkpoint_lines(path)]
    assert sorted(kept) == finished
    assert 8 <= len(finished) < 2000
    assert Counter(kept) == Counter(set(kept))  # each row once


def test_the_progress_bar_stays_far_below_jupyters_iopub_limit(kernel: Kernel) -> None:
    # 2000 rows of two 10 ms steps, 8 at a time: at least 5 s however fast the machine.
    with start_server(delay=0.01) as server:
        kernel.ok(setup_code(server.url))
        execution = kernel.run(
            "results = nbchat.batch(chat, '/echo row {n}', rows, concurrency=8)", timeout=300
        )
    assert execution.ok, execution.error
    assert kernel.eval("results.state") == "done"

    times = [_seconds(m["header"]["date"]) for m in execution.messages]
    took = times[-1] - times[0]
    assert took >= 5
    busiest = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert busiest <= MAX_MESSAGES_IN_ANY_SECOND, (busiest, len(times), took)
    kinds = Counter(m["msg_type"] for m in execution.messages)
    assert kinds["comm_msg"] / took <= MAX_UPDATES_PER_SECOND, (kinds, took)
    assert kinds["comm_open"] > 0  # tqdm's notebook bar (ipywidgets), not a text bar
    assert kinds["stream"] == 0
    # The bar ended full: its last value is the row count.
    values = [
        m["content"]["data"]["state"]["value"]
        for m in execution.messages
        if m["msg_type"] == "comm_msg" and "value" in m["content"]["data"].get("state", {})
    ]
    assert 2000 in values, values[-3:]


def _seconds(date: datetime | str) -> float:
    if isinstance(date, str):
        date = datetime.fromisoformat(date.replace("Z", "+00:00"))
    return date.timestamp()
