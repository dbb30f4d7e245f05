"""ChatWidget in real JupyterLab + headless Chromium, talking to the reference server."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from client.faultserver import FaultServer, Pause, Script, sse
from playwright.sync_api import Locator, Page, expect

from nbchat.server import ServerHandle, start_server

from .chatpanel import ChatPanel, Expr
from .conftest import PageLog
from .lab import JupyterLab
from .notebook import DARK, Notebook

CHATS = {"dialect": "chats", "model": "demo", "user_id": "u1"}
AGENTS = {"dialect": "agents", "agent_id": "ag_demo"}

# Effective background colour of an element: the first non-transparent one up the tree.
_BACKGROUND = """el => {
    for (let node = el; node; node = node.parentElement) {
        const colour = getComputedStyle(node).backgroundColor;
        if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
    }
    return getComputedStyle(document.body).backgroundColor;
}"""

# Anything in rendered model output that could run code or fetch something on its own.
_ACTIVE_CONTENT = """root => {
    const found = [];
    const forbidden = 'script, iframe, frame, object, embed, form, input, svg, math, style, link,'
        + ' meta, base, video, audio, source';
    for (const reply of root.querySelectorAll('[data-testid="message-assistant"]')) {
        for (const el of reply.querySelectorAll(forbidden)) found.push('<' + el.tagName + '>');
        for (const el of reply.querySelectorAll('*')) {
            for (const attr of el.attributes) {
                const value = attr.value.replace(/\\s+/g, '').toLowerCase();
                if (attr.name.startsWith('on')) found.push(el.tagName + ' ' + attr.name);
                if (value.startsWith('javascript:') || value.includes('url(javascript:'))
                    found.push(el.tagName + ' ' + attr.name + '=' + attr.value);
                if (attr.name === 'style') found.push(el.tagName + ' style');
            }
            if (el.tagName === 'IMG' && /^https?:/i.test(el.getAttribute('src') || ''))
                found.push('remote img ' + el.getAttribute('src'));
        }
    }
    return found;
}"""


def luminance(css_colour: str) -> float:
    """Relative brightness (0 black .. 1 white) of an `rgb()`/`rgba()` colour string."""
    red, green, blue = (float(part) for part in re.findall(r"[\d.]+", css_colour)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def stream_text(count: int, size: int) -> str:
    """The reply of the demo model's `/stream COUNT SIZE`: runs of a, b, c, ..."""
    return "".join("abcdefghijklmnopqrstuvwxyz"[i % 26] * size for i in range(count))


def shown_stream(panel: ChatPanel, reply: Locator) -> str:
    """A `/stream` reply as shown: one long paragraph, which shows in pieces (blocks) past
    4,000 characters, so the line breaks between them are left out."""
    return panel.text(reply).replace("\n", "")


def test_send_streams_growing_text(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    reply = panel.send("/stream 300 20 20")  # 300 deltas of 20 characters, 20 ms apart

    expect(panel.user_messages.last).to_contain_text("/stream 300 20 20")
    expect(reply.locator('[data-testid="streaming"]')).to_be_visible()
    expect(panel.stop_button).to_be_visible()
    expect(panel.send_button).to_be_disabled()
    first = panel.wait_grown(0)
    second = panel.wait_grown(first)
    third = panel.wait_grown(second)
    assert 0 < first < second < third < 6000

    panel.wait_finished(reply)
    assert shown_stream(panel, reply) == stream_text(300, 20)
    expect(reply.locator('[data-testid="streaming"]')).to_have_count(0)
    expect(panel.stop_button).to_be_hidden()
    expect(panel.send_button).to_be_enabled()


def test_conversation_keyboard_and_new(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    panel.input.click()
    keyboard = notebook.page.keyboard
    keyboard.type("first line")
    keyboard.press("Shift+Enter")  # a new line, not a send
    keyboard.type("second line")
    expect(panel.input).to_have_value("first line\nsecond line")
    expect(panel.user_messages).to_have_count(0)
    keyboard.press("Enter")
    expect(panel.input).to_have_value("")
    expect(panel.user_messages).to_have_count(1)
    assert panel.user_messages.first.locator(".nbchat-user-text").text_content() == (
        "first line\nsecond line"
    )
    first = panel.replies.first
    panel.wait_finished(first)
    expect(first).to_contain_text('Turn 1. You said: "first line second line"')
    copy = first.locator('[data-testid="copy-code"]')
    notebook.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy.click()
    expect(copy).to_have_text("Copied")
    clipboard = notebook.page.evaluate("() => navigator.clipboard.readText()")
    assert clipboard == "words = 4  # words in your message"

    second = panel.send("and a follow-up")
    panel.wait_finished(second)
    expect(second).to_contain_text('Before this you said: "first line second line"')

    panel.new_button.click()
    expect(panel.replies).to_have_count(0)
    expect(panel.user_messages).to_have_count(0)
    fresh = panel.send("hello again")
    panel.wait_finished(fresh)
    expect(fresh).to_contain_text("This is the start of our conversation.")


def test_tool_card(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **AGENTS)
    reply = panel.send("calculate 2+3*4")
    panel.wait_finished(reply)

    card = reply.locator('[data-testid="tool-card"]')
    expect(card).to_have_attribute("data-state", "done")
    expect(card.locator(".nbchat-tool-name")).to_have_text("calculator")
    expect(card.locator(".nbchat-tool-args")).to_have_text(
        json.dumps({"expression": "2+3*4"}, indent=2)
    )
    result = card.locator("details")
    expect(result.locator("pre")).to_be_hidden()  # collapsed until asked for
    result.locator("summary").click()
    expect(result.locator("pre")).to_have_text("14")
    expect(reply.locator(".nbchat-markdown").last).to_contain_text("2+3*4 = 14")
    expect(reply.locator('[data-testid="usage"]')).to_contain_text("tokens")


def test_tool_card_pending_until_result(notebook: Notebook) -> None:
    """A tool that takes a while: the card shows pending until its result arrives."""
    with FaultServer() as tool_server:
        tool_server.script(
            "/chat/stream",
            Script(
                body=[
                    *sse(
                        {"type": "tool_call", "name": "calculator", "args": {"expression": "6*7"}}
                    ),
                    Pause(3.0),
                    *sse(
                        {"type": "tool_result", "name": "calculator", "result": "42"},
                        {"type": "text", "content": "It is 42."},
                        {"type": "done", "usage": {"output_tokens": 4}},
                    ),
                ]
            ),
        )
        panel = ChatPanel.create(notebook, tool_server.url, **AGENTS)
        reply = panel.send("what is 6*7?")
        card = reply.locator('[data-testid="tool-card"]')
        expect(card).to_have_attribute("data-state", "pending")
        expect(card.locator('[role="status"]')).not_to_have_text("done")
        expect(reply).to_have_attribute("data-status", "streaming")

        expect(card).to_have_attribute("data-state", "done")
        expect(card.locator('[role="status"]')).to_have_text("done")
        panel.wait_finished(reply)
        expect(card.locator("details pre")).to_have_text("42")
        expect(reply.locator(".nbchat-markdown")).to_have_text("It is 42.")


def test_long_tool_result_is_truncated_until_expanded(notebook: Notebook) -> None:
    result = "".join(f"line {i:04d}\n" for i in range(1000))  # 10,000 characters
    with FaultServer() as tool_server:
        tool_server.script(
            "/chat/stream",
            Script(
                body=sse(
                    {"type": "tool_call", "name": "read_file", "args": {"path": "big.txt"}},
                    {"type": "tool_result", "name": "read_file", "result": result},
                    {"type": "done", "usage": {"output_tokens": 1}},
                )
            ),
        )
        panel = ChatPanel.create(notebook, tool_server.url, **AGENTS)
        reply = panel.send("read big.txt")
        panel.wait_finished(reply)

    details = reply.locator('[data-testid="tool-card"] details')
    details.locator("summary").click()
    shown = details.locator("pre")
    expect(shown).to_be_visible()
    preview = shown.text_content() or ""
    assert preview.endswith("…") and len(preview) < len(result) and result.startswith(preview[:-1])
    details.get_by_role("button", name="Show more").click()
    assert shown.text_content() == result
    expect(details.get_by_role("button", name="Show more")).to_have_count(0)


def test_stop_mid_stream(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    stats = server.store.stats
    cancelled = stats.cancelled
    reply = panel.send("/stream 300 20 20")
    panel.wait_grown(200)
    panel.stop_button.click()

    panel.wait_finished(reply, "stopped")
    expect(reply).to_contain_text("Stopped")
    deadline = time.monotonic() + 10
    while stats.cancelled == cancelled and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stats.cancelled == cancelled + 1, "the server did not see the stream closed"
    # Once the server has given up the stream, the partial text is final.
    stopped_text = panel.text(reply)
    assert 200 < len(stopped_text.strip()) < 6000
    expect(reply.locator(".nbchat-markdown")).to_have_text(stopped_text)
    expect(reply).to_have_attribute("data-status", "stopped")

    after = panel.send("/echo still usable")
    panel.wait_finished(after)
    expect(after.locator(".nbchat-markdown")).to_have_text("still usable")


def test_error_keeps_partial_text_and_retries(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    reply = panel.send("/fail")
    panel.wait_finished(reply, "error")
    expect(reply.locator(".nbchat-markdown")).to_have_text("This reply will stop part way")
    error = reply.locator('[data-testid="error"]')
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_contain_text("the demo model failed on purpose (/fail)")

    failed_turn = reply.get_attribute("data-turn")
    error.locator('button[aria-label="Retry"]').click()  # replaces the turn in place
    expect(panel.replies.last).not_to_have_attribute("data-turn", failed_turn or "")
    panel.wait_finished(panel.replies.last, "error")
    expect(panel.replies).to_have_count(1)
    expect(panel.user_messages).to_have_count(1)
    expect(panel.user_messages.last).to_contain_text("/fail")
    expect(panel.replies.last.locator('[data-testid="error"]')).to_contain_text("on purpose")
    expect(panel.input).to_be_editable()


def test_other_cells_run_while_streaming(notebook: Notebook, server: ServerHandle) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    reply = panel.send("/stream 1000 20 30")  # 30 s unless stopped
    panel.wait_grown(0)
    output = notebook.run_cell(1, "6 * 7")
    expect(output).to_contain_text("42")
    expect(reply).to_have_attribute("data-status", "streaming")  # still going meanwhile
    panel.stop_button.click()
    panel.wait_finished(reply, "stopped")


def test_view_reopened_mid_stream_catches_up(notebook: Notebook, server: ServerHandle) -> None:
    """Reloading the page mid-reply: the new view shows the text so far and keeps streaming."""
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    panel.send("/stream 1000 20 30")  # 30 s unless stopped: outlasts a page reload
    panel.wait_grown(500)
    notebook.save()
    notebook.reload()  # the kernel keeps running; the widget reconnects to it

    reopened = ChatPanel(notebook.output(0).locator('[data-testid="nbchat"]'))
    reply = reopened.replies.first
    expect(reopened.replies).to_have_count(1)
    expect(reply).to_have_attribute("data-status", "streaming")
    caught_up = reopened.wait_grown(500)  # already has the earlier text
    reopened.wait_grown(caught_up)  # and keeps growing
    reopened.stop_button.click()
    reopened.wait_finished(reply, "stopped")
    assert len(reopened.text(reply).strip()) > caught_up
    text = shown_stream(reopened, reply)
    assert text == stream_text(1000, 20)[: len(text)], "deltas lost or repeated in the catch-up"


def test_two_widgets_stream_at_once(notebook: Notebook, server: ServerHandle) -> None:
    first = ChatPanel.create(notebook, server.url, **CHATS)
    second = ChatPanel.create(notebook, server.url, cell=1, **CHATS)
    reply_one = first.send("/stream 500 20 20")  # 10 s each
    reply_two = second.send("/stream 500 20 20")
    # Both are streaming at the same moment, and both grow.
    first.wait_grown(first.wait_grown(0))
    second.wait_grown(second.wait_grown(0))
    expect(reply_one).to_have_attribute("data-status", "streaming")
    first.wait_finished(reply_one)
    second.wait_finished(reply_two)
    assert shown_stream(first, reply_one) == shown_stream(second, reply_two) == stream_text(500, 20)


def test_screen_reader_names_and_keyboard_stop(
    notebook: Notebook, server: ServerHandle, page: Page
) -> None:
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    chat = page.get_by_role("region", name="Chat")
    expect(chat.get_by_role("log")).to_be_visible()
    expect(chat.get_by_role("button", name="New conversation")).to_be_visible()
    expect(chat.get_by_role("checkbox", name="Load remote images")).not_to_be_checked()
    message = chat.get_by_role("textbox", name="Message")
    send = chat.get_by_role("button", name="Send")

    message.focus()
    page.keyboard.press("Tab")  # from the input, Tab goes to Send
    expect(send).to_be_focused()
    message.focus()
    page.keyboard.type("/stream 300 20 20")
    page.keyboard.press("Enter")
    expect(chat.get_by_role("status", name="Reply streaming")).to_be_visible()
    panel.wait_grown(100)
    page.keyboard.press("Escape")  # stops the reply, like the Stop button
    panel.wait_finished(panel.replies.first, "stopped")
    expect(chat.get_by_role("article", name="Assistant replied")).to_contain_text("Stopped")


def test_xss_reply_renders_inert(
    notebook: Notebook, server: ServerHandle, page: Page, page_log: PageLog
) -> None:
    page.route("https://example.com/**", lambda route: route.abort())  # never leave the machine
    panel = ChatPanel.create(notebook, server.url, **CHATS)
    reply = panel.send("/xss")
    panel.wait_finished(reply)

    expect(reply.locator("strong", has_text="bold")).to_be_visible()
    expect(reply).to_contain_text('<script>alert("script tag")</script>')  # shown, as text
    expect(reply.locator('[data-testid="blocked-image"]')).to_have_count(1)
    reply.get_by_text("a javascript link").click()
    assert page.evaluate(_ACTIVE_CONTENT, panel.root.element_handle()) == []
    assert page_log.dialogs == []
    assert page_log.remote_requests == []

    # The request watch does see remote images once the user allows them.
    panel.root.locator('input[aria-label="Load remote images"]').check()
    expect(reply.locator("img")).to_have_attribute("src", "https://example.com/tracker.png")
    deadline = time.monotonic() + 10
    while not page_log.remote_requests and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert page_log.remote_requests == ["https://example.com/tracker.png"]
    assert page_log.dialogs == []


def test_dark_theme_and_screenshots(
    notebook: Notebook, server: ServerHandle, screenshot_dir: Path
) -> None:
    panel = ChatPanel.create(notebook, server.url, **AGENTS)
    for prompt in ("What is 6*7?", "/code", "/echo Math renders too: $e^{i\\pi} + 1 = 0$"):
        panel.wait_finished(panel.send(prompt))
    panel.input.blur()  # no focus ring in the README pictures
    transcript = panel.root.locator('[data-testid="transcript"]')
    light_bg = transcript.evaluate(_BACKGROUND)
    light_text = panel.replies.last.evaluate("el => getComputedStyle(el).color")
    notebook.screenshot(screenshot_dir / "widget.png", panel.root)

    notebook.set_theme(DARK)
    dark_bg = transcript.evaluate(_BACKGROUND)
    dark_text = panel.replies.last.evaluate("el => getComputedStyle(el).color")
    notebook.screenshot(screenshot_dir / "widget-dark.png", panel.root)

    assert luminance(light_bg) > 0.8, light_bg
    assert luminance(dark_bg) < 0.3, dark_bg
    assert luminance(dark_text) > luminance(dark_bg) + 0.4, (dark_text, dark_bg)
    assert luminance(light_text) < luminance(light_bg) - 0.4, (light_text, light_bg)


def test_transcript_survives_save_and_reload(
    notebook: Notebook, lab: JupyterLab, page: Page
) -> None:
    session, token = "session-5ecret-must-not-leak", "token-5ecret-must-not-leak"
    (lab.root / "cookies.txt").write_text(
        f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{session}\n"
    )
    (lab.root / "token.txt").write_text(token)
    with start_server(token=session) as private:  # chats needs the session cookie
        panel = ChatPanel.create(
            notebook,
            private.url,
            **CHATS,
            cookies="cookies.txt",
            token=Expr("open('token.txt').read()"),
        )
        reply = panel.send("/echo kept after reload")
        panel.wait_finished(reply)

    saved = json.dumps(notebook.save())
    assert "kept after reload" in saved
    assert session not in saved and token not in saved

    lab.shutdown_kernels()  # the reopened notebook gets a new kernel: state must come from the file
    notebook.reload()
    restored = ChatPanel(notebook.output(0).locator('[data-testid="nbchat"]'))
    expect(restored.root).to_be_visible()
    expect(restored.user_messages).to_have_count(1)
    expect(restored.user_messages.first).to_contain_text("/echo kept after reload")
    expect(restored.replies).to_have_count(1)
    expect(restored.replies.first).to_have_attribute("data-status", "complete")
    expect(restored.replies.first.locator(".nbchat-markdown")).to_have_text("kept after reload")
    # Its model has no comm on the new kernel: it says so instead of dropping what is typed.
    expect(restored.root).to_have_attribute("data-status", "disconnected")
    expect(restored.root.locator('[data-testid="notice"]')).to_contain_text("Re-run the cell")
    expect(restored.root.locator('textarea[aria-label="Message"]')).to_be_disabled()
    html = page.content()
    assert session not in html and token not in html


def saved_transcripts(saved: dict) -> list[list[tuple[str, str]]]:
    """(role, text) of every ChatWidget transcript in a saved notebook's widget state."""
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return [
        [(m["role"], m["text"]) for m in model["state"]["messages"]]
        for model in state.values()
        if "messages" in model["state"]
    ]


def test_two_views_of_one_widget_agree_and_the_notebook_keeps_every_turn(
    notebook: Notebook, server: ServerHandle
) -> None:
    """Turns are not re-sent as state: each view's model appends what streamed, once."""
    first = ChatPanel.create(notebook, server.url, **CHATS)
    notebook.run_cell(1, "w")  # a second view of the same widget
    second = ChatPanel(notebook.output(1).locator('[data-testid="nbchat"]'))
    expect(second.root).to_be_visible()
    turns = [("/echo one", "one"), ("/echo two", "two"), ("/stream 40 10 10", stream_text(40, 10))]
    for prompt, _ in turns:
        first.wait_finished(first.send(prompt))
    expected = [item for prompt, text in turns for item in (("user", prompt), ("assistant", text))]
    for panel in (first, second):
        expect(panel.replies).to_have_count(3)
        assert [panel.text(r).strip() for r in panel.replies.all()] == [t for _, t in turns]
        expect(panel.replies.last).to_have_attribute("data-status", "complete")

    assert saved_transcripts(notebook.save()) == [expected]

    notebook.reload()  # same kernel: the views get the kernel's list and catch up
    again = [ChatPanel(notebook.output(i).locator('[data-testid="nbchat"]')) for i in range(2)]
    for panel in again:
        expect(panel.replies).to_have_count(3)
    again[1].wait_finished(again[1].send("/echo after reload"))
    for panel in again:
        expect(panel.replies).to_have_count(4)
        expect(panel.replies.last.locator(".nbchat-markdown")).to_have_text("after reload")
    expected += [("user", "/echo after reload"), ("assistant", "after reload")]
    assert saved_transcripts(notebook.save()) == [expected]
