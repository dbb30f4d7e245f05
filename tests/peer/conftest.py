"""The real-peer tests' fixture. They fail, never skip, when the peer cannot be installed or
started: a missing peer must not pass for a working one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .llama import Peer, PeerUnavailable, running_peer


@pytest.fixture(scope="session")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    try:
        with running_peer(tmp_path_factory.mktemp("peer") / "server.log") as started:
            yield started
    except PeerUnavailable as exc:
        pytest.fail(f"the real-peer tests need llama-cpp-python's server: {exc}", pytrace=False)
