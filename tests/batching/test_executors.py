"""Batches sharded to executors: a thread pool, and Dask LocalCluster worker processes."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import distributed
import pytest

import nbchat
from nbchat.batching.executors import SHARD_ROWS_PER_SENDER
from nbchat.errors import BatchError
from nbchat.server import ServerHandle

from .conftest import agent, checkpoint_lines


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    # Two worker processes with one thread each: small enough for a 2-core machine.
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_a_thread_pool_runs_shards_and_the_client_writes_the_checkpoint(
    server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    prompts = [f"/echo {i}" for i in range(50)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = nbchat.batch(
            agent(server.url),
            "{text}",
            prompts,
            concurrency=2,
            executor=pool,
            checkpoint=path,
            progress=False,
        )
    assert results.state == "done"
    assert [r.text for r in results.rows] == [str(i) for i in range(50)]
    assert Counter(line["index"] for line in checkpoint_lines(path)) == Counter(range(50))


def test_dask_workers_each_run_a_loop_and_rows_come_back_once(
    server: ServerHandle, dask_client: distributed.Client, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    prompts = [f"/echo {i}" for i in range(60)]
    concurrency = 3
    with distributed.get_task_stream(dask_client) as stream:
        results = nbchat.batch(
            agent(server.url),
            "{text}",
            prompts,
            concurrency=concurrency,
            executor=dask_client,
            checkpoint=path,
            progress=False,
        )
    assert results.state == "done"
    assert [r.text for r in results.rows] == [str(i) for i in range(60)]
    assert Counter(line["index"] for line in checkpoint_lines(path)) == Counter(range(60))
    shards = [task for task in stream.data if task["key"].startswith("run_shard")]
    assert len(shards) == 60 // (SHARD_ROWS_PER_SENDER * concurrency)
    assert len({task["worker"] for task in shards}) == 2  # both worker processes ran shards
    # "/echo N" is 2 words in and 1 out, on every row, whichever worker sent it.
    assert results.usage.total_tokens == 60 * 3


def test_dask_batch_resumes_from_the_checkpoint_and_stops_on_error(
    server: ServerHandle, dask_client: distributed.Client, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    prompts = ["/echo 0", "/echo 1", "/fail", *(f"/echo {i}" for i in range(3, 40))]
    with pytest.raises(BatchError, match="row 2 failed") as caught:
        nbchat.batch(
            agent(server.url),
            "{text}",
            prompts,
            concurrency=1,
            executor=dask_client,
            checkpoint=path,
            on_error="stop",
            progress=False,
        )
    stopped = caught.value.results
    assert stopped.rows[2].status == "error"
    assert "pending" in {r.status for r in stopped.rows}
    fixed = [p.replace("/fail", "/echo 2") for p in prompts]
    with pytest.raises(nbchat.errors.CheckpointError, match="row 2 of another batch"):
        nbchat.batch(agent(server.url), "{text}", fixed, checkpoint=path, progress=False)
    again = nbchat.batch(
        agent(server.url),
        "{text}",
        prompts,
        executor=dask_client,
        checkpoint=path,
        progress=False,
    )
    assert [r.status for r in again.rows].count("ok") == 39
    assert Counter(line["index"] for line in checkpoint_lines(path) if line["status"] == "ok") == (
        Counter(i for i in range(40) if i != 2)
    )


def test_stopping_a_dask_batch_returns_at_once_with_whole_shards_kept(
    slow_server: ServerHandle, dask_client: distributed.Client, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    prompts = [f"/echo a b c {i}" for i in range(200)]
    results = nbchat.batch(
        agent(slow_server.url),
        "{text}",
        prompts,
        concurrency=2,
        executor=dask_client,
        checkpoint=path,
        progress=False,
        background=True,
    )
    while results.progress.done < 8:
        assert results.wait(timeout=0.02) is False, "the batch ended before it was stopped"
    began = time.monotonic()
    results.stop()
    assert results.wait(timeout=10)
    assert time.monotonic() - began < 2
    assert results.state == "stopped"
    kept = [line["index"] for line in checkpoint_lines(path)]
    assert sorted(kept) == [r.index for r in results.rows if r.status == "ok"]
    assert len(kept) % (SHARD_ROWS_PER_SENDER * 2) == 0 and len(kept) < 200  # whole shards
