"""Wire formats. Each module translates one backend's requests and SSE payloads; none does I/O."""

from __future__ import annotations

from ..errors import ConfigurationError
from .agents import AgentsDialect
from .base import Dialect, HttpRequest, MalformedPayload, Target
from .chats import ChatsDialect

DIALECTS: dict[str, type[Dialect]] = {"chats": ChatsDialect, "agents": AgentsDialect}

__all__ = ["DIALECTS", "Dialect", "HttpRequest", "MalformedPayload", "Target", "get_dialect"]


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]()
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ConfigurationError(f"unknown dialect {name!r}; known: {known}") from None
