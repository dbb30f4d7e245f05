"""Model Markdown → inert HTML, rendered once in the kernel.

A cell output may be drawn by JupyterLab (marked, MathJax, mermaid), Notebook 7, VS Code,
nbconvert or GitHub. Handing them Markdown would make safety depend on every one of their
parsers agreeing with ours, so the kernel renders the Markdown itself and they get finished HTML:

- one parser: markdown-it-py with raw HTML off (a tag in model text shows as text), images
  turned into links (nothing loads), bare URLs linked (as GFM does);
- code highlighted by Pygments with inline colours on a fixed light box, so no stylesheet is
  needed and the colours read the same in light and dark themes;
- one maintained allowlist sanitizer, nh3 (ammonia), over the whole result: only the tags and
  attributes this module produces survive, hrefs only absolute http(s)/mailto (others are
  dropped, leaving the label), CSS limited to colours and spacing (no `url()` can load), and
  every link opens a new tab without an opener, as in the chat widget;
- the result sits in a `<div>` that MathJax is told to skip (`tex2jax_ignore` for MathJax 2, as
  in nbconvert and Notebook 6; `mathjax_ignore` for MathJax 3, as in JupyterLab 4): `$...$` in
  model text stays text, so TeX commands such as `\\href` never run. Mermaid only draws
  Markdown fences and `text/vnd.mermaid` outputs, so a diagram in a reply stays code.
"""

from __future__ import annotations

import contextvars
import functools
import html

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

__all__ = ["CLASS", "SAFE_SCHEMES", "markdown_html", "parse", "wrap"]

#: Classes on the wrapper of every rendered document: ours, and MathJax's "leave this alone".
CLASS = "nbchat-output tex2jax_ignore mathjax_ignore"
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
#: Pygments' default style, drawn on this background whatever the notebook's theme (the inner
#: `<code>` must not take the theme's own code colours either).
CODE_BOX = "background-color: #f7f7f7; color: #1f2328; padding: 0.5em 0.75em"
CODE_INNER = "background-color: transparent; color: inherit; padding: 0"

_TAGS = {
    *("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr", "br", "ul", "ol", "li"),
    *("a", "code", "pre", "span", "strong", "em", "s", "table", "thead", "tbody", "tr"),
    *("th", "td"),
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "code": {"style"},
    "ol": {"start"},
    "pre": {"style"},
    "span": {"style"},
    "th": {"style"},
    "td": {"style"},
}
_STYLE_PROPERTIES = {
    *("color", "background-color", "font-weight", "font-style", "text-decoration"),
    *("text-align", "padding"),
}


def markdown_html(markdown: str) -> str:
    """`markdown` (CommonMark + tables, strikethrough, bare URLs) as sanitized HTML.

    Deterministic for a given markdown-it-py, Pygments and nh3, so saved outputs compare
    equal from run to run (nbval).
    """
    token = _highlight_budget.set([HIGHLIGHT_TOTAL])
    try:
        return _sanitize(_parser().render(markdown))
    finally:
        _highlight_budget.reset(token)


def parse(markdown: str) -> list[Token]:
    """The tokens `markdown_html` renders (for finding code blocks)."""
    return _parser().parse(markdown)


def wrap(fragments: list[str]) -> str:
    """Sanitized fragments as one output, inside the wrapper MathJax skips."""
    return f'<div class="{CLASS}">\n{"".join(fragments)}</div>'


def _sanitize(fragment: str) -> str:
    return _cleaner().clean(fragment)


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=set(SAFE_SCHEMES),
        url_relative="deny",  # a reply has nothing on this server to link to
        filter_style_properties=_STYLE_PROPERTIES,
        link_rel="noopener noreferrer nofollow",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


# -- the parser -------------------------------------------------------------------------------


@functools.cache
def _parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark",
        {"html": False, "linkify": True, "highlight": _highlight},
    ).enable(["table", "strikethrough", "linkify"])
    # Every link is parsed as one, whatever its URL, so a bad link shows as its label; nh3
    # then removes each href that is not absolute http(s)/mailto.
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.block.ruler.before("table", "too_deep", _too_deep)
    md.add_render_rule("image", _image_as_link)
    md.add_render_rule("code_block", _indented_code)
    return md


def _too_deep(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """Past the nesting limit markdown-it drops the rest of a container; show it as code."""
    if state.level < state.md.options["maxNesting"] - 2:  # a list item opens two levels
        return False
    if not silent:
        token = state.push("code_block", "code", 0)
        token.content = state.getLines(start, end, state.blkIndent, True)
        token.map = [start, end]
        state.line = end
    return True


def _image_as_link(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """An image is shown as a link to it: a remote image would tell its host who reads."""
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = html.escape(str(token.attrGet("src") or ""))
    return f'<a href="{src}">[image: {html.escape(alt) or "image"}]</a>'


def _indented_code(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return _highlight(tokens[idx].content, "", "")


#: Languages highlighted in the kernel. Pygments' lexers are regular expressions, and some take
#: exponential or quadratic time on crafted text (a reply naming ```fish with 60 backslashes
#: hung the kernel): only lexers measured to stay linear on hostile input are used
#: (bench/bench_highlight.py), and only on blocks up to HIGHLIGHT_CHARS and HIGHLIGHT_TOTAL
#: characters in all per document (each stays near-quadratic on its worst input: a 2,000
#: character block takes at most ~0.2 s); the rest is plain.
HIGHLIGHT_LANGUAGES = frozenset(
    [
        "python",
        "py",
        "python3",
        "pycon",
        "json",
        "bash",
        "sh",
        "shell",
        "zsh",
        "console",
        "sql",
        "javascript",
        "js",
        "typescript",
        "ts",
        "yaml",
        "yml",
        "toml",
        "ini",
        "diff",
        "html",
        "xml",
        "css",
        "go",
        "rust",
        "r",
    ]
)
HIGHLIGHT_CHARS = 2_000
HIGHLIGHT_TOTAL = 20_000
#: Characters the document being rendered may still have highlighted (set by markdown_html).
_highlight_budget: contextvars.ContextVar[list[int]] = contextvars.ContextVar(
    "nbchat_highlight_budget"
)


def _highlight(code: str, language: str, attributes: str) -> str:
    """A code block as `<pre>` with Pygments' inline colours (plain for other languages and
    for long blocks: see HIGHLIGHT_LANGUAGES)."""
    name = language.lower()
    try:
        budget = _highlight_budget.get([HIGHLIGHT_TOTAL])
        use = name in HIGHLIGHT_LANGUAGES and len(code) <= min(HIGHLIGHT_CHARS, budget[0])
        lexer = _lexer(name) if use else None
        if use:
            budget[0] -= len(code)
    except ClassNotFound:
        lexer = None
    body = html.escape(code, quote=False) if lexer is None else highlight(code, lexer, _formatter())
    return f'<pre style="{CODE_BOX}"><code style="{CODE_INNER}">{body}</code></pre>\n'


@functools.cache
def _lexer(name: str) -> Lexer:
    return get_lexer_by_name(name, stripnl=False, ensurenl=False)


@functools.cache
def _formatter() -> HtmlFormatter[str]:
    return HtmlFormatter(nowrap=True, noclasses=True, style="default")
