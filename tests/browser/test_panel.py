"""The panel as a new user meets it: following the conversation, wide content, regenerate,
streamed order, prompt history and the empty state, measured in real JupyterLab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from nbchat.server import ServerHandle

from .chatpanel import ChatPanel
from .chromium import VIEWPORT
from .conftest import PageLog
from .lab import JupyterLab
from .notebook import DARK, Notebook
from .test_widget import _BACKGROUND, luminance

CHATS = {"dialect": "chats", "model": "demo", "user_id": "u1"}
AGENTS = {"dialect": "agents", "agent_id": "ag_demo"}

# Where the transcript is scrolled: distance from the bottom, top, and content height (px).
_SCROLL = """t => ({
    gap: t.scrollHeight - t.scrollTop - t.clientHeight, top: t.scrollTop, height: t.scrollHeight
})"""

# Left/right edges and widths of the panel, every message and every wide element in it.
_WIDTHS = """root => {
    const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.right]; };
    const pick = sel => Array.from(root.querySelectorAll(sel)).map(box);
    return {
        panel: box(root), messages: pick('.nbchat-msg'), tables: pick('.nbchat-table'),
        codes: pick('.nbchat-code'), rootOverflow: root.scrollWidth - root.clientWidth,
        transcriptOverflow: root.querySelector('[data-testid="transcript"]').scrollWidth
            - root.querySelector('[data-testid="transcript"]').clientWidth,
    };
}"""


def wide_markdown(columns: int = 30) -> str:
    header = "| " + " | ".join(f"Column {i}" for i in range(columns)) + " |"
    rule = "|" + "---|" * columns
    row = "| " + " | ".join(f"value {i}" for i in range(columns)) + " |"
    code = "x = [" + ", ".join(str(i) for i in range(120)) + "]  # one long line"
    return f"{header}\n{rule}\n{row}\n\n```python\n{code}\n```\n"


def test_follows_the_conversation(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    transcript = panel.root.locator('[data-testid="transcript"]')
    jump = panel.root.locator('[data-testid="jump-to-latest"]')
    for i in range(4):  # enough history to scroll
        panel.wait_finished(panel.send(f"/stream 20 {60 + i}"))
    start = transcript.evaluate(_SCROLL)
    assert start["height"] > 600 and start["gap"] < 40, start

    # While at the bottom, the streaming reply is followed.
    reply = panel.send("/stream 300 20 20")
    gaps = []
    length = 0
    for _ in range(4):
        length = panel.wait_grown(length + 400)
        gaps.append(transcript.evaluate(_SCROLL)["gap"])
    assert max(gaps) < 40, gaps
    expect(jump).to_be_hidden()

    # Scrolling up to read stops the following: the place is kept while the reply grows.
    transcript.hover()
    notebook.page.mouse.wheel(0, -400)
    expect(jump).to_be_visible()
    reading = transcript.evaluate(_SCROLL)
    panel.wait_grown(length + 600)
    later = transcript.evaluate(_SCROLL)
    assert later["height"] > reading["height"], (reading, later)
    assert abs(later["top"] - reading["top"]) < 2, (reading, later)
    assert later["gap"] > 300

    # "Jump to latest" goes back to the bottom and follows again.
    jump.click()
    expect(jump).to_be_hidden()
    length = panel.wait_grown(panel.wait_grown(0) + 200)
    assert transcript.evaluate(_SCROLL)["gap"] < 40
    panel.wait_finished(reply)

    # Scrolled up, sending a message scrolls to it.
    transcript.hover()
    notebook.page.mouse.wheel(0, -2000)
    expect(jump).to_be_visible()
    sent = panel.send("/echo where am I")
    panel.wait_finished(sent)
    assert transcript.evaluate(_SCROLL)["gap"] < 40
    box = panel.user_messages.last.bounding_box()
    view = transcript.bounding_box()
    assert box is not None and view is not None
    assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"]


def test_typing_and_reading_go_on_when_a_reply_ends(
    notebook: Notebook, server: ServerHandle
) -> None:
    """Each finished turn updates the cell's output (its transcript), and JupyterLab renders the
    panel anew: the draft, the caret, the focus and the reading place carry over."""
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    transcript = panel.root.locator('[data-testid="transcript"]')
    jump = panel.root.locator('[data-testid="jump-to-latest"]')
    for i in range(4):  # enough history to scroll
        panel.wait_finished(panel.send(f"/stream 20 {60 + i}"))

    # A draft typed while the reply streams is still there, and typing goes on into it.
    reply = panel.send("/stream 150 20 20")
    panel.wait_grown(100)
    old = panel.input.element_handle()
    notebook.page.keyboard.type("my next question")
    panel.wait_finished(reply)
    panel.wait_rebuilt(old)
    expect(panel.input).to_have_value("my next question")
    assert panel.input.evaluate("t => document.activeElement === t")
    notebook.page.keyboard.type(" is this")
    expect(panel.input).to_have_value("my next question is this")

    # A reader who scrolled up mid-stream keeps the place and the jump control.
    reply = panel.send("/stream 200 20 20")
    panel.wait_grown(400)
    transcript.hover()
    notebook.page.mouse.wheel(0, -600)
    expect(jump).to_be_visible()
    old = transcript.element_handle()
    panel.wait_grown(600)  # the wheel's scrolling has ended
    reading = transcript.evaluate(_SCROLL)
    panel.wait_finished(reply)
    panel.wait_rebuilt(old)
    expect(jump).to_be_visible()
    later = transcript.evaluate(_SCROLL)
    assert abs(later["top"] - reading["top"]) < 2, (reading, later)
    assert later["gap"] > 300, later


def test_opens_at_the_latest_message(notebook: Notebook, server: ServerHandle) -> None:
    history = "\n".join(
        [
            "import nbchat",
            f"chat = nbchat.Chat({server.url!r}, dialect='chats', model='demo', user_id='u1')",
            "for i in range(6):",
            "    chat.send(f'/stream 20 {60 + i}')",
            "nbchat.ChatWidget(chat)",
        ]
    )
    output = notebook.run_cell(0, history)
    panel = ChatPanel(output.locator('[data-testid="nbchat"]'))
    expect(panel.replies).to_have_count(6)
    transcript = panel.root.locator('[data-testid="transcript"]')
    notebook.page.wait_for_function(
        "t => t.scrollHeight > t.clientHeight"
        " && t.scrollHeight - t.scrollTop - t.clientHeight < 40",
        arg=transcript.element_handle(),
    )
    expect(panel.replies.last).to_be_in_viewport()
    expect(panel.replies.first).not_to_be_in_viewport()


def test_wide_content_scrolls_inside_the_message(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    reply = panel.send("/echo " + wide_markdown())
    panel.wait_finished(reply)

    widths = panel.root.evaluate(_WIDTHS)
    left, right = widths["panel"]
    assert widths["rootOverflow"] <= 0 and widths["transcriptOverflow"] <= 0, widths
    for edges in widths["messages"] + widths["tables"] + widths["codes"]:
        assert left - 0.5 <= edges[0] and edges[1] <= right + 0.5, (edges, widths["panel"])

    table = reply.locator(".nbchat-table")
    scroll = table.evaluate("t => ({scroll: t.scrollWidth, client: t.clientWidth})")
    assert scroll["scroll"] > scroll["client"] * 1.5, scroll  # it scrolls instead of squeezing
    # Headers stay on one line: no one-letter-per-line columns.
    heights = reply.locator("th").evaluate_all(
        "ths => ths.map(th => th.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(th).lineHeight))"
    )
    assert len(heights) == 30 and max(heights) < 2, heights
    table.evaluate("t => { t.scrollLeft = t.scrollWidth; }")
    assert table.evaluate("t => t.scrollLeft") > 0

    # The code block scrolls too, and its Copy button sits beside the code, not on it.
    pre = reply.locator(".nbchat-code pre")
    assert pre.evaluate("p => p.scrollWidth > p.clientWidth")
    copy = reply.locator('[data-testid="copy-code"]').bounding_box()
    code = pre.bounding_box()
    assert copy is not None and code is not None
    assert copy["y"] + copy["height"] <= code["y"] + 0.5, (copy, code)


def test_regenerate_replaces_the_turn(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    panel.wait_finished(panel.send("/echo first"))
    failed = panel.send("/fail")
    panel.wait_finished(failed, "error")
    expect(panel.replies.last.get_by_role("button", name="Regenerate")).to_have_count(0)

    failed.locator('[data-testid="error"]').get_by_role("button", name="Retry").click()
    expect(panel.replies.last.locator('[data-testid="error"]')).to_contain_text("on purpose")
    panel.wait_finished(panel.replies.last, "error")
    expect(panel.replies).to_have_count(2)
    expect(panel.user_messages).to_have_count(2)
    expect(panel.root.locator('[data-testid="error"]')).to_have_count(1)
    history = notebook.run_cell(1, "[t.user for t in w.chat.history]")
    expect(history).to_contain_text("['/echo first', '/fail']")

    # Edit and resend the last message: it replaces the failed turn.
    panel.user_messages.last.get_by_role("button", name="Edit message").click()
    expect(panel.input).to_have_value("/fail")
    panel.input.fill("/echo fixed")
    panel.input.press("Enter")
    expect(panel.replies.last.locator(".nbchat-markdown")).to_have_text("fixed")
    panel.wait_finished(panel.replies.last)
    expect(panel.replies).to_have_count(2)
    expect(panel.user_messages).to_have_count(2)
    expect(panel.user_messages.last).to_contain_text("/echo fixed")

    # Regenerate is offered on the last good reply too.
    before = panel.replies.last.get_attribute("data-turn")
    panel.replies.last.get_by_role("button", name="Regenerate").click()
    expect(panel.replies.last).not_to_have_attribute("data-turn", before or "")
    panel.wait_finished(panel.replies.last)
    expect(panel.replies).to_have_count(2)
    expect(panel.replies.last.locator(".nbchat-markdown")).to_have_text("fixed")
    history = notebook.run_cell(1, "[t.user for t in w.chat.history]")
    expect(history).to_contain_text("['/echo first', '/echo fixed']")


def test_tool_card_between_the_text_around_it(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **AGENTS)
    reply = panel.send("calculate 2+3*4")
    panel.wait_finished(reply)
    order = reply.locator(".nbchat-markdown, [data-testid='tool-card']").evaluate_all(
        "nodes => nodes.map(n => n.dataset.testid === 'tool-card' ? 'tool' : n.textContent.trim())"
    )
    assert order == ["Let me use the calculator.", "tool", "2+3*4 = 14."], order


def test_prompt_history_and_empty_state(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    empty = panel.root.locator('[data-testid="empty-state"]')
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("Type a message")
    expect(empty).to_contain_text(f"chats · model demo · {server.url}")

    for text in ("/echo one", "/echo two"):
        panel.wait_finished(panel.send(text))
    expect(empty).to_be_hidden()
    panel.input.click()
    keyboard = notebook.page.keyboard
    keyboard.press("ArrowUp")
    expect(panel.input).to_have_value("/echo two")
    keyboard.press("ArrowUp")
    expect(panel.input).to_have_value("/echo one")
    keyboard.press("ArrowDown")
    expect(panel.input).to_have_value("/echo two")
    keyboard.press("ArrowDown")
    expect(panel.input).to_have_value("")
    keyboard.press("ArrowUp")
    keyboard.press("Enter")  # a recalled prompt sends like a typed one
    expect(panel.user_messages).to_have_count(3)
    expect(panel.user_messages.last).to_contain_text("/echo two")
    panel.wait_finished(panel.replies.last)

    old = panel.input.element_handle()
    panel.new_button.click()
    panel.wait_rebuilt(old)  # New updates the output too
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("chats · model demo")
    panel.input.click()
    keyboard.press("ArrowUp")  # the prompts are still recalled after New
    expect(panel.input).to_have_value("/echo two")


def test_prompt_sent_just_before_a_reload_is_recalled(
    notebook: Notebook, server: ServerHandle
) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    panel.wait_finished(panel.send("/echo one"))
    notebook.save()  # the panel's output, for the reloaded page
    panel.input.click()
    panel.input.fill("/stream 1000 20 30")  # still streaming when the page is back
    panel.input.press("Enter")
    notebook.reload()

    reopened = ChatPanel(notebook.output(0).locator('[data-testid="nbchat"]'))
    expect(reopened.replies).to_have_count(2)
    reopened.input.click()
    notebook.page.keyboard.press("ArrowUp")
    expect(reopened.input).to_have_value("/stream 1000 20 30")
    notebook.page.keyboard.press("ArrowUp")
    expect(reopened.input).to_have_value("/echo one")
    reopened.stop_button.click()
    reopened.wait_finished(reopened.replies.last, "stopped")


def test_saved_notebook_is_small_and_reads_without_a_kernel(
    notebook: Notebook, server: ServerHandle, lab: JupyterLab, browser: Browser
) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    panel.wait_finished(panel.send("/echo saved $x^2$ and **bold**"))
    saved = notebook.save()
    states = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    (state,) = [s for s in states.values() if s["model_name"] == "AnyModel"]
    transcript = len(json.dumps(state["state"]["messages"]))
    assert len(json.dumps(state)) - transcript <= 20_000
    assert len(json.dumps(saved)) < 60_000  # the whole notebook, JupyterLab's own widgets included
    expect(panel.replies.last.locator(".katex")).to_have_count(1)  # math, typeset in the page

    # A browser that never loaded the front end, and no kernel: the transcript, as plain text.
    lab.shutdown_kernels()
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(lab.tree_url(notebook.name))
        fallback = page.locator('[data-testid="nbchat-saved"]')
        expect(fallback).to_be_visible(timeout=60_000)
        expect(fallback).to_contain_text("You: /echo saved $x^2$ and **bold**")
        expect(fallback).to_contain_text("Assistant: saved $x^2$ and **bold**")
    finally:
        context.close()


# Counts the files the page saves (a download link clicked), synchronously with the click.
_COUNT_SAVES = """() => {
    window.nbchatSaves = 0;
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
        if (this.download) window.nbchatSaves += 1;
        return click.call(this);
    };
}"""


def test_download_button_saves_once_per_click(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    for i in range(3):  # each finished turn updates the output, and JupyterLab re-renders it
        panel.wait_finished(panel.send(f"/echo for the record {i}"))
    second = ChatPanel(notebook.run_cell(1, "w").locator('[data-testid="nbchat"]'))
    expect(second.replies).to_have_count(3)
    page = notebook.page
    page.evaluate(_COUNT_SAVES)
    downloads: list[str] = []
    page.on("download", lambda download: downloads.append(download.suggested_filename))

    def download(view: ChatPanel, format: str) -> Path:
        view.root.get_by_role("combobox", name="Download format").select_option(format)
        before = page.evaluate("() => window.nbchatSaves")
        with page.expect_download() as info:
            view.root.get_by_role("button", name="Download transcript").click()
        assert page.evaluate("() => window.nbchatSaves") == before + 1  # one file per click
        return Path(info.value.path())

    saved = download(panel, "html").read_text()
    assert "default-src 'none'" in saved and "for the record 2" in saved
    assert "# Chat" in download(panel, "markdown").read_text()
    assert json.loads(download(panel, "json").read_text())["messages"][-1]["text"] == (
        "for the record 2"
    )
    reply = panel.send("/stream 300 20 20")
    panel.wait_grown(100)
    download(panel, "markdown")  # while a reply streams
    download(second, "markdown")  # from the other view
    panel.wait_finished(reply)
    assert downloads == ["chat.html", "chat.md", "chat.json", "chat.md", "chat.md"]
    assert page.evaluate("() => window.nbchatSaves") == 5


# How many views listen to the panel's widget model for custom messages: the handlers added
# through anywidget's model proxy, which registers them with the view as context (found through
# the output's widget renderer and its widget manager).
_LISTENING_VIEWS = """async () => {
    const area = window.jupyterapp.shell.currentWidget.content.widgets[0].outputArea;
    const renderer = area.widgets[0].widgets[1];
    const manager = await renderer._manager.promise;
    const spec = area.model.get(0).data['application/vnd.jupyter.widget-view+json'];
    const model = await manager.get_model(spec.model_id);
    return model._events['msg:custom'].filter(handler => handler.context).length;
}"""


def test_views_left_behind_stop_listening(notebook: Notebook, server: ServerHandle) -> None:
    """Each finished turn updates the output (its transcript), and JupyterLab renders it with a
    new view without removing the old one: the old ones must not go on rendering every reply."""
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    for text in ("one", "two", "three"):
        panel.wait_finished(panel.send(f"/echo {text}"))
    panel.wait_finished(panel.send("/stream 50 20 10"))
    # One more message to every view (a download's answer), after the last output update.
    with notebook.page.expect_download():
        panel.root.get_by_role("button", name="Download transcript").click()
    assert notebook.page.evaluate(_LISTENING_VIEWS) == 1
    expect(panel.replies).to_have_count(4)


def test_math_quotes_and_code_stand_out_in_both_themes(
    notebook: Notebook, server: ServerHandle, page_log: PageLog
) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    text = "Euler: $e^{i\\pi} + 1 = 0$\n\n> a quoted line\n\n```python\nx = 1\n```\n"
    reply = panel.send("/echo " + text)
    panel.wait_finished(reply)
    expect(reply.locator(".nbchat-math .katex")).to_have_count(1)
    expect(reply.locator(".nbchat-math")).to_have_attribute("aria-label", "e^{i\\pi} + 1 = 0")
    assert page_log.remote_requests == []  # KaTeX fetches no fonts
    quote = reply.locator("blockquote")
    assert quote.evaluate("q => parseFloat(getComputedStyle(q).borderLeftWidth)") >= 2

    def contrast() -> float:
        code = reply.locator(".nbchat-code").evaluate(_BACKGROUND)
        message = reply.evaluate(_BACKGROUND)
        return abs(luminance(code) - luminance(message))

    assert contrast() > 0.02
    notebook.set_theme(DARK)
    assert contrast() > 0.02


# How the kernel goes away under a streaming reply: restarted or shut down from JupyterLab (what
# the Kernel menu runs), or dead (the server notices and starts a new one).
_SESSION = "window.jupyterapp.shell.currentWidget.sessionContext"
_RESTART = f"() => {_SESSION}.restartKernel()"
_SHUT_DOWN = f"() => {_SESSION}.shutdown()"


@pytest.mark.parametrize("how", ["restart", "death", "shutdown"])
def test_kernel_gone_while_streaming(notebook: Notebook, server: ServerHandle, how: str) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    reply = panel.send("/stream 600 20 40")  # ~24 s of reply
    shown = panel.wait_grown(200)
    if how == "restart":
        notebook.page.evaluate(_RESTART)
    elif how == "shutdown":
        notebook.page.evaluate(_SHUT_DOWN)
    else:
        notebook.start_cell(1, "import os\nos._exit(1)")

    expect(panel.root).to_have_attribute("data-status", "disconnected")
    expect(reply).to_have_attribute("data-status", "interrupted")
    expect(reply.locator('[data-testid="streaming"]')).to_have_count(0)
    assert len(ChatPanel.text(reply)) >= shown  # the partial text stays
    expect(reply.locator('[data-testid="error"]')).to_contain_text("Re-run the cell")
    expect(panel.root.locator('[data-testid="notice"]')).to_contain_text("Re-run the cell")
    expect(panel.stop_button).to_be_hidden()
    expect(panel.send_button).to_be_disabled()
    expect(panel.input).to_be_disabled()

    if how == "death":  # JupyterLab says so in a dialog as well
        notebook.page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()
    # Running the cell again gives a working panel on the new kernel.
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    expect(panel.root).to_have_attribute("data-status", "idle")
    panel.wait_finished(panel.send("/echo back"))
    expect(panel.replies.last.locator(".nbchat-markdown")).to_have_text("back")


def test_header_controls_stay_reachable_in_a_narrow_output(
    notebook: Notebook, server: ServerHandle
) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    notebook.page.set_viewport_size({"width": 600, "height": VIEWPORT["height"]})
    try:
        # JupyterLab at 600 px with its file browser open leaves the panel about 230 px.
        notebook.page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
        header = panel.root.locator(".nbchat-header")
        expect(header).to_be_visible()
        edges = header.evaluate(
            """h => {
              const box = h.getBoundingClientRect();
              return {left: box.left, right: box.right,
                      controls: Array.from(h.querySelectorAll('button, select, label'))
                        .map(c => c.getBoundingClientRect()).map(b => [b.left, b.right])};
            }"""
        )
        assert edges["controls"], edges
        for left, right in edges["controls"]:
            assert edges["left"] - 0.5 <= left and right <= edges["right"] + 0.5, edges
        panel.root.locator('button[aria-label="New conversation"]').click()  # reachable
    finally:
        notebook.page.set_viewport_size(VIEWPORT)
