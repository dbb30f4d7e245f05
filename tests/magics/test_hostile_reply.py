"""Hostile model replies leave nothing active in any output a `%%chat` cell sends, live or final."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile import CASES, html_problems

from nbchat.server import ServerHandle, start_server

from .conftest import Execution, Kernel, connect_line, html_of


@pytest.fixture(scope="module")
def slow_server() -> Iterator[ServerHandle]:
    """Deltas 20 ms apart, so the hostile reply streams for longer than a live update takes to
    come (UPDATE_INTERVAL) and is also seen half-way."""
    with start_server(delay=0.02) as handle:
        yield handle


def shown_html(execution: Execution) -> list[str]:
    """Every HTML version the cell showed: live updates and the final output."""
    bundles = [m["content"]["data"] for m in execution.displays]
    assert all("text/markdown" not in bundle for bundle in bundles)  # nothing for a front end
    return [bundle["text/html"] for bundle in bundles if "text/html" in bundle]


@pytest.mark.parametrize("name", list(CASES))
def test_issue_cases_are_inert_live_and_final(
    name: str, kernel: Kernel, slow_server: ServerHandle
) -> None:
    kernel.ok(connect_line(slow_server))
    execution = kernel.ok(f"%%chat --no-interpolate -o hostile\n/echo {CASES[name]}")
    assert kernel.eval("hostile.text") == CASES[name]  # the model did send it...
    html = html_of(execution)
    assert 'class="nbchat-output tex2jax_ignore mathjax_ignore"' in html
    for version in shown_html(execution):  # ...and no version of the output carries it live
        assert html_problems(version) == []


def test_live_updates_are_sanitized_html_too(kernel: Kernel, slow_server: ServerHandle) -> None:
    kernel.ok(connect_line(slow_server))
    execution = kernel.ok("%%chat -o hostile\n/xss")
    assert "<script" in kernel.eval("hostile.text")
    shown = shown_html(execution)
    assert len(shown) >= 3  # live updates, then the final output
    for version in shown:
        assert html_problems(version) == []
    assert "<p>Plain <strong>bold</strong> text should still render.</p>" in shown[-1]
    link = 'target="_blank" rel="noopener noreferrer nofollow"'
    assert (
        f'<a href="https://example.com/tracker.png" {link}>[image: remote image]</a>' in (shown[-1])
    )


def test_displaying_a_hostile_reply_later_and_the_history_are_inert(kernel: Kernel) -> None:
    for name in ("fence-trailing-backtick", "deep-blockquote", "mermaid-img"):
        kernel.ok(
            f"%%chat --no-interpolate --quiet -o {name.replace('-', '_')}\n/echo {CASES[name]}"
        )
    [later] = kernel.ok("fence_trailing_backtick").outputs
    assert set(later["data"]) == {"text/plain", "text/html"}
    assert html_problems(later["data"]["text/html"]) == []
    [history] = kernel.ok("%chat_history").outputs
    assert set(history["data"]) == {"text/plain", "text/html"}
    assert "&lt;img src=https://attacker.example/mermaid.png" in history["data"]["text/html"]
    assert html_problems(history["data"]["text/html"]) == []
