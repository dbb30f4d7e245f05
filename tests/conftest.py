"""Shared fixtures: a reference server on loopback for the whole test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nbchat.server import ServerHandle, start_server


@pytest.fixture(scope="session")
def server() -> Iterator[ServerHandle]:
    """The reference server with no auth, no rate limit and no delay between deltas."""
    with start_server(delay=0.0) as handle:
        yield handle


@pytest.fixture(scope="session")
def server_url(server: ServerHandle) -> str:
    return server.url
