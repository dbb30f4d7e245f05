"""Main-thread cost of a turn's end in a long conversation, in real JupyterLab + headless Chromium.

Each finished turn updates the cell's output (its transcript), and JupyterLab renders the panel
again with a new view of the same model: the whole conversation is rendered anew. This builds a
conversation of `--turns` turns with code blocks and math (in the kernel, before the panel is
shown), then sends `--rounds` short messages from the panel and reports, per round, from Send
until the new view has replaced the old one: the longest main-thread task (PerformanceObserver
'longtask', tasks over 50 ms) and the total of the long tasks.

    python bench/bench_panel_rebuild.py [--turns 60] [--rounds 5]

Needs Debian chromium at /usr/bin/chromium and the built widget bundle.
"""

from __future__ import annotations

import argparse
import statistics

from bench_widget_browser import _FINISH, _START, instrumented_notebook
from browser.chatpanel import ChatPanel  # on the path from bench_widget_browser
from playwright.sync_api import expect

# One turn of the conversation: prose, inline and display math, and a highlighted code block.
_TURN = (
    "Turn {i}: the sum $\\\\sum_{{k=1}}^{{{i}}} k^2$ grows like $n^3/3$.\\n\\n"
    "$$\\\\int_0^{i} x^2\\\\,dx = \\\\frac{{{i}^3}}{{3}}$$\\n\\n"
    "```python\\ndef squares(n):\\n    return [k * k for k in range(n)]\\n\\n"
    "print(squares({i}))\\n```\\n"
)


def conversation_cell(server_url: str, turns: int) -> str:
    return "\n".join(
        [
            "import nbchat",
            f"chat = nbchat.Chat({server_url!r}, dialect='chats', model='demo', user_id='bench')",
            f"for i in range({turns}):",
            f"    chat.send('/echo ' + '{_TURN}'.format(i=i))",
            "nbchat.ChatWidget(chat)",
        ]
    )


def run(turns: int, rounds: int) -> list[str]:
    with instrumented_notebook() as (server, notebook):
        output = notebook.run_cell(0, conversation_cell(server.url, turns))
        panel = ChatPanel(output.locator('[data-testid="nbchat"]'))
        expect(panel.replies).to_have_count(turns, timeout=120_000)
        expect(panel.root.locator(".katex").first).to_be_visible()
        page = notebook.page
        results = []
        for i in range(rounds):
            old = panel.input.element_handle()
            page.evaluate(_START)
            panel.wait_finished(panel.send(f"/echo short {i}"))
            panel.wait_rebuilt(old)
            expect(panel.replies).to_have_count(turns + i + 1)
            page.wait_for_timeout(500)  # the new view's first layout and paint
            results.append(page.evaluate(_FINISH))
    longest = [max(r["tasks"], default=0.0) for r in results]
    total = [sum(r["tasks"]) for r in results]
    return [
        f"browser: turn end after {turns} turns (code + math), longest main-thread task per round "
        f"(ms, 0 = none over 50) | {', '.join(f'{x:.0f}' for x in longest)} "
        f"(median {statistics.median(longest):.0f}); long tasks in all per round: "
        f"{', '.join(f'{x:.0f}' for x in total)} | <= 50 ms"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for row in run(args.turns, args.rounds):
        print(row)


if __name__ == "__main__":
    main()
