"""Hostile model replies: the cases of issue 9 and a generator of many more like them.

Every remote URL points at `attacker.example`, so a request that leaves the machine is easy to
recognise; every handler calls `alert`, so one that runs opens a dialog.
"""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser

REMOTE = "https://attacker.example"

#: What each kind looks like in its smallest form (the issue's items 1-4). Attribute values
#: are unquoted and quote-free, so every Markdown parser takes the tags for HTML.
CASES: dict[str, str] = {
    # 1. A closing fence with trailing fence characters: marked ends the block, markdown-it not.
    "fence-trailing-backtick": "```\n```~\n<img src=x onerror=alert(11)>\n```",
    "fence-trailing-tilde": "~~~\n~~~`\n<img src=x onerror=alert(12)>\n~~~",
    "fence-longer-trailing": "```\n````~\n<img src=x onerror=alert(13)>\n```",
    "code-span-unbalanced": "`` a ` <img src=x onerror=alert(14)> ``",
    # 2. Math over the start of a multi-line code span: math extraction opens the code span up.
    "math-over-code-span": "$x `$ a\n<img src=x onerror=alert(21)>\nb`",
    "display-math-over-code-span": "$$ `a\n$$ <img src=x onerror=alert(22)>\nb`",
    "math-href": "$\\href{javascript:alert(23)}{click}$ and $$\\href{" + REMOTE + "}{x}$$",
    # 3. Nesting past markdown-it's limit, then an image and a javascript: link.
    "deep-blockquote": ">" * 22 + f" ![deep]({REMOTE}/deep.png) [deep link](javascript:alert(31))",
    "deep-list": "\n".join("  " * i + f"- level {i}" for i in range(11))
    + "\n"
    + "  " * 11
    + f"![list]({REMOTE}/list.png) [list link](javascript:alert(32))",
    # 4. A mermaid diagram whose label holds an image.
    "mermaid-img": "```mermaid\ngraph TD\n"
    f'  A["<img src={REMOTE}/mermaid.png onerror=alert(41)>"] --> B\n```',
}

#: Pieces the generator combines: openers and closers of every Markdown construct, raw HTML.
_ACTIVE = [
    "<img src=x onerror=alert({n})>",
    "<script>alert({n})</script>",
    f"<img src='{REMOTE}/{{n}}.png'>",
    "<svg onload=alert({n})>",
    "<a href='javascript:alert({n})'>a</a>",
    "<iframe src='javascript:alert({n})'></iframe>",
    "<div style=\"background:url('" + REMOTE + "/{n}.css')\">s</div>",
    "<details open ontoggle=alert({n})>",
]
_LINKS = [
    "[l{n}](javascript:alert({n}))",
    "[l{n}](  JaVaScRiPt:alert({n}) )",
    "[l{n}](java&#115;cript:alert({n}))",
    "[l{n}](data:text/html,<script>alert({n})</script>)",
    f"![i{{n}}]({REMOTE}/{{n}}.png)",
    f"[![i{{n}}]({REMOTE}/{{n}}.png)](javascript:alert({{n}}))",
    "<javascript:alert({n})>",
    f"<{REMOTE}/auto{{n}}>",
    f"{REMOTE}/bare{{n}}",
    "[r{n}][ref{n}]\n\n[ref{n}]: javascript:alert({n})",
    f"[r{{n}}][img{{n}}]\n\n[img{{n}}]: {REMOTE}/ref{{n}}.png",
    "[rel{n}](../../api/contents)",
]
_OPENERS = [
    "```",
    "````",
    "~~~",
    "```~",
    "~~~`",
    "``` `",
    "```mermaid",
    "```html",
    "`",
    "``",
    "$",
    "$$",
    "\\(",
    "\\[",
    "> ",
    ">" * 12,
    "- ",
    "1. ",
    "    ",
    "<div>",
    "<pre>",
    "<!--",
    "| a | b |\n|---|---|\n| ",
    "&lt;",
    "&#96;&#96;&#96;",
    "*",
    "**",
    "<",
]


def generate(count: int, seed: int = 9) -> list[str]:
    """`count` replies mixing openers, active HTML, links and nesting (the same for a seed)."""
    rng = random.Random(seed)
    replies = []
    for n in range(count):
        parts = []
        for _ in range(rng.randint(2, 6)):
            kind = rng.random()
            if kind < 0.35:
                parts.append(rng.choice(_OPENERS))
            elif kind < 0.65:
                parts.append(rng.choice(_ACTIVE).format(n=n))
            elif kind < 0.9:
                parts.append(rng.choice(_LINKS).format(n=n))
            else:
                depth = rng.randint(8, 25)
                marker = rng.choice([">", "- ", "1. "])
                parts.append(_nested(marker, depth) + rng.choice(_ACTIVE).format(n=n))
        separators = ["\n", " ", "\n\n", "`", "$"]
        text = parts[0]
        for part in parts[1:]:
            text += rng.choice(separators) + part
        replies.append(text)
    return replies


def _nested(marker: str, depth: int) -> str:
    if marker == ">":
        return ">" * depth + " "
    return (
        "\n".join(" " * (3 * i) + marker + f"d{i}" for i in range(depth)) + "\n" + " " * (3 * depth)
    )


# -- checking HTML ----------------------------------------------------------------------------

#: What a rendered reply may contain: text formatting, links, code, tables. No media, no SVG.
SAFE_TAGS = {
    *("div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr", "br", "ul", "ol"),
    *("li", "a", "code", "pre", "span", "strong", "em", "s", "table", "thead", "tbody", "tr"),
    *("th", "td"),
}
_SAFE_ATTRIBUTES = {"href", "title", "target", "rel", "class", "style", "start"}
_URL_OK = ("http:", "https:", "mailto:")


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in SAFE_TAGS:
            self.problems.append(f"<{tag}>")
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if name not in _SAFE_ATTRIBUTES:
                self.problems.append(f"<{tag} {name}=...>")
            elif name == "style" and re.search(r"url\(|@import|expression|image", value, re.I):
                self.problems.append(f"<{tag} style={value!r}>")
        if tag == "a" and "href" in values:
            href = "".join(ch for ch in values["href"] if ch.isprintable() and not ch.isspace())
            if not href.lower().startswith(_URL_OK):
                self.problems.append(f"<a href={values['href']!r}>")
            if values.get("target") != "_blank" or "noopener" not in values.get("rel", ""):
                self.problems.append(f"<a href={values['href']!r}> opens in place")

    handle_startendtag = handle_starttag


def html_problems(html: str) -> list[str]:
    """Everything in `html` that could run, load something or navigate the notebook."""
    audit = _Audit()
    audit.feed(html)
    audit.close()
    return audit.problems
