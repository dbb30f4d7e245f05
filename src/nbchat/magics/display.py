"""Showing a reply in a cell: live while it streams, then once in its final form."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.display import display

from ..events import Reply
from ..markdown import reply_html, reply_tail, reply_text
from ..safe_html import markdown_html, wrap

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["LiveView", "OnScreen", "live_bundle", "show_final"]

#: Streaming display limits (see LiveView): seconds between updates, at least ...
UPDATE_INTERVAL = 0.25
#: ... characters of the reply's end an update shows ...
LIVE_WINDOW = 2048
#: ... and IOPub bytes the live output may cost in all: per byte of the reply so far, plus a
#: fixed slack. ENVELOPE is what Jupyter adds to each message (headers, signature), counted too.
LIVE_RATIO = 1.0
LIVE_SLACK = 4096
ENVELOPE = 700
#: At most this share of the streaming time goes to rendering live updates (see LiveView).
RENDER_SHARE = 0.2


def live_bundle(blocks: list[str], fmt: str) -> dict[str, str]:
    """The live output's data for `blocks` (`markdown.reply_tail`: model text, not yet safe):
    the one place that decides how a streaming reply is shown. Like the final output, HTML is
    rendered and sanitized here in the kernel, never handed to a front end's Markdown parser."""
    if fmt == "text":
        return {"text/plain": "\n\n".join(blocks)}
    return {"text/html": wrap([markdown_html(block) for block in blocks])}


class LiveView:
    """The reply in the cell as it streams, then once in its final, deterministic form.

    The live output starts and ends empty (an empty bundle, which front ends draw as nothing)
    and the final form is a second, new output (`show_final`). Tools that ignore display
    updates (nbval) and front ends that apply them (JupyterLab, nbclient) see the same outputs.

    The display protocol cannot append, so each update re-sends what it shows: the reply so far
    while it is short, then "…" and its last LIVE_WINDOW characters (whole blocks). Updates come
    at most once per UPDATE_INTERVAL and while the live output has cost less than LIVE_RATIO x
    the reply so far + LIVE_SLACK, so a reply costs IOPub O(its size) at any pace: a slow reply
    updates about once a second, a fast one a few times a second. Rendering costs kernel time
    too (Markdown, highlighting, sanitizing), so the pause after an update grows to keep it under
    RENDER_SHARE of the stream's time.
    """

    def __init__(
        self,
        fmt: str,
        *,
        reasoning: bool = False,
        render: Callable[[list[str], str], dict[str, str]] = live_bundle,
    ) -> None:
        self._fmt = fmt
        self._reasoning = reasoning
        self._render = render
        self._handle: Any = display({}, raw=True, display_id=True)
        self._data: dict[str, str] = {}  # what the live output shows now
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
        allowance = LIVE_RATIO * len(reply.text) + LIVE_SLACK
        if self._sent + ENVELOPE + min(len(reply.text), LIVE_WINDOW) > allowance:
            return
        blocks = reply_tail(
            reply, LIVE_WINDOW, markdown=self._fmt != "text", reasoning=self._reasoning
        )
        data = self._render(blocks, self._fmt)
        self._pause = max(UPDATE_INTERVAL, (time.monotonic() - now) / RENDER_SHARE)
        if data == self._data:
            return
        self._handle.update(data, raw=True)
        self._data = data
        self._sent += ENVELOPE + sum(len(value.encode()) for value in data.values())
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
