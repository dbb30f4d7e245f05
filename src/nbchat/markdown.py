"""Safe Markdown for cell outputs.

JupyterLab trusts the outputs of cells it ran, so its Markdown renderer passes raw HTML
through. Model text is untrusted, so before it becomes a `text/markdown` output we rewrite it:
`<` and `>` outside code become entities, links to anything but http(s)/mailto/relative targets
lose their target, and images become plain links (nothing remote loads). markdown-it-py decides
what is code and what is a link; this module only edits the source at the places it reports,
then parses again until nothing changes, so the result is safe under its own parse.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markdown_it import MarkdownIt
from markdown_it.helpers import parseLinkLabel
from markdown_it.rules_inline import backtick, image, link
from markdown_it.rules_inline.state_inline import StateInline

from .events import TextDelta, ToolCall, ToolResult

if TYPE_CHECKING:
    from .events import Reply
    from .turn import Turn

__all__ = [
    "first_code_block",
    "reply_markdown",
    "reply_text",
    "sanitize",
    "turns_markdown",
    "turns_text",
]

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
#: Tool arguments and results longer than this are cut short in the rendered reply.
TOOL_VALUE_CHARS = 300
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*):")
_MAX_PASSES = 8
_ENTITIES = {"<": "&lt;", ">": "&gt;"}
_ANGLES = re.compile("[<>]")


@dataclass(frozen=True)
class _Span:
    """A place in an inline source that is not plain text: a code span, link or image."""

    kind: str  # "code" | "link" | "image"
    src: str
    start: int
    end: int
    label: tuple[int, int] = (0, 0)
    href: str = ""


_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def sanitize(markdown: str) -> str:
    """Markdown that renders the same text but can carry no HTML, script or remote image."""
    text = markdown.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    for _ in range(_MAX_PASSES):
        cleaned = _sanitize_once(text)
        if cleaned == text:
            return cleaned
        text = cleaned
    return _ANGLES.sub(lambda m: _ENTITIES[m[0]], text)  # never settled: escape even code


def first_code_block(markdown: str) -> str | None:
    """The content of the first fenced or indented code block, for `%%chat --format code`."""
    for token in _parser().parse(markdown, {}):
        if token.type in ("fence", "code_block"):
            return token.content
    return None


def reply_markdown(reply: Reply) -> str:
    """The whole reply as safe Markdown: text, tool calls and results inline, then the status."""
    return sanitize(_document(reply, markdown=True))


def reply_tail(reply: Reply, limit: int, *, markdown: bool = True) -> str:
    """The end of the reply's document, UNSANITIZED (for a live view to make safe): all of it
    up to `limit` characters, else "…" and its last blocks (from a blank line, or else a line
    break, within the last `limit` characters; a code block cut open gets its fence again)."""
    source = _document(reply, markdown=markdown)
    if len(source) <= limit:
        return source
    start = len(source) - limit
    cut = source.find("\n\n", start)
    cut = cut + 2 if cut >= 0 else source.find("\n", start) + 1 or start
    opener = _open_fence(source, cut) if markdown else None
    return "…\n\n" + (f"{opener}\n" if opener else "") + source[cut:]


def _open_fence(source: str, end: int) -> str | None:
    """The line opening the code fence still open at `source[end]`, if one is."""
    opener: str | None = None
    for line in source[:end].split("\n"):
        match = _FENCE_LINE.match(line)
        if match is None:
            continue
        if opener is None:
            opener = line
        elif (
            match[1][0] == opener.lstrip()[0]
            and len(match[1])
            >= len(
                _FENCE_LINE.match(opener)[1]  # type: ignore[index]
            )
            and not line[match.end() :].strip()
        ):
            opener = None
    return opener


def reply_text(reply: Reply) -> str:
    """The same document as plain text (`text/plain` shows it escaped, so nothing to sanitize)."""
    return _document(reply, markdown=False)


def turns_markdown(turns: list[Turn]) -> str:
    """A conversation as one safe Markdown document (sanitized whole, never piece by piece)."""
    if not turns:
        return "*No messages yet.*"
    parts = [f"**You:** {turn.user}\n\n{_document(turn.reply, markdown=True)}" for turn in turns]
    return sanitize("\n\n---\n\n".join(parts))


def turns_text(turns: list[Turn]) -> str:
    if not turns:
        return "No messages yet."
    parts = [f"You: {turn.user}\n\n{_document(turn.reply, markdown=False)}" for turn in turns]
    return "\n\n---\n\n".join(parts)


# -- rendering a reply ------------------------------------------------------------------------


def _document(reply: Reply, *, markdown: bool) -> str:
    blocks: list[str] = []
    text: list[str] = []

    def flush() -> None:
        if "".join(text).strip():
            blocks.append("".join(text).strip("\n"))
        text.clear()

    for event in reply.events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ToolCall | ToolResult):
            flush()
            blocks.append(_tool_line(event, markdown))
    flush()
    status = _status_line(reply, markdown)
    if status:
        blocks.append(status)
    return "\n\n".join(blocks)


def _tool_line(event: ToolCall | ToolResult, markdown: bool) -> str:
    if isinstance(event, ToolCall):
        label, value = "tool call", event.args
    else:
        label, value = "tool result", event.result
    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(shown) > TOOL_VALUE_CHARS:  # the whole value stays in Reply.tool_calls
        shown = shown[:TOOL_VALUE_CHARS] + "…"
    if not markdown:
        return f"[{label}] {event.name}: {shown}"
    return f"> {label} {_code_span(event.name)}: {_code_span(shown)}"


def _status_line(reply: Reply, markdown: bool) -> str:
    if reply.status == "stopped":
        note = "stopped: partial reply"
    elif reply.error is not None:
        note = f"error ({reply.error.code}): {reply.error.message}"
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


# -- one sanitizing pass ----------------------------------------------------------------------


def _sanitize_once(text: str) -> str:
    env: dict[str, Any] = {}
    tokens = _parser().parse(text, env)
    spans: dict[str, list[_Span]] = {}
    for span in env.get("spans", ()):
        spans.setdefault(span.src, []).append(span)

    lines = text.split("\n")
    code_lines: set[int] = set()
    pieces: dict[int, list[tuple[int, int, str]]] = {}  # line -> (start, end, replacement)
    cursor = [0] * len(lines)
    for token in tokens:
        if token.map is None:
            continue
        if token.type in ("fence", "code_block"):
            code_lines.update(range(*token.map))
        elif token.type == "inline":
            clean = _clean_inline(token.content, spans.get(token.content, []))
            _place(token.content, clean, token.map[0], lines, cursor, pieces)

    out = []
    for number, line in enumerate(lines):
        if number in code_lines:
            out.append(line)
        else:
            out.append(_rebuild(line, pieces.get(number, [])))
    return "\n".join(out)


def _place(
    content: str,
    clean: str,
    first: int,
    lines: list[str],
    cursor: list[int],
    pieces: dict[int, list[tuple[int, int, str]]],
) -> None:
    """Record where each line of an inline's content sits in the source, with its cleaned form.

    A line that cannot be found is left to `_rebuild`'s blanket escaping, which is safe.
    """
    originals, cleaned = content.split("\n"), clean.split("\n")
    if len(originals) != len(cleaned):
        return
    for offset, (original, replacement) in enumerate(zip(originals, cleaned, strict=True)):
        number = first + offset
        if number >= len(lines) or not original:
            continue
        at = lines[number].find(original, cursor[number])
        if at < 0:
            continue
        cursor[number] = at + len(original)
        pieces.setdefault(number, []).append((at, at + len(original), replacement))


def _rebuild(line: str, pieces: list[tuple[int, int, str]]) -> str:
    """The line with its inline pieces cleaned and everything between them escaped.

    Between pieces sit only container markers (`>`, list bullets, table pipes), so only `<`
    is escaped there: a lone `>` cannot open a tag but does mark a blockquote.
    """
    out, pos = [], 0
    for start, end, replacement in pieces:
        out.append(line[pos:start].replace("<", "&lt;"))
        out.append(replacement)
        pos = end
    out.append(line[pos:].replace("<", "&lt;"))
    return "".join(out)


def _clean_inline(src: str, spans: list[_Span]) -> str:
    """The inline source with HTML escaped outside code spans and links/images defused."""
    edits = [s for s in spans if s.kind != "link" or not _safe_href(s.href)]
    return _clean_range(src, 0, len(src), sorted(edits, key=lambda s: (s.start, -s.end)))


def _clean_range(src: str, start: int, end: int, spans: list[_Span]) -> str:
    out, pos = [], start
    for span in spans:
        if span.start < pos or span.end > end:
            continue  # nested in one already handled, or outside this range
        out.append(_escape(src[pos : span.start]))
        out.append(_clean_span(src, span, spans))
        pos = span.end
    out.append(_escape(src[pos:end]))
    return "".join(out)


def _clean_span(src: str, span: _Span, spans: list[_Span]) -> str:
    if span.kind == "code":
        return src[span.start : span.end]
    label = _clean_range(src, *span.label, [s for s in spans if s is not span])
    if span.kind == "image" and _safe_href(span.href) and _SCHEME.match(span.href):
        return f"[{label or 'image'}]({_destination(span.href)})"
    return label


def _escape(text: str) -> str:
    return _ANGLES.sub(lambda m: _ENTITIES[m[0]], text)


def _safe_href(href: str) -> bool:
    cleaned = "".join(ch for ch in href if ch.isprintable() and not ch.isspace())
    scheme = _SCHEME.match(cleaned)
    return scheme is None or scheme[1].lower() in SAFE_SCHEMES


def _destination(href: str) -> str:
    """A link destination that cannot end early: markdown-it already percent-encoded the rest."""
    return href.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


# -- the parser -------------------------------------------------------------------------------


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # see every link; we judge
    for name, rule, kind in (
        ("backticks", backtick, "code"),
        ("link", link, "link"),
        ("image", image, "image"),
    ):
        md.inline.ruler.at(name, _recording(rule, kind))
    return md


def _recording(rule: Callable[[StateInline, bool], bool], kind: str) -> Callable[..., bool]:
    """Wrap an inline rule so that each span it produces is noted with its source range."""
    wanted = {"code": "code_inline", "link": "link_open", "image": "image"}[kind]

    def record(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        if not rule(state, silent):
            return False
        if silent:
            return True
        token = next((t for t in state.tokens[count:] if t.type == wanted), None)
        if token is not None:
            label = _label(state, start, kind)
            href = str(token.attrGet("href") or token.attrGet("src") or "")
            state.env.setdefault("spans", set()).add(
                _Span(kind, state.src, start, state.pos, label, href)
            )
        return True

    return record


def _label(state: StateInline, start: int, kind: str) -> tuple[int, int]:
    if kind == "code":
        return (0, 0)
    opener = start + 1 if kind == "image" else start  # "![" vs "["
    end = parseLinkLabel(state, opener, kind == "link")
    return (opener + 1, max(end, opener + 1))
