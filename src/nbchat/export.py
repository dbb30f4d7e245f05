"""A conversation as a file: Markdown, a standalone HTML page, or JSON (`ChatWidget.export`).

Markdown is the sanitized transcript the cell output shows (`markdown.turns_markdown`: no raw
HTML, no script links, images as plain links). HTML renders that Markdown with markdown-it's raw
HTML switched off and carries a Content-Security-Policy that forbids scripts and every fetch,
so a model's reply stays inert wherever the page is opened. JSON is the panel's own transcript
(the `messages` trait) with the backend description.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any, Literal

from markdown_it import MarkdownIt

from .errors import ConfigurationError
from .markdown import turns_markdown

if TYPE_CHECKING:
    from .stream import Turn

ExportFormat = Literal["markdown", "html", "json"]

#: File name extension and MIME type per format.
FORMATS: dict[str, tuple[str, str]] = {
    "markdown": ("md", "text/markdown"),
    "html": ("html", "text/html"),
    "json": ("json", "application/json"),
}

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"
_STYLE = """body{font:15px/1.5 system-ui,sans-serif;max-width:50em;margin:2em auto;padding:0 1em}
pre{background:#f3f3f3;padding:8px;overflow-x:auto}code{font-family:monospace}
table{border-collapse:collapse;display:block;overflow-x:auto}
th,td{border:1px solid #ccc;padding:2px 6px}
blockquote{border-left:3px solid #ccc;margin:0;padding:0 10px;color:#555}"""


def export_transcript(
    turns: list[Turn], messages: list[dict[str, Any]], backend: str, format: str
) -> str:
    """The conversation in `format` ("markdown" | "html" | "json"); ConfigurationError else."""
    if format not in FORMATS:
        choices = ", ".join(FORMATS)
        raise ConfigurationError(f"export format must be one of {choices}, not {format!r}")
    title = f"Chat ({backend})" if backend else "Chat"
    if format == "json":
        return json.dumps({"backend": backend, "messages": messages}, indent=2, ensure_ascii=False)
    markdown = f"# {title}\n\n{turns_markdown(turns)}\n"
    if format == "markdown":
        return markdown
    renderer = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style></head>\n"
        f"<body>\n{renderer.render(markdown)}</body></html>\n"
    )
