"""IPython magics: `%%chat` streams a reply into the cell and keeps it as a Python value.

`%load_ext nbchat` registers `%%chat`/`%chat`, `%chat_connect`, `%chat_tools`, `%chat_new` and
`%chat_history`.
They all use the session's current `Chat` (`nbchat.session`); a `ChatWidget()` built without
arguments attaches to the same one, so turns sent from cells show in the widget too.

The package follows the seams of the job: `options` (what a `%chat` line means), `display`
(showing a reply), `connect` (`%chat_connect`), `core` (the magics class).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..events import Reply
from ..markdown import reply_html, reply_text
from ..session import current_chat, use_chat
from .core import ChatMagics
from .display import LIVE_RATIO, LIVE_WINDOW, UPDATE_INTERVAL, LiveView, live_bundle, show_final
from .options import chat_lines, interpolate

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = [
    "LIVE_RATIO",
    "LIVE_WINDOW",
    "UPDATE_INTERVAL",
    "ChatMagics",
    "LiveView",
    "current_chat",
    "interpolate",
    "live_bundle",
    "load_ipython_extension",
    "show_final",
    "use_chat",
]


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Register the magics, and show a `Reply` in a cell as sanitized HTML (and plain text)."""
    magics = ChatMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("post_run_cell", magics.session.errors.post_run_cell)
    if chat_lines not in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.append(chat_lines)
    formatter = ipython.display_formatter
    if formatter is None:
        raise ImportError("nbchat's magics need an IPython shell with a display formatter")
    formatters = formatter.formatters
    formatters["text/html"].for_type(Reply, reply_html)
    formatters["text/plain"].for_type(Reply, lambda reply, p, cycle: p.text(reply_text(reply)))
    show = formatter.ipython_display_formatter
    show.for_type(Reply, magics.on_screen.display_reply)
