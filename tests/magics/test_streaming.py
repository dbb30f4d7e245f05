"""%%chat shows the reply growing in the cell, then leaves one deterministic rendered output."""

from __future__ import annotations

import html
import re
from datetime import datetime
from itertools import pairwise

from nbchat.magics import LIVE_RATIO, LIVE_WINDOW, UPDATE_INTERVAL
from nbchat.magics.display import ENVELOPE, LIVE_SLACK
from nbchat.safe_html import CLASS

from .conftest import Kernel, html_of


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html).strip()


def sent_at(message: dict) -> datetime:
    date = message["header"]["date"]
    return date if isinstance(date, datetime) else datetime.fromisoformat(date)


def test_reply_streams_as_display_updates_at_a_bounded_rate(kernel: Kernel) -> None:
    # 40 deltas of 10 characters, 50 ms apart: about two seconds of streaming.
    execution = kernel.ok("%%chat -o r\n/stream 40 10 50")

    # An empty live output, updates to it, the live output emptied, then the final output.
    placeholder, *updates, emptied, final = execution.displays
    assert (placeholder["msg_type"], placeholder["content"]["data"]) == ("display_data", {})
    display_id = placeholder["content"]["transient"]["display_id"]
    assert {m["msg_type"] for m in [*updates, emptied]} == {"update_display_data"}
    assert {m["content"]["transient"]["display_id"] for m in [*updates, emptied]} == {display_id}
    assert emptied["content"]["data"] == {}
    assert final["msg_type"] == "display_data"

    # The text grows from update to update while streaming...
    live = [visible_text(m["content"]["data"]["text/html"]) for m in updates]
    assert len(live) >= 3
    assert [len(text) for text in live] == sorted(len(text) for text in live)
    assert 0 < len(live[0]) < len(live[-1]) <= 400
    # ...no faster than one update per UPDATE_INTERVAL.
    times = [sent_at(m) for m in updates]
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
    # Header times carry some scheduling jitter, so single gaps get slack and any five in a
    # row must span five intervals, near enough.
    assert min(gaps) >= UPDATE_INTERVAL * 0.5, gaps
    spans = [sum(gaps[i : i + 2]) for i in range(len(gaps) - 1)]
    assert min(spans) >= 2 * UPDATE_INTERVAL * 0.9, gaps

    # What remains: the emptied live output (front ends draw nothing for it; see test_nbval)
    # and the whole reply as sanitized HTML and plain text.
    text = kernel.eval("r.text")
    assert len(text) == 400
    live_output, output = execution.outputs
    assert live_output["data"] == {}
    assert output["data"] == {
        "text/plain": text,
        "text/html": f'<div class="{CLASS}">\n<p>{text}</p>\n</div>',
    }


def test_final_output_is_the_same_on_every_run(kernel: Kernel) -> None:
    cell = "%%chat --new\nTell me about notebooks <b>and</b> `code`"
    first = kernel.ok(cell).visible
    second = kernel.ok(cell).visible
    assert [o["data"] for o in first] == [o["data"] for o in second]
    html = first[0]["data"]["text/html"]
    assert "<p><strong>Turn 1.</strong>" in html
    assert "&lt;b&gt;and&lt;/b&gt;" in html
    assert '<span style="color:#3D7B7B;font-style:italic"># words in your message' in html


def test_tool_calls_and_results_show_inline(kernel: Kernel) -> None:
    html = html_of(kernel.ok("%%chat\ncalculate 2+3*4"))
    call = html.index('tool call <code>calculator</code>: <code>{"expression": "2+3*4"}</code>')
    result = html.index("tool result <code>calculator</code>: <code>14</code>")
    answer = html.index("<code>2+3*4</code> = <strong>14</strong>.")
    assert html.index("Let me use the calculator.") < call < result < answer


def test_a_reply_renders_as_html_when_displayed_later(kernel: Kernel) -> None:
    kernel.ok("%%chat -o r --quiet\ncalculate 6*7")
    [output] = kernel.ok("r").outputs
    assert set(output["data"]) == {"text/plain", "text/html"}
    assert "<code>6*7</code> = <strong>42</strong>." in output["data"]["text/html"]
    assert "[tool result] calculator: 42" in output["data"]["text/plain"]


def test_a_long_reply_shows_its_end_live_and_costs_o_of_its_size(kernel: Kernel) -> None:
    # 40 KB in 400 deltas, 10 ms apart: several seconds of streaming.
    execution = kernel.ok("%%chat -o r\n/stream 400 100 10")
    _, *updates, _, final = execution.displays
    live = [m["content"]["data"]["text/html"] for m in updates]
    text = kernel.eval("r.text")
    assert len(text) == 40_000 and len(live) >= 3
    # Past LIVE_WINDOW characters the live output shows "…" and the reply's end.
    shown = [" ".join(html.unescape(visible_text(body)).split()) for body in live]
    late = [body for body in shown if body.startswith("…")]
    assert late and all(len(body) <= LIVE_WINDOW + 10 for body in late)
    whole = " ".join(text.split())
    assert all(body[1:].strip() in whole for body in late)
    # What the live output cost in all stays within its allowance (envelopes counted).
    cost = sum(ENVELOPE + len(body.encode()) for body in live)
    assert cost <= LIVE_RATIO * len(text) + LIVE_SLACK
    assert final["content"]["data"]["text/plain"] == text
