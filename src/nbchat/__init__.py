"""nbchat: chat with AI backends from Jupyter notebooks.

Importing nbchat is cheap: the widget, the magics and the reference server load on first use.
"""

from __future__ import annotations

import importlib.metadata
import logging
from typing import TYPE_CHECKING, Any

from . import errors, events
from .chat import Chat, EventStream
from .errors import NbchatError, StreamError
from .events import Done, Error, Reply, Start, TextDelta, ToolCall, ToolResult, Usage
from .turn import Turn

if TYPE_CHECKING:
    from .server import ServerHandle, start_server
    from .widget import ChatWidget

__version__ = importlib.metadata.version("nbchat")  # written once, in pyproject.toml

# A library stays quiet unless the application configures logging (retries log warnings).
logging.getLogger("nbchat").addHandler(logging.NullHandler())

__all__ = [
    "Chat",
    "ChatWidget",
    "Done",
    "Error",
    "EventStream",
    "NbchatError",
    "Reply",
    "ServerHandle",
    "Start",
    "StreamError",
    "TextDelta",
    "ToolCall",
    "ToolResult",
    "Turn",
    "Usage",
    "errors",
    "events",
    "load_ipython_extension",
    "start_server",
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


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nbchat` registers the chat magics."""
    from .magics import load_ipython_extension as load

    load(ipython)
