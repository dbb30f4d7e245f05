"""Render Markdown the way front ends do, and check the HTML for anything that could run.

`marked` is the renderer JupyterLab uses for `text/markdown` outputs (run with node from js/);
markdown-it is a second, CommonMark-strict opinion.
"""

from __future__ import annotations

import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path

from markdown_it import MarkdownIt

MARKED = Path(__file__).parents[2] / "js" / "node_modules" / "marked" / "lib" / "marked.cjs"
_SCRIPT = """
const { marked } = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const docs = JSON.parse(input);
  process.stdout.write(JSON.stringify(docs.map((doc) => marked.parse(doc, { gfm: true }))));
});
"""

ALLOWED_TAGS = {
    *("p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "code", "pre", "strong", "em", "del", "s"),
    *("ul", "ol", "li", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td"),
}
ALLOWED_ATTRIBUTES = {"href", "class", "align", "start", "title", "style"}


def render_marked(documents: list[str]) -> list[str]:
    done = subprocess.run(
        ["node", "-e", _SCRIPT, str(MARKED)],
        input=json.dumps(documents),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def render_markdown_it(document: str) -> str:
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # as permissive as marked
    return md.render(document)


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES or (name == "style" and tag not in ("td", "th")):
                self.problems.append(f"<{tag} {name}=...>")
            elif name == "href" and not _safe_href(value or ""):
                self.problems.append(f"<{tag} href={value!r}>")

    handle_startendtag = handle_starttag


def _safe_href(href: str) -> bool:
    cleaned = "".join(ch for ch in href if ch.isprintable() and not ch.isspace()).lower()
    if ":" not in cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]:
        return True  # relative
    return cleaned.startswith(("http:", "https:", "mailto:"))


def html_problems(html: str) -> list[str]:
    """Every element or attribute in `html` that could run code or load something."""
    audit = _Audit()
    audit.feed(html)
    audit.close()
    return audit.problems
