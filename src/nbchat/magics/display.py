"""Showing a reply in a cell: live while it streams, then once in its final form."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from IPython.display import display

from ..events import Reply
from ..markdown import reply_html, reply_text

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["LiveView", "OnScreen", "show_final"]

#: Streaming display limits (see LiveView): seconds between updates, and the byte allowance.
UPDATE_INTERVAL = 0.1
UPDATE_SLACK = 16_384
UPDATE_BYTES_PER_SECOND = 32_768
#: At most this share of the streaming time goes to rendering live updates (see LiveView).
RENDER_SHARE = 0.2


class LiveView:
    """The reply in the cell as it streams, then once in its final, deterministic form.

    The live output starts and ends empty (an empty bundle, which front ends draw as nothing)
    and the final form is a second, new output (`show_final`). Tools that ignore display
    updates (nbval) and front ends that apply them (JupyterLab, nbclient) see the same outputs.

    Each update re-sends the whole reply so far, so updates are limited twice: at most one per
    UPDATE_INTERVAL, and in total UPDATE_SLACK + half the reply + UPDATE_BYTES_PER_SECOND per
    second of streaming. Short or slow replies update smoothly; a long fast one refreshes a few
    times and then shows its final form, instead of flooding IOPub with copies of itself.
    Rendering costs kernel time too (Markdown, highlighting and sanitizing the whole reply), so
    the pause after an update grows to keep that under RENDER_SHARE of the stream's time.
    """

    def __init__(self, fmt: str, *, reasoning: bool = False) -> None:
        self._mime = "text/plain" if fmt == "text" else "text/html"
        self._reasoning = reasoning
        self._handle: Any = display({}, raw=True, display_id=True)
        self._body = ""  # what the live output shows now
        self._sent = 0
        self._started: float | None = None
        self._last = 0.0
        self._pause = UPDATE_INTERVAL

    def update(self, reply: Reply, *, urgent: bool = False) -> None:
        """Show the reply so far, within the limits; `urgent` (a tool's step, which may be the
        last event for a while) skips the interval, not the byte allowance."""
        now = time.monotonic()
        if self._started is None:  # a reply done within one interval shows only its final form
            self._started = self._last = now
        if now - self._last < self._pause and not urgent:
            return
        size = len(reply.text)
        allowance = UPDATE_SLACK + size // 2 + UPDATE_BYTES_PER_SECOND * (now - self._started)
        if self._sent + size > allowance:
            return
        render = reply_text if self._mime == "text/plain" else reply_html
        body = render(reply, reasoning=self._reasoning)
        self._pause = max(UPDATE_INTERVAL, (time.monotonic() - now) / RENDER_SHARE)
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


def show_final(
    reply: Reply,
    fmt: str,
    provenance: dict[str, Any] | None = None,
    *,
    reasoning: bool = False,
    status: bool = True,
) -> None:
    """The reply's final output: rendered (sanitized HTML) and plain text, or plain text only;
    the reasoning only when asked (`--reasoning`); `status=False` leaves out the error/stopped
    line when the cell's one-line exception says it instead. `provenance`
    (`Turn.provenance()`) goes in the output's metadata under "nbchat", so a saved notebook
    says where the answer came from (nbval does not compare output metadata).

    Never `text/markdown`: front ends would render it with their own parsers (see safe_html).
    """
    data = {"text/plain": reply_text(reply, reasoning=reasoning, status=status)}
    if fmt != "text":
        data["text/html"] = reply_html(reply, reasoning=reasoning, status=status)
    metadata = {"nbchat": provenance} if provenance is not None else None
    display(data, raw=True, metadata=metadata)


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
        """Show a Reply as sanitized HTML, unless this cell shows it already (`r = %chat ...`)."""
        if self._count == self._shell.execution_count and any(r is reply for r in self._replies):
            return
        formatter = self._shell.display_formatter
        assert formatter is not None  # a shell that loaded the extension has one
        formatters = formatter.formatters
        display({m: formatters[m](reply) for m in ("text/html", "text/plain")}, raw=True)
