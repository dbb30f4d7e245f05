"""Reference servers for batches, and a helper to read a checkpoint back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import nbchat
from nbchat.server import ServerHandle, start_server

#: Seconds between streamed steps on the slow server: "/echo a b c N" takes 4 steps.
SLOW_DELAY = 0.05


def agent(url: str, **options: Any) -> nbchat.Chat:
    return nbchat.Chat(url, dialect="agents", agent_id="ag_demo", **options)


def checkpoint_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete line of a checkpoint, in order."""
    data = path.read_bytes()
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


@pytest.fixture
def slow_server() -> Iterator[ServerHandle]:
    """A server whose replies take a while, so a batch can be stopped midway."""
    with start_server(delay=SLOW_DELAY) as handle:
        yield handle
