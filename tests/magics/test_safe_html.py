"""nbchat.safe_html and nbchat.markdown: model Markdown becomes inert, readable HTML."""

from __future__ import annotations

import pytest
from hostile import CASES, REMOTE, generate, html_problems
from markdown_it import MarkdownIt

from nbchat.events import Done, Error, Reply, TextDelta, ToolCall, ToolResult
from nbchat.markdown import first_code_block, reply_html, reply_text, turns_html
from nbchat.safe_html import HIGHLIGHT_CHARS, HIGHLIGHT_TOTAL, markdown_html
from nbchat.server.demo_model import respond

#: Classic payloads beside the issue's cases: raw HTML, links, images, tables, entities.
HOSTILE = [
    "<script>alert(1)</script>",
    "text <img src=x onerror=alert(1)> inline",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#115;cript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    f"![tracker]({REMOTE}/pixel.png)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    f"[![img]({REMOTE}/i.png)](javascript:alert(1))",
    '<a href="javascript:alert(1)">raw</a>',
    '<svg onload="alert(1)"><circle r="10"/></svg>',
    "<style>body{display:none}</style>",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | `x` |",
    "<script>\nx\n</script>\n    <img src=x onerror=alert(1)>",
    "<div>\n```\n</div>\n\n<img src=x onerror=alert(1)>\n```",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;",
    "[rel](../../api/contents) [frag](#top)",
    respond("/xss").text,
]
DOCUMENTS = [*CASES.values(), *HOSTILE, *generate(300)]


@pytest.mark.parametrize("document", [*CASES.values(), *HOSTILE])
def test_hostile_markdown_renders_inert(document: str) -> None:
    assert html_problems(markdown_html(document)) == []


def test_generated_hostile_replies_render_inert() -> None:
    problems = {doc: html_problems(markdown_html(doc)) for doc in generate(300)}
    assert {doc: found for doc, found in problems.items() if found} == {}


def test_the_audit_finds_what_rendering_without_the_sanitizer_lets_through() -> None:
    # A renderer that passes HTML (as JupyterLab's Markdown renderer does for trusted outputs).
    raw = MarkdownIt("commonmark", {"html": True})
    dangerous = [doc for doc in DOCUMENTS if html_problems(raw.render(doc))]
    assert len(dangerous) >= len(DOCUMENTS) // 2


def test_markdown_still_reads_well() -> None:
    html = markdown_html(
        "# Title\n\n> quoted **bold**\n\n1. one\n2. two `x<y`\n\n"
        "| a | b |\n|---|:-:|\n| 1 | `2` |\n\n~~gone~~ *em* [l](https://x.example/a_(b)) "
        "and https://bare.example/p"
    )
    assert "<h1>Title</h1>" in html
    assert "<blockquote>\n<p>quoted <strong>bold</strong></p>" in html
    assert "<li>two <code>x&lt;y</code></li>" in html
    assert '<th style="text-align:center">b</th>' in html
    assert "<s>gone</s> <em>em</em>" in html
    link = 'target="_blank" rel="noopener noreferrer nofollow"'
    assert f'<a href="https://x.example/a_(b)" {link}>l</a>' in html
    assert f'<a href="https://bare.example/p" {link}>https://bare.example/p</a>' in html


def test_bad_links_keep_their_label_and_images_become_links() -> None:
    html = markdown_html(f"[bad](javascript:x) [rel](p.html) ![pic]({REMOTE}/p.png) ![d](data:,x)")
    link = 'target="_blank" rel="noopener noreferrer nofollow"'
    assert f"<a {link}>bad</a> <a {link}>rel</a>" in html
    assert f'<a href="{REMOTE}/p.png" {link}>[image: pic]</a>' in html
    assert f"<a {link}>[image: d]</a>" in html
    assert "<img" not in html


def test_code_is_highlighted_with_inline_colours_only() -> None:
    html = markdown_html("```python\ndef f(a):\n    return a < 2\n```\n\n    <indented>\n")
    assert html.startswith('<pre style="background-color:#f7f7f7;color:#1f2328;padding:')
    assert '<span style="color:#008000;font-weight:bold">def</span>' in html
    assert "&lt;indented&gt;" in html
    assert "class=" not in html  # nothing for a front end's own highlighter or mermaid to pick


def test_only_measured_lexers_and_short_blocks_are_highlighted() -> None:
    # The fish lexer takes exponential time on a quote and backslashes: a reply could hang the
    # kernel. Languages outside HIGHLIGHT_LANGUAGES, and long blocks, are shown plain.
    hostile = '```fish\n"' + "\\" * 60 + "\n```"
    html = markdown_html(hostile)
    assert "<span" not in html and "\\" * 60 in html
    assert "<span" in markdown_html("```python\nx = 1\n```")
    long = "```python\n" + "x = 1\n" * (HIGHLIGHT_CHARS // 6 + 1) + "```"
    assert "<span" not in markdown_html(long)
    # And no more than HIGHLIGHT_TOTAL characters in all per document.
    block = "```python\n" + "x = 1\n" * (HIGHLIGHT_CHARS // 6 - 1) + "```\n\n"
    many = markdown_html(block * (HIGHLIGHT_TOTAL // HIGHLIGHT_CHARS + 3))
    highlighted = [part for part in many.split("<pre")[1:] if "<span" in part]
    assert len(highlighted) == HIGHLIGHT_TOTAL // HIGHLIGHT_CHARS


def test_fence_with_trailing_characters_stays_one_code_block() -> None:
    html = markdown_html(CASES["fence-trailing-backtick"])
    assert html.count("<pre") == 1
    assert "```~\n&lt;img src=x onerror=alert(11)&gt;" in html


def test_mermaid_stays_code() -> None:
    html = markdown_html(CASES["mermaid-img"])
    assert html.startswith("<pre style=") and ">graph TD\n" in html and "class=" not in html


def test_math_stays_text_inside_a_wrapper_mathjax_skips() -> None:
    reply = Reply()
    reply.add(TextDelta(CASES["math-href"]))
    html = reply_html(reply)
    assert html.startswith('<div class="nbchat-output tex2jax_ignore mathjax_ignore">')
    assert "$\\href{javascript:alert(23)}{click}$" in html


@pytest.mark.parametrize("name", ["deep-blockquote", "deep-list"])
def test_nothing_past_the_nesting_limit_is_lost_or_parsed(name: str) -> None:
    html = markdown_html(CASES[name])
    assert "link](javascript:alert(3" in html
    assert f"{REMOTE}/" in html  # the URL is shown as text in a code block
    assert "<a href" not in html and html_problems(html) == []


def test_first_code_block() -> None:
    assert first_code_block("text\n\n```py\nprint(1)\n```\n\n```\nsecond\n```") == "print(1)\n"
    assert first_code_block("~~~\ntilde\n~~~") == "tilde\n"
    assert first_code_block("no code, only `inline`") is None


def test_reply_keeps_tools_inline_and_the_status_apart_from_model_text() -> None:
    reply = Reply()
    for event in [
        TextDelta("Checking <b>now</b>."),
        ToolCall("search", {"q": "`tick` <img src=x onerror=alert(1)>"}),
        ToolResult("search", "x" * 500),
        TextDelta("Done, with an unclosed fence:\n```\ncode"),
        Error("server", "went <i>away</i>"),
    ]:
        reply.add(event)
    html = reply_html(reply)
    assert html_problems(html) == []
    assert "<p>Checking &lt;b&gt;now&lt;/b&gt;.</p>" in html
    assert '<code>{"q": "`tick` &lt;img src=x onerror=alert(1)&gt;"}</code>' in html
    assert "<code>" + "x" * 300 + "…</code>" in html
    # The unclosed fence ends with the model's text: the status line is still a paragraph.
    assert html.endswith("<p><em>[error (server): went &lt;i&gt;away&lt;/i&gt;]</em></p>\n</div>")
    assert reply_text(reply).endswith("code\n\n[error (server): went <i>away</i>]")

    finished = Reply()
    finished.add(TextDelta("ok"))
    finished.add(Done())
    assert reply_html(finished) == (
        '<div class="nbchat-output tex2jax_ignore mathjax_ignore">\n<p>ok</p>\n</div>'
    )


def test_empty_history() -> None:
    assert "<p><em>No messages yet.</em></p>" in turns_html([])
