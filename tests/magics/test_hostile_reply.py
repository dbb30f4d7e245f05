"""A hostile model reply (`/xss`) leaves nothing that can run in the cell output."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nbchat.server import ServerHandle, start_server

from .conftest import Kernel, connect_line, markdown_of
from .renderers import html_problems, render_markdown_it, render_marked


@pytest.fixture(scope="module")
def slow_server() -> Iterator[ServerHandle]:
    """Deltas 20 ms apart, so the hostile reply streams for longer than a live update takes to
    come (UPDATE_INTERVAL) and is also seen half-way."""
    with start_server(delay=0.02) as handle:
        yield handle


def test_xss_reply_output_is_inert(kernel: Kernel, slow_server: ServerHandle) -> None:
    kernel.ok(connect_line(slow_server))
    execution = kernel.ok("%%chat -o hostile\n/xss")
    markdown = markdown_of(execution)
    assert "<script" in kernel.eval("hostile.text")  # the model did send it...
    assert "<script" not in markdown  # ...and the output does not carry it
    # Every version the cell showed, live or final, renders without anything active.
    shown = [m["content"]["data"].get("text/markdown", "") for m in execution.displays]
    assert len([text for text in shown if text]) >= 2  # at least one live update and the final
    for html in render_marked(shown):
        assert html_problems(html) == []
    assert html_problems(render_markdown_it(markdown)) == []
    [final_html] = render_marked([markdown])
    assert "<strong>bold</strong>" in final_html
    assert '<a href="https://example.com/tracker.png">remote image</a>' in final_html


def test_displaying_a_hostile_reply_later_is_inert(kernel: Kernel) -> None:
    kernel.ok("%%chat -o hostile --quiet\n/xss")
    [output] = kernel.ok("hostile").outputs
    [html] = render_marked([output["data"]["text/markdown"]])
    assert html_problems(html) == []
