from __future__ import annotations

from collections.abc import Iterator

import pytest

from .faultserver import FaultServer


@pytest.fixture
def fault() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server
