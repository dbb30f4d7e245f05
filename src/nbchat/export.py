"""A conversation as a file: Markdown, a standalone HTML page, or JSON (`ChatWidget.export`).

Markdown is the conversation as written (the model's Markdown untouched, like the JSON: data,
for people and tools that render it with their own care). HTML is the sanitized rendering the
cell outputs show (`markdown.turns_html`: one parser, an allowlist sanitizer, no script, no
remote image), in a page whose Content-Security-Policy also forbids scripts and every fetch, so
a model's reply stays inert wherever the page is opened. JSON is the panel's own transcript (the
`messages` trait) with the backend description.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigurationError
from .markdown import turns_html, turns_written

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
    if format == "markdown":
        return f"# {title}\n\n{turns_written(turns)}\n"
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style></head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{turns_html(turns)}\n</body></html>\n"
    )
