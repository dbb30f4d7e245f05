"""nbchat.markdown.sanitize: hostile Markdown renders harmless under marked and markdown-it."""

from __future__ import annotations

import pytest

from nbchat.events import Reply, TextDelta
from nbchat.markdown import first_code_block, reply_tail, sanitize
from nbchat.server.demo_model import respond

from .renderers import html_problems, render_markdown_it, render_marked

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "text <img src=x onerror=alert(1)> inline",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java&#115;cript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](<javascript:alert(1)>)",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[ref link][r]\n\n[r]: javascript:alert(1)",
    "[r]\n\n[r]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "![tracker](https://example.com/pixel.png)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "[![img](https://e.com/i.png)](javascript:alert(1))",
    "[`<b>` label <i>x</i>](javascript:alert(1))",
    '<a href="javascript:alert(1)">raw</a>',
    '<svg onload="alert(1)"><circle r="10"/></svg>',
    '<iframe src="https://example.com"></iframe>',
    "<!-- comment --><div onclick=alert(1)>x</div>",
    '<details open ontoggle="alert(1)"><summary>x</summary></details>',
    "<style>body{display:none}</style>",
    "| a | b |\n|---|---|\n| <img src=x onerror=alert(1)> | `x` |",
    "| `<img src=x onerror=alert(1)> | ` |\n|---|---|\n| 1 | 2 |",
    "> quote <script>alert(1)</script>\n> more",
    "- item <img src=x onerror=alert(1)>\n  - nested <b onmouseover=alert(1)>b</b>",
    # An HTML block ends at </script>; once escaped, the indented line after it becomes part
    # of a paragraph, so it must be escaped too (the sanitizer parses again until stable).
    "<script>\nx\n</script>\n    <img src=x onerror=alert(1)>",
    "<div>\n```\n</div>\n\n<img src=x onerror=alert(1)>\n```",
    "``` \n<img src=x onerror=alert(1)>",
    "`unclosed <img src=x onerror=alert(1)>",
    "a\n<img src=x onerror=alert(1)>\nb",
    "&lt;script&gt;alert(1)&lt;/script&gt; &#60;img src=x onerror=alert(1)&#62;",
    "<scr<script>ipt>alert(1)</script>",
    "x\r\n<script>alert(1)</script>\r\n",
    "# heading <img src=x onerror=alert(1)>\n\nSetext <b onclick=x>\n===",
    "[a](https://ok.example/path?q=1&r=(2)) <http://autolink.example>",
]


@pytest.fixture(scope="module")
def marked_html() -> list[str]:
    return render_marked([sanitize(document) for document in HOSTILE])


@pytest.mark.parametrize("index", range(len(HOSTILE)))
def test_hostile_markdown_renders_harmless(index: int, marked_html: list[str]) -> None:
    cleaned = sanitize(HOSTILE[index])
    assert html_problems(marked_html[index]) == []
    assert html_problems(render_markdown_it(cleaned)) == []


def test_the_same_documents_are_dangerous_unsanitized() -> None:
    # The audit finds what the sanitizer removes (so the test above can fail).
    dangerous = [html_problems(html) for html in render_marked(HOSTILE)]
    assert sum(1 for problems in dangerous if problems) >= len(HOSTILE) - 4


def test_demo_xss_reply_renders_harmless() -> None:
    text = respond("/xss").text
    cleaned = sanitize(text)
    [html] = render_marked([cleaned])
    assert html_problems(html) == []
    assert "<script" not in cleaned
    assert "<strong>bold</strong>" in html  # Markdown still works


def test_code_keeps_its_characters() -> None:
    source = (
        "Use `Vec<T>` and `a && b`:\n\n"
        "```rust\nlet v: Vec<u8> = vec![1];\nif a < b && c > d {}\n```\n\n"
        "    <indented> code\n\n"
        "Text with a < b and Vec<T>."
    )
    cleaned = sanitize(source)
    assert "`Vec<T>`" in cleaned
    assert "```rust\nlet v: Vec<u8> = vec![1];\nif a < b && c > d {}\n```" in cleaned
    assert "    <indented> code" in cleaned
    assert "Text with a &lt; b and Vec&lt;T&gt;." in cleaned
    [html] = render_marked([cleaned])
    assert "<code>Vec&lt;T&gt;</code>" in html
    assert "Text with a &lt; b and Vec&lt;T&gt;." in html


def test_links_and_images() -> None:
    cleaned = sanitize(
        "[docs](https://example.com/a_(b)) [bad](javascript:x) ![pic](https://e.com/p.png) "
        "![local](p.png)"
    )
    assert cleaned == ("[docs](https://example.com/a_(b)) bad [pic](https://e.com/p.png) local")


def test_markdown_structure_survives() -> None:
    source = (
        "# Title\n\n> quoted **bold**\n\n1. one\n2. two `x`\n\n"
        "| a | b |\n|---|:-:|\n| 1 | `2` |\n\n~~gone~~ *em* [l](https://x.example)"
    )
    assert sanitize(source) == source


def test_sanitize_is_idempotent() -> None:
    for document in HOSTILE:
        once = sanitize(document)
        assert sanitize(once) == once


def test_first_code_block() -> None:
    assert first_code_block("text\n\n```py\nprint(1)\n```\n\n```\nsecond\n```") == "print(1)\n"
    assert first_code_block("no code, only `inline`") is None


def test_reply_rendering_keeps_tools_inline_and_escapes_them() -> None:
    from nbchat.events import Done, Error, Reply, TextDelta, ToolCall, ToolResult
    from nbchat.markdown import reply_markdown, reply_text

    reply = Reply()
    for event in [
        TextDelta("Checking <b>now</b>."),
        ToolCall("search", {"q": "`tick` <img src=x onerror=alert(1)>"}),
        ToolResult("search", "x" * 500),
        TextDelta("Done."),
        Error("server", "went <i>away</i>"),
    ]:
        reply.add(event)
    markdown = reply_markdown(reply)
    assert markdown.split("\n\n") == [
        "Checking &lt;b&gt;now&lt;/b&gt;.",
        '> tool call `search`: ``{"q": "`tick` <img src=x onerror=alert(1)>"}``',
        "> tool result `search`: `" + "x" * 300 + "…`",
        "Done.",
        "*[error (server): went &lt;i&gt;away&lt;/i&gt;]*",
    ]
    [html] = render_marked([markdown])
    assert html_problems(html) == []
    assert reply_text(reply).endswith("Done.\n\n[error (server): went <i>away</i>]")

    finished = Reply()
    finished.add(TextDelta("ok"))
    finished.add(Done())
    assert reply_markdown(finished) == "ok"


def test_reply_tail_keeps_short_replies_whole_and_reopens_a_cut_code_block() -> None:
    def reply_of(text: str) -> Reply:
        reply = Reply()
        reply.add(TextDelta(text))
        return reply

    assert reply_tail(reply_of("short *reply*"), 100) == "short *reply*"
    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 20 for i in range(50))
    tail = reply_tail(reply_of(paragraphs), 500)
    assert tail.startswith("…\n\nParagraph ") and paragraphs.endswith(tail[3:])
    assert len(tail) <= 503
    code = "Intro\n\n```python\n" + "\n".join(f"x{i} = {i}" for i in range(300)) + "\n"
    tail = reply_tail(reply_of(code), 200)
    assert tail.startswith("…\n\n```python\n")  # the open code block, reopened
