"""A reply as a document: inert HTML for front ends, plain text, and its first code block.

Model text, tool calls and the status line are separate blocks, each rendered on its own
(`safe_html.markdown_html`), so an unclosed fence in the model's text cannot swallow the
status line after it.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from .events import TextDelta, ToolCall, ToolResult
from .safe_html import markdown_html, parse, wrap

if TYPE_CHECKING:
    from .events import Reply
    from .turn import Turn

__all__ = [
    "first_code_block",
    "reply_html",
    "reply_tail",
    "reply_text",
    "turns_html",
    "turns_text",
]

#: Tool arguments and results longer than this are cut short in the rendered reply.
TOOL_VALUE_CHARS = 300


def first_code_block(markdown: str) -> str | None:
    """The content of the first fenced or indented code block, for `%%chat --format code`."""
    for token in parse(markdown):
        if token.type in ("fence", "code_block"):
            return token.content
    return None


def reply_html(reply: Reply, *, reasoning: bool = False, status: bool = True) -> str:
    """The whole reply as sanitized HTML: its reasoning when asked (a quote block first), text,
    tool calls and results inline, its sources, then the status (with a note when the reply
    was cut off by the token limit; left out with `status=False`, when an exception right
    below says it)."""
    blocks = _blocks(reply, markdown=True, reasoning=reasoning, status=status)
    return wrap([markdown_html(block) for block in blocks])


def reply_text(reply: Reply, *, reasoning: bool = False, status: bool = True) -> str:
    """The same document as plain text (`text/plain` shows it escaped, so nothing to sanitize)."""
    return "\n\n".join(_blocks(reply, markdown=False, reasoning=reasoning, status=status))


def reply_tail(
    reply: Reply, limit: int, *, markdown: bool = True, reasoning: bool = False
) -> list[str]:
    """The end of the reply's blocks, for a live view: all of them while they take at most
    `limit` characters, else "…" and the last blocks that fit. A last block longer than `limit`
    keeps its end from where one of its top-level blocks starts (as markdown-it reads it), or its
    last lines, with the fence of a code block cut open written again.

    The blocks are still model text: render each with `safe_html.markdown_html`, or show it as
    plain text.
    """
    blocks = _blocks(reply, markdown=markdown, reasoning=reasoning)
    kept: list[str] = []
    size = 0
    for block in reversed(blocks):
        if size + len(block) > limit:
            if not kept:
                kept.append(_block_tail(block, limit, markdown))
            return ["…", *reversed(kept)]
        kept.append(block)
        size += len(block) + 2
    return blocks


def _block_tail(block: str, limit: int, markdown: bool) -> str:
    lines = block.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    first = next(i for i, at in enumerate(starts) if len(block) - at <= limit)
    if first == len(lines):  # its last line alone is longer: the end of that line
        return block[-limit:]
    if not markdown:
        return "\n".join(lines[first:])
    for token in parse(block):
        if token.level != 0 or token.map is None:
            continue
        begin, end = token.map
        if begin >= first:
            return "\n".join(lines[begin:])
        if token.type == "fence" and end > first:  # cut inside a code block: open it again
            return "\n".join([f"{token.markup}{token.info}", *lines[max(first, begin + 1) :]])
    return "\n".join(lines[first:])


def turns_html(turns: list[Turn]) -> str:
    """A conversation as one HTML output, every piece rendered and sanitized on its own."""
    if not turns:
        return wrap([markdown_html("*No messages yet.*")])
    fragments: list[str] = []
    for number, turn in enumerate(turns):
        if number:
            fragments.append(markdown_html("---"))
        fragments.append(markdown_html(f"**You:** {turn.user}"))
        fragments.extend(markdown_html(block) for block in _blocks(turn.reply, markdown=True))
    return wrap(fragments)


def turns_written(turns: list[Turn]) -> str:
    """A conversation as Markdown, the model's text as it wrote it (for export files only:
    never handed to a renderer in a notebook, see `turns_html`)."""
    parts = ["\n\n".join([f"**You:** {t.user}", *_blocks(t.reply, markdown=True)]) for t in turns]
    return "\n\n---\n\n".join(parts) or "*No messages yet.*"


def turns_text(turns: list[Turn]) -> str:
    if not turns:
        return "No messages yet."
    parts = [f"You: {turn.user}\n\n{reply_text(turn.reply)}" for turn in turns]
    return "\n\n---\n\n".join(parts)


# -- the blocks of a reply ----------------------------------------------------------------------


def _blocks(
    reply: Reply, *, markdown: bool, reasoning: bool = False, status: bool = True
) -> list[str]:
    blocks: list[str] = []
    text: list[str] = []
    if reasoning and reply.reasoning.strip():
        blocks.append(_reasoning_block(reply.reasoning, markdown))

    def flush() -> None:
        if "".join(text).strip():
            blocks.append("".join(text).strip("\n"))
        text.clear()

    for event in reply.events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ToolCall | ToolResult):
            flush()
            blocks.append(_tool_line(event, markdown, reply))
    flush()
    if reply.sources:
        blocks.append(_sources_block(reply, markdown))
    line = _status_line(reply, markdown) if status else ""
    if line:
        blocks.append(line)
    return blocks


def _reasoning_block(reasoning: str, markdown: bool) -> str:
    lines = reasoning.strip("\n").split("\n")
    if not markdown:
        return "\n".join(["[thinking]", *lines, "[/thinking]"])
    return "\n".join(["> *Thinking:*", ">", *(f"> {line}" for line in lines)])


def _sources_block(reply: Reply, markdown: bool) -> str:
    lines = ["Sources:" if not markdown else "**Sources:**", ""]
    for number, source in enumerate(reply.sources, 1):
        title, url = source.title or source.url or "source", source.url or ""
        if not markdown:
            lines.append(f"{number}. {title}" + (f" <{url}>" if url and url != title else ""))
        elif url.startswith(("http://", "https://")):
            lines.append(f"{number}. [{_link_text(title)}]({_link_url(url)})")
        else:
            lines.append(f"{number}. {_code_span(title)}")
    return "\n".join(lines)


def _link_text(text: str) -> str:
    """Text that cannot end the link early or open another construct."""
    return re.sub(r"([\\`*_\[\]])", r"\\\1", " ".join(text.split()))


def _link_url(url: str) -> str:
    """A link destination with the characters that would end it percent-encoded."""
    return "".join(f"%{ord(c):02X}" if c in " ()<>\\" or ord(c) < 32 else c for c in url)


#: How a kernel-side tool call still without a result is shown, by its state.
CALL_STATES = {
    "pending": "waiting for approval",
    "running": "running",
    "cancelled": "cancelled: the reply was stopped",
}
#: A result's label by its status ("done" and a backend's results: "tool result").
RESULT_LABELS = {"error": "tool error", "denied": "tool call denied"}


def _tool_line(event: ToolCall | ToolResult, markdown: bool, reply: Reply) -> str:
    state = ""
    if isinstance(event, ToolCall):
        label, value = "tool call", event.args
        record = next((c for c in reply.tool_calls if c.id == event.id and event.id), None)
        if record is not None and not record.done and record.status in CALL_STATES:
            state = CALL_STATES[record.status]
    else:
        label, value = RESULT_LABELS.get(event.status, "tool result"), event.result
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(shown) > TOOL_VALUE_CHARS:  # the whole value stays in Reply.tool_calls
        shown = shown[:TOOL_VALUE_CHARS] + "…"
    if not markdown:
        return f"[{label}] {event.name}: {shown}" + (f" ({state})" if state else "")
    line = f"> {label} {_code_span(event.name)}: {_code_span(shown)}"
    return line + (f" *({state})*" if state else "")


def _status_line(reply: Reply, markdown: bool) -> str:
    if reply.status == "stopped":
        note = "stopped: partial reply"
    elif reply.error is not None:
        note = f"error ({reply.error.code}): {reply.error.message}"
    elif reply.status == "complete" and reply.finish_reason == "length":
        note = "cut off: the reply reached the token limit"
    elif reply.status in ("streaming", "complete"):
        return ""
    else:
        note = reply.status
    return f"*[{note}]*" if markdown else f"[{note}]"


def _code_span(text: str) -> str:
    """`text` as one inline code span, whatever backticks or newlines it holds."""
    flat = " ".join(text.split("\n"))
    runs = [len(run) for run in re.findall("`+", flat)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat.strip() else ""
    return f"{fence}{pad}{flat}{pad}{fence}"
