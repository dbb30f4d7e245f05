"""Kernel context in the panel, in real JupyterLab: `@` completion, chips, attached context shown
collapsed on the user's message, and a refused (over-budget) message handed back."""

from __future__ import annotations

from playwright.sync_api import expect

from nbchat.server import ServerHandle

from .chatpanel import ChatPanel
from .notebook import Notebook

CHATS = {"dialect": "chats", "model": "demo", "user_id": "u1"}

VARIABLES = (
    "import numpy as np, pandas as pd\n"
    "sales = pd.DataFrame({'city': ['Oslo', 'Lima'], 'visitors': [1200, 3400]})\n"
    "salaries = [1, 2, 3]\n"
    "grid = np.zeros((3, 4))"
)


def test_at_completion_chips_and_attached_context(notebook: Notebook, server: ServerHandle) -> None:
    notebook.run_cell(0, VARIABLES)
    panel = ChatPanel.create(notebook, server.url, cell=1, **CHATS)
    menu = panel.root.locator('[data-testid="mention-menu"]')
    options = menu.locator('[data-testid="mention-option"]')
    chips = panel.root.locator('[data-testid="chip"]')
    keyboard = notebook.page.keyboard

    panel.input.click()
    keyboard.type("/echo Compare @")
    expect(menu).to_be_visible()
    expect(options.filter(has_text="grid")).to_contain_text("ndarray 3x4")
    expect(options.filter(has_text="sales")).to_contain_text("DataFrame 2x2")
    expect(options.filter(has_text="np")).to_have_count(0)  # modules are not offered
    keyboard.type("sal")
    expect(options).to_have_count(2)  # salaries, sales
    keyboard.type("e")
    expect(options).to_have_count(1)
    keyboard.press("Enter")  # chooses the option; does not send
    expect(menu).to_be_hidden()
    expect(chips).to_have_count(1)
    expect(chips.first).to_have_attribute("data-name", "sales")
    expect(panel.input).to_have_value("/echo Compare ")
    expect(panel.user_messages).to_have_count(0)

    keyboard.type("with @gr")
    expect(options).to_have_count(1)
    options.first.click()
    expect(chips).to_have_count(2)
    panel.root.locator('button[aria-label="Remove grid"]').click()
    expect(chips).to_have_count(1)

    keyboard.press("Enter")  # the menu is closed: this sends
    expect(chips).to_have_count(0)
    reply = panel.replies.first
    panel.wait_finished(reply)
    text = panel.text(reply)
    assert text.startswith("Compare with\nAttached from the kernel:")  # rendered Markdown
    assert "pandas.DataFrame: 2 rows x 2 columns" in text and "numpy" not in text

    user = panel.user_messages.first
    expect(user.locator(".nbchat-user-text")).to_have_text("/echo Compare with ")
    attached = user.locator('[data-testid="attached-context"]')
    expect(attached.locator("summary")).to_have_text("Attached: sales")
    item = attached.locator('[data-testid="attached-item"]')
    expect(item).to_be_hidden()  # collapsed until opened
    attached.locator("summary").click()
    expect(item).to_be_visible()
    expect(item.locator("pre")).to_contain_text("| Oslo   |         1200 |")


def test_an_over_budget_message_comes_back_with_the_reason(
    notebook: Notebook, server: ServerHandle
) -> None:
    notebook.run_cell(
        0, VARIABLES + "\nfrom nbchat.session import session\nsession.budget.max_tokens = 20"
    )
    try:
        panel = ChatPanel.create(notebook, server.url, cell=1, **CHATS)
        panel.input.click()
        keyboard = notebook.page.keyboard
        keyboard.type("/echo look at @sales")
        option = panel.root.locator('[data-testid="mention-option"]')
        expect(option).to_have_attribute("data-name", "sales")
        keyboard.press("Enter")  # choose
        keyboard.press("Enter")  # send
        notice = panel.root.locator('[data-testid="notice"]')
        expect(notice).to_be_visible()
        expect(notice).to_contain_text("over the limit of 20")
        expect(notice).to_contain_text("the largest part is @sales")
        expect(panel.input).to_have_value("/echo look at ")
        expect(panel.root.locator('[data-testid="chip"]')).to_have_attribute("data-name", "sales")
        expect(panel.user_messages).to_have_count(0)
    finally:
        notebook.run_cell(2, "session.budget.max_tokens = 32_000")
