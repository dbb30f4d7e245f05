"""What a cell shows of a reply's reasoning, citations and cut-off, and that it stays inert."""

from __future__ import annotations

from bs4 import BeautifulSoup

from nbchat.events import Done, ReasoningDelta, Reply, Source, TextDelta
from nbchat.markdown import reply_html, reply_text


def reply_of(*events: object) -> Reply:
    reply = Reply()
    for event in events:
        reply.add(event)  # type: ignore[arg-type]
    return reply


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def test_reasoning_only_when_asked() -> None:
    reply = reply_of(ReasoningDelta("first\nsecond"), TextDelta("Answer"), Done())
    assert soup(reply_html(reply)).get_text(" ", strip=True) == "Answer"
    assert reply_text(reply) == "Answer"
    shown = soup(reply_html(reply, reasoning=True))
    quote = shown.find("blockquote")
    assert quote is not None
    assert " ".join(quote.get_text(" ").split()) == "Thinking: first second"
    assert shown.get_text(" ", strip=True).endswith("Answer")
    assert reply_text(reply, reasoning=True) == "[thinking]\nfirst\nsecond\n[/thinking]\n\nAnswer"


def test_hostile_reasoning_stays_inert() -> None:
    reply = reply_of(ReasoningDelta("<script>alert(1)</script>\n[x](javascript:alert(2))"), Done())
    shown = soup(reply_html(reply, reasoning=True))
    assert shown.find("script") is None
    assert all("javascript:" not in (a.get("href") or "") for a in shown.find_all("a"))
    assert "<script>alert(1)</script>" in shown.get_text()  # shown as text, not run


def test_sources_are_links_only_for_http() -> None:
    sources = (
        Source("https://jupyter.org/", "Jupyter [docs]"),
        Source("javascript:alert(1)", "evil"),
        Source("https://example.com/a b)c", None),
    )
    reply = reply_of(TextDelta("See [1]."), Done(sources=sources))
    shown = soup(reply_html(reply))
    links = {a.get_text(): a["href"] for a in shown.find_all("a")}
    assert links == {
        "Jupyter [docs]": "https://jupyter.org/",
        "https://example.com/a b)c": "https://example.com/a%20b%29c",
    }
    assert "evil" in shown.get_text()
    assert "2. evil <javascript:alert(1)>" in reply_text(reply)


def test_cut_off_note() -> None:
    reply = reply_of(TextDelta("Once upon"), Done(finish_reason="length"))
    note = "[cut off: the reply reached the token limit]"
    assert soup(reply_html(reply)).get_text(" ", strip=True).endswith(note)
    assert reply_text(reply).endswith(note)
    done = reply_of(TextDelta("Done."), Done(finish_reason="stop"))
    assert soup(reply_html(done)).get_text(" ", strip=True) == "Done."
