"""Showing a reply in a cell: live while it streams, then once in its final form."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from IPython.display import display

from ..events import Reply
from ..markdown import reply_markdown, reply_text

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["LiveView", "OnScreen", "show_final"]

#: Streaming display limits (see LiveView): seconds between updates, and the byte allowance.
UPDATE_INTERVAL = 0.1
UPDATE_SLACK = 16_384
UPDATE_BYTES_PER_SECOND = 32_768


class LiveView:
    """The reply in the cell as it streams, then once in its final, deterministic form.

    The live output starts and ends empty (an empty bundle, which front ends draw as nothing)
    and the final form is a second, new output (`show_final`). Tools that ignore display
    updates (nbval) and front ends that apply them (JupyterLab, nbclient) see the same outputs.

    Each update re-sends the whole reply so far, so updates are limited twice: at most one per
    UPDATE_INTERVAL, and in total UPDATE_SLACK + half the reply + UPDATE_BYTES_PER_SECOND per
    second of streaming. Short or slow replies update smoothly; a long fast one refreshes a few
    times and then shows its final form, instead of flooding IOPub with copies of itself.
    """

    def __init__(self, fmt: str) -> None:
        self._mime = "text/plain" if fmt == "text" else "text/markdown"
        self._handle: Any = display({}, raw=True, display_id=True)
        self._body = ""  # what the live output shows now
        self._sent = 0
        self._started: float | None = None
        self._last = 0.0

    def update(self, reply: Reply) -> None:
        now = time.monotonic()
        if self._started is None:  # a reply done within one interval shows only its final form
            self._started = self._last = now
        if now - self._last < UPDATE_INTERVAL:
            return
        size = len(reply.text)
        allowance = UPDATE_SLACK + size // 2 + UPDATE_BYTES_PER_SECOND * (now - self._started)
        if self._sent + size > allowance:
            return
        body = reply_text(reply) if self._mime == "text/plain" else reply_markdown(reply)
        if body == self._body:
            return
        self._handle.update({self._mime: body}, raw=True)
        self._body = body
        self._sent += len(body)
        self._last = now

    def close(self) -> None:
        """Empty the live output; the final form follows as its own output (`show_final`).

        Unconditional: an interrupt may have landed between an update and its bookkeeping.
        """
        self._handle.update({}, raw=True)


def show_final(reply: Reply, fmt: str) -> None:
    """The reply's final output: Markdown and plain text, or plain text only."""
    data = {"text/plain": reply_text(reply)}
    if fmt != "text":
        data["text/markdown"] = reply_markdown(reply)
    display(data, raw=True)


class OnScreen:
    """The replies the current cell shows already, so returning one does not show it twice."""

    def __init__(self, shell: InteractiveShell) -> None:
        self._shell = shell
        self._count = -1
        self._replies: list[Reply] = []

    def mark(self, reply: Reply) -> None:
        """Remember that this cell already shows `reply`."""
        if self._count != self._shell.execution_count:
            self._count, self._replies = self._shell.execution_count, []
        self._replies.append(reply)

    def display_reply(self, reply: Reply) -> None:
        """Show a Reply as safe Markdown, unless this cell shows it already (`r = %chat ...`)."""
        if self._count == self._shell.execution_count and any(r is reply for r in self._replies):
            return
        formatters = self._shell.display_formatter.formatters
        display({m: formatters[m](reply) for m in ("text/markdown", "text/plain")}, raw=True)
