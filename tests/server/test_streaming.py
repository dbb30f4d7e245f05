"""Streams under load, streams the client abandons, and stopping a busy server."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from httpx_sse import aconnect_sse

from nbchat.server import start_server

from .helpers import chat_body, new_chat


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the server"
        time.sleep(0.01)


async def test_fifty_concurrent_streams_all_complete_with_their_own_text() -> None:
    words = 40
    with start_server(delay=0.05) as srv:  # each stream lasts about 2 s, so they overlap

        async def one(client: httpx.AsyncClient, i: int) -> str:
            expected = " ".join(f"s{i}w{j}" for j in range(words))
            chat_id = (await client.post("/api/chats", json={"userId": f"u{i}"})).json()["data"]
            url = f"/api/chats/{chat_id['id']}/messages/stream"
            body = chat_body(f"/echo {expected}", user=f"u{i}")
            async with aconnect_sse(client, "POST", url, json=body) as source:
                payloads = [json.loads(event.data) async for event in source.aiter_sse()]
            assert payloads[-1]["type"] == "end"
            assert "".join(p.get("delta", "") for p in payloads) == expected
            return expected

        async with httpx.AsyncClient(base_url=srv.url, timeout=60) as client:
            results = await asyncio.gather(*(one(client, i) for i in range(50)))

        assert len(set(results)) == 50
        stats = srv.store.stats
        assert (stats.started, stats.completed, stats.cancelled) == (50, 50, 0)
        assert stats.deltas == 50 * words
        assert stats.peak == 50


@pytest.mark.parametrize("dialect", ["chats", "agents"])
def test_generation_stops_when_the_client_disconnects(dialect: str) -> None:
    prompt = "/stream 1000 10 20"  # 20 s in total if nobody stopped it
    with start_server() as srv:
        if dialect == "chats":
            chat_id = new_chat(srv.url)
            path, body = f"/api/chats/{chat_id}/messages/stream", chat_body(prompt)
        else:
            path, body = (
                "/chat/stream",
                {"agent_id": "ag_demo", "message": prompt, "session_id": "s"},
            )
        with httpx.stream("POST", f"{srv.url}{path}", json=body) as response:
            lines = itertools.islice(response.iter_lines(), 10)
            received = [line for line in lines if line.startswith("data: ")]
        assert len(received) >= 4

        stats = srv.store.stats
        wait_for(lambda: stats.cancelled == 1)
        assert (stats.active, stats.completed) == (0, 0)
        sent = stats.deltas
        time.sleep(0.3)  # time for 15 more deltas, had generation gone on
        assert stats.deltas == sent < 100

        if dialect == "chats":
            reply = srv.store.chats[chat_id].messages[-1]
        else:
            reply = srv.store.sessions["s"][-1]
        partial = reply.content if dialect == "chats" else reply.assistant
        assert len(partial) == 10 * sent  # the partial reply is kept in the conversation


def test_stop_ends_open_streams_and_frees_the_port() -> None:
    srv = start_server()
    finished = threading.Event()
    outcome: list[BaseException | str] = []

    def read_forever() -> None:
        body = {"agent_id": "ag_demo", "message": "/stream 1000 5 50"}
        try:
            with httpx.stream("POST", f"{srv.url}/chat/stream", json=body, timeout=30) as response:
                for _ in response.iter_lines():
                    pass
            outcome.append("ended")
        except httpx.HTTPError as exc:
            outcome.append(exc)
        finished.set()

    reader = threading.Thread(target=read_forever)
    reader.start()
    wait_for(lambda: srv.store.stats.deltas > 3)
    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 5
    assert finished.wait(5), "the client was left hanging"
    reader.join()
    assert not srv.running
    assert srv.store.stats.cancelled == 1
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{srv.url}/api/chats")
    srv.stop()  # stopping twice is harmless


def test_handle_is_a_context_manager_with_a_loopback_url() -> None:
    with start_server() as srv:
        assert srv.url == f"http://127.0.0.1:{srv.port}"
        assert srv.running
        assert repr(srv) == f"<nbchat ServerHandle {srv.url} running>"
        assert httpx.post(f"{srv.url}/api/chats", json={"userId": "u"}).status_code == 201
    assert not srv.running
    assert repr(srv).endswith("stopped>")


def test_server_with_a_token_keeps_it_out_of_its_repr() -> None:
    with start_server(token="hidden-value") as srv:
        assert "hidden-value" not in repr(srv)
        assert "hidden-value" not in repr(srv.app.state.settings)


def test_delay_paces_the_stream() -> None:
    with start_server(delay=0.02) as slow:
        path = f"{slow.url}/api/chats/{new_chat(slow.url)}/messages/stream"
        started = time.monotonic()
        response = httpx.post(path, json=chat_body("/stream 25 1"))
        assert time.monotonic() - started >= 25 * 0.02
        assert response.text.count("data: ") == 27


def test_background_server_leaves_the_hosts_logging_alone() -> None:
    before = {name: list(logging.getLogger(name).handlers) for name in ("", "uvicorn")}
    with start_server() as srv:
        assert httpx.post(f"{srv.url}/api/chats", json={"userId": "u"}).status_code == 201
    after = {name: list(logging.getLogger(name).handlers) for name in ("", "uvicorn")}
    assert after == before
    assert logging.getLogger("uvicorn.access").getEffectiveLevel() == logging.WARNING


def test_start_server_on_a_taken_port_raises_before_starting() -> None:
    with start_server() as srv, pytest.raises(OSError, match="Address already in use"):
        start_server(port=srv.port)
