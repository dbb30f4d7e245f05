"""nbchat: chat with AI backends from Jupyter notebooks.

Importing nbchat is cheap: the widget, the magics and the reference server load on first use.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import errors, events
from .batching import BatchResults, abatch, batch
from .chat import Chat, EventStream
from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    BatchError,
    CheckpointError,
    ConfigurationError,
    ConnectionError,
    ContextTooLargeError,
    NbchatError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamError,
    TemplateError,
    TimeoutError,
)
from .events import (
    Done,
    Error,
    ReasoningDelta,
    Reply,
    Source,
    Start,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    ToolStatus,
    Usage,
)
from .tools import Tool, tool
from .turn import Turn

if TYPE_CHECKING:
    from .server import ServerHandle, start_server
    from .widget import ChatWidget

__version__ = importlib.metadata.version("nbchat")  # written once, in pyproject.toml

# A library stays quiet unless the application configures logging (retries log warnings).
logging.getLogger("nbchat").addHandler(logging.NullHandler())

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "BatchError",
    "BatchResults",
    "Chat",
    "ChatWidget",
    "CheckpointError",
    "ConfigurationError",
    "ConnectionError",
    "ContextTooLargeError",
    "Done",
    "Error",
    "EventStream",
    "NbchatError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReasoningDelta",
    "Reply",
    "ServerError",
    "ServerHandle",
    "Source",
    "Start",
    "StreamError",
    "TemplateError",
    "TextDelta",
    "TimeoutError",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolResult",
    "ToolStatus",
    "Turn",
    "Usage",
    "abatch",
    "batch",
    "errors",
    "events",
    "load_ipython_extension",
    "register_formatter",
    "render",
    "start_server",
    "tool",
]

_LAZY = {
    "ChatWidget": ("nbchat.widget", "ChatWidget"),
    "start_server": ("nbchat.server", "start_server"),
    "ServerHandle": ("nbchat.server", "ServerHandle"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'nbchat' has no attribute {name!r}")


def render(value: Any, max_chars: int | None = None) -> str:
    """`value` as `{value}` puts it in a message: through the session's formatters, capped at
    `max_chars` characters (default: the session's setting, 4,000) plus a marker if cut."""
    from .session import session

    return session.context.render(value, max_chars)


def register_formatter(kind: type | str, formatter: Callable[[Any, int], str]) -> None:
    """Render values of `kind` (a class, or "module.Name") with `formatter(value, max_chars)`
    in messages, for the magics and the panel alike."""
    from .session import session

    session.context.register(kind, formatter)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nbchat` registers the chat magics."""
    from .magics import load_ipython_extension as load

    load(ipython)
