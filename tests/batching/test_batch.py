"""Batches against the reference server over loopback: rows, failures, rate limits, stop and
resume, the async twin and the background handle."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

import nbchat
from nbchat.errors import BatchError, CheckpointError, ConfigurationError
from nbchat.events import Usage
from nbchat.server import ServerHandle, start_server

from .conftest import agent, checkpoint_lines


def test_each_row_is_sent_once_and_gets_its_own_reply(server: ServerHandle) -> None:
    chat = agent(server.url)
    results = nbchat.batch(
        chat, "/echo row {n}", [{"n": i} for i in range(30)], concurrency=4, progress=False
    )
    assert results.state == "done"
    rows = results.rows
    assert [r.index for r in rows] == list(range(30))
    assert [r.text for r in rows] == [f"row {i}" for i in range(30)]
    assert {(r.status, r.attempts, r.error) for r in rows} == {("ok", 1, None)}
    assert all(r.latency is not None and r.latency > 0 for r in rows)
    # The demo server counts words: "/echo row N" is 3 in, "row N" is 2 out.
    assert rows[0].usage == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    assert results.usage == Usage(input_tokens=90, output_tokens=60, total_tokens=150)
    assert chat.history == []  # the rows were forks; the template conversation is untouched


def test_rows_do_not_share_a_conversation(server: ServerHandle) -> None:
    chat = nbchat.Chat(server.url, dialect="chats", model="demo", user_id="batch-user")
    before = len(server.store.chats)
    results = nbchat.batch(chat, "hello {text}", ["a", "b", "c", "d"], progress=False)
    assert len(server.store.chats) == before + 4  # one new chat per row
    assert all(r.text.startswith("**Turn 1.**") for r in results.rows)
    assert results.usage == Usage()  # the chats format reports no usage


def test_to_pandas_has_one_row_per_input(server: ServerHandle) -> None:
    results = nbchat.batch(agent(server.url), "/echo {text}", ["x", "/fail"], progress=False)
    frame = results.to_pandas()
    assert list(frame.columns) == [
        "index",
        "prompt",
        "text",
        "status",
        "error",
        "usage",
        "latency",
        "attempts",
    ]
    assert frame["index"].tolist() == [0, 1]
    assert frame["status"].tolist() == ["ok", "ok"]  # "/echo /fail" echoes, it does not fail
    assert frame["text"].tolist() == ["x", "/fail"]


def test_failed_rows_keep_their_partial_reply_and_the_batch_goes_on(
    server: ServerHandle, tmp_path: Path
) -> None:
    prompts = ["/echo ok 0", "/fail", "/echo ok 2", "/fail", "/echo ok 4"]
    path = tmp_path / "c.jsonl"
    results = nbchat.batch(agent(server.url), "{text}", prompts, checkpoint=path, progress=False)
    assert results.state == "done"
    assert [r.status for r in results.rows] == ["ok", "error", "ok", "error", "ok"]
    failed = results.rows[1]
    assert failed.text == "This reply will stop part way"
    assert failed.error is not None and "failed on purpose (/fail)" in failed.error
    assert (results.progress.ok, results.progress.failed) == (3, 2)
    assert sorted(line["index"] for line in checkpoint_lines(path)) == [0, 1, 2, 3, 4]


def test_on_error_stop_raises_with_every_finished_row_kept(
    server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    prompts = ["/echo a", "/echo b", "/fail", "/echo d", "/echo e"]
    with pytest.raises(BatchError, match="row 2 failed") as caught:
        nbchat.batch(
            agent(server.url),
            "{text}",
            prompts,
            concurrency=1,
            on_error="stop",
            checkpoint=path,
            progress=False,
        )
    results = caught.value.results
    assert results.state == "failed"
    assert [r.status for r in results.rows] == ["ok", "ok", "error", "pending", "pending"]
    assert [line["index"] for line in checkpoint_lines(path)] == [0, 1, 2]


def test_rate_limited_rows_slow_the_batch_down_and_all_finish() -> None:
    # 4 requests a second; the chat does not retry, so every 429 reaches the batch.
    with start_server(rate_limit=4, rate_window=1.0) as limited:
        chat = agent(limited.url, max_retries=0)
        began = time.monotonic()
        results = nbchat.batch(
            chat, "/echo {text}", [str(i) for i in range(16)], concurrency=8, progress=False
        )
        took = time.monotonic() - began
    assert results.state == "done"
    assert [r.text for r in results.rows] == [str(i) for i in range(16)]
    refused = sum(r.attempts for r in results.rows) - 16
    assert refused > 0  # the limit was hit...
    assert took >= 3  # ...and honoured: 16 rows at 4 a second
    # The shared pause keeps the senders from hammering: far fewer 429s than the
    # 8 senders x 6 attempts they could have spent.
    assert refused <= 32, [r.attempts for r in results.rows]


def test_per_request_retry_after_is_honoured_by_the_chats_own_retries() -> None:
    with start_server(rate_limit=3, rate_window=1.0) as limited:
        results = nbchat.batch(
            agent(limited.url, max_retries=3), "/echo {text}", list("abcdef"), progress=False
        )
    assert [r.text for r in results.rows] == list("abcdef")
    assert results.progress.failed == 0


def test_stop_keeps_finished_rows_and_a_rerun_finishes_the_rest(
    slow_server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    prompts = [f"/echo a b c {i}" for i in range(40)]
    chat = agent(slow_server.url)
    results = nbchat.batch(
        chat, "{text}", prompts, concurrency=4, checkpoint=path, progress=False, background=True
    )
    while results.progress.done < 8:
        time.sleep(0.01)
    began = time.monotonic()
    results.stop()
    assert results.wait(timeout=5)
    assert time.monotonic() - began < 2  # at once: rows in flight are dropped, not awaited
    assert results.state == "stopped"
    kept = checkpoint_lines(path)
    finished = [r.index for r in results.rows if r.status == "ok"]
    assert sorted(line["index"] for line in kept) == finished  # every finished row, once
    assert 8 <= len(finished) < 40

    sessions = slow_server.store.sessions  # one per row sent: its prompt, once it ends
    known = set(sessions)
    again = nbchat.batch(chat, "{text}", prompts, concurrency=4, checkpoint=path, progress=False)
    assert again.state == "done"
    sent = {turn.user for key, turns in sessions.items() if key not in known for turn in turns}
    assert sent >= {prompts[i] for i in range(40) if i not in finished}
    assert not sent & {prompts[i] for i in finished}  # done rows were not sent again
    assert [r.text for r in again.rows] == [f"a b c {i}" for i in range(40)]
    counts = Counter(line["index"] for line in checkpoint_lines(path))
    assert counts == Counter(range(40))  # no row lost, none duplicated


def test_a_rerun_tries_failed_rows_again_and_skips_done_ones(
    server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    first = nbchat.batch(
        agent(server.url), "{text}", ["/echo a", "/fail"], checkpoint=path, progress=False
    )
    assert [r.status for r in first.rows] == ["ok", "error"]
    started = server.store.stats.started
    second = nbchat.batch(
        agent(server.url), "{text}", ["/echo a", "/fail"], checkpoint=path, progress=False
    )
    assert server.store.stats.started - started == 1
    assert second.rows[1].status == "error"
    # The first run wrote both rows in the order they finished (they run at once); the rerun
    # appended only the failed one.
    indexes = [line["index"] for line in checkpoint_lines(path)]
    assert sorted(indexes[:2]) == [0, 1] and indexes[2:] == [1]


def test_a_checkpoint_from_other_inputs_is_refused(server: ServerHandle, tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    nbchat.batch(agent(server.url), "/echo {text}", ["a"], checkpoint=path, progress=False)
    with pytest.raises(CheckpointError, match="another batch"):
        nbchat.batch(agent(server.url), "/echo {text}", ["b"], checkpoint=path, progress=False)


async def test_abatch_runs_on_the_current_loop(server: ServerHandle) -> None:
    results = await nbchat.abatch(
        agent(server.url), "/echo {w}", [{"w": "x"}, {"w": "y"}], progress=False
    )
    assert [r.text for r in results.rows] == ["x", "y"]


async def test_cancelling_abatch_stops_it_and_keeps_finished_rows(
    slow_server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "c.jsonl"
    prompts = [f"/echo a b c {i}" for i in range(40)]
    task = asyncio.ensure_future(
        nbchat.abatch(agent(slow_server.url), "{text}", prompts, checkpoint=path, progress=False)
    )
    while not path.exists() or len(checkpoint_lines(path)) < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    kept = [line["index"] for line in checkpoint_lines(path)]
    assert 4 <= len(kept) < 40 and len(set(kept)) == len(kept)
    again = await nbchat.abatch(
        agent(slow_server.url), "{text}", prompts, checkpoint=path, progress=False
    )
    assert [r.text for r in again.rows] == [f"a b c {i}" for i in range(40)]
    assert Counter(line["index"] for line in checkpoint_lines(path)) == Counter(range(40))


def test_background_batch_reports_progress_while_it_runs(slow_server: ServerHandle) -> None:
    results = nbchat.batch(
        agent(slow_server.url),
        "/echo a b c {text}",
        [str(i) for i in range(12)],
        concurrency=2,
        progress=False,
        background=True,
    )
    assert results.running
    assert not results.wait(timeout=0.05)
    seen = set()
    while not results.wait(timeout=0.02):
        seen.add(results.progress.done)
    assert results.state == "done"
    assert len(seen - {0, 12}) >= 2  # progress moved in steps while it ran
    progress = results.progress
    assert (progress.done, progress.pending, progress.eta) == (12, 0, 0.0)
    assert progress.rate > 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"concurrency": 0}, "concurrency must be a positive integer"),
        ({"on_error": "skip"}, 'on_error must be "continue" or "stop"'),
        ({"rpm": -1}, "rpm must be positive"),
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(
    server: ServerHandle, options: dict[str, object], message: str
) -> None:
    started = server.store.stats.started
    with pytest.raises(ConfigurationError, match=message):
        nbchat.batch(agent(server.url), "/echo {text}", ["a"], progress=False, **options)  # type: ignore[arg-type]
    assert server.store.stats.started == started


def test_rpm_caps_the_rows_sent_per_minute(server: ServerHandle) -> None:
    began = time.monotonic()
    results = nbchat.batch(
        agent(server.url), "/echo {text}", list("abcde"), concurrency=5, rpm=240, progress=False
    )
    assert results.state == "done"
    assert time.monotonic() - began >= 4 * 60 / 240  # five starts, a quarter second apart


def test_no_chat_means_the_current_conversation(server: ServerHandle) -> None:
    from nbchat.session import session

    session.use(agent(server.url))  # what %chat_connect does
    try:
        results = nbchat.batch(None, "/echo {text}", ["a", "b"], progress=False)
    finally:
        session.reset()
    assert [r.text for r in results.rows] == ["a", "b"]
