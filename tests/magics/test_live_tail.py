"""What the live view of a long reply shows: its end, cut where markdown-it sees a block."""

from __future__ import annotations

from nbchat.events import Reply, TextDelta
from nbchat.markdown import reply_tail
from nbchat.safe_html import parse


def reply_of(text: str) -> Reply:
    reply = Reply()
    reply.add(TextDelta(text))
    return reply


def test_a_short_reply_is_shown_whole() -> None:
    assert reply_tail(reply_of("short *reply*"), 100) == ["short *reply*"]


def test_a_long_reply_shows_its_last_paragraphs_after_an_ellipsis() -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} " + "word " * 20 for i in range(50))
    first, tail = reply_tail(reply_of(paragraphs), 500)
    assert first == "…"
    assert tail.startswith("Paragraph ") and paragraphs.endswith(tail)
    assert 300 < len(tail) <= 500


def test_a_code_block_cut_open_gets_its_fence_again() -> None:
    code = "Intro\n\n```python\n" + "\n".join(f"x{i} = {i}" for i in range(300)) + "\n"
    first, tail = reply_tail(reply_of(code), 200)
    assert first == "…"
    assert tail.startswith("```python\n") and code.rstrip("\n").endswith(tail.split("\n", 1)[1])
    [fence] = [token for token in parse(tail) if token.type == "fence"]
    assert fence.info == "python" and fence.content.rstrip().endswith("x299 = 299")


def test_plain_text_keeps_its_last_lines() -> None:
    lines = "\n".join(f"line {i}" for i in range(1000))
    first, tail = reply_tail(reply_of(lines), 100, markdown=False)
    assert first == "…" and tail.startswith("line ") and lines.endswith(tail)
    assert len(tail) <= 100


def test_one_long_line_keeps_its_end() -> None:
    line = "a" * 5000 + "b" * 100
    first, tail = reply_tail(reply_of(line), 100)
    assert (first, tail) == ("…", "b" * 100)
