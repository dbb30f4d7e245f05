"""What batches rely on: `Chat.fork()` and a Chat that pickles (to reach Dask workers)."""

from __future__ import annotations

import pickle

import nbchat
from nbchat.server import start_server


def test_a_fork_is_an_empty_conversation_with_the_same_backend_and_credentials() -> None:
    with start_server(token="s3cret-token") as server:
        chat = nbchat.Chat(server.url, dialect="agents", agent_id="ag_demo", token="s3cret-token")
        chat.send("first")
        heard: list[object] = []
        chat.subscribe(lambda *args: heard.append(args))
        fork = chat.fork()
        assert fork.history == [] and fork.target.session_id is None
        assert (fork.base_url, fork.dialect, fork.target.agent_id) == (
            chat.base_url,
            "agents",
            "ag_demo",
        )
        assert "Turn 1." in fork.send("hello").text  # a new session: no memory of "first"
        assert len(chat.history) == 1 and not heard  # the original is untouched, unheard
        assert "s3cret-token" not in repr(fork)


def test_a_chat_pickles_without_its_connection_or_listeners() -> None:
    with start_server(token="s3cret-token") as server:
        chat = nbchat.Chat(server.url, dialect="agents", agent_id="ag_demo", token="s3cret-token")
        chat.send("warm the connection pool")
        chat.subscribe(lambda *args: None)
        copy = pickle.loads(pickle.dumps(chat.fork()))
        assert copy.send("/echo still authenticated").text == "still authenticated"
