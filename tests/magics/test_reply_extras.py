"""What a cell shows of a reply's reasoning, citations and cut-off, and that it stays inert."""

from __future__ import annotations

from nbchat.events import Done, ReasoningDelta, Reply, Source, TextDelta
from nbchat.markdown import reply_markdown, reply_text


def reply_of(*events: object) -> Reply:
    reply = Reply()
    for event in events:
        reply.add(event)  # type: ignore[arg-type]
    return reply


def test_reasoning_only_when_asked() -> None:
    reply = reply_of(ReasoningDelta("first\nsecond"), TextDelta("Answer"), Done())
    assert reply_markdown(reply) == "Answer"
    assert reply_text(reply) == "Answer"
    assert reply_markdown(reply, reasoning=True) == (
        "> *Thinking:*\n>\n> first\n> second\n\nAnswer"
    )
    assert reply_text(reply, reasoning=True) == "[thinking]\nfirst\nsecond\n[/thinking]\n\nAnswer"


def test_hostile_reasoning_stays_inert() -> None:
    reply = reply_of(ReasoningDelta("<script>alert(1)</script>\n[x](javascript:alert(2))"), Done())
    shown = reply_markdown(reply, reasoning=True)
    assert "<script>" not in shown and "javascript:" not in shown


def test_sources_are_links_only_for_http() -> None:
    sources = (
        Source("https://jupyter.org/", "Jupyter [docs]"),
        Source("javascript:alert(1)", "evil"),
        Source("https://example.com/a b)c", None),
    )
    reply = reply_of(TextDelta("See [1]."), Done(sources=sources))
    assert reply_markdown(reply) == (
        "See [1].\n\n**Sources:**\n\n"
        "1. [Jupyter \\[docs\\]](https://jupyter.org/)\n"
        "2. `evil`\n"
        "3. [https://example.com/a b)c](https://example.com/a%20b%29c)"
    )
    assert "2. evil <javascript:alert(1)>" in reply_text(reply)


def test_cut_off_note() -> None:
    reply = reply_of(TextDelta("Once upon"), Done(finish_reason="length"))
    assert reply_markdown(reply).endswith("*[cut off: the reply reached the token limit]*")
    assert reply_text(reply).endswith("[cut off: the reply reached the token limit]")
    assert reply_markdown(reply_of(TextDelta("Done."), Done(finish_reason="stop"))) == "Done."
