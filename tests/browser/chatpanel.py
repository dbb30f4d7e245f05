"""The ChatWidget as a user sees it, through the DOM hooks documented in js/src/widget.ts."""

from __future__ import annotations

from playwright.sync_api import ElementHandle, Locator, expect

from .notebook import Notebook

REPLY_TIMEOUT = 30_000

# Length of the newest assistant message's rendered text, once it is longer than `min` while
# that message is still streaming; null otherwise (so wait_for_function keeps polling).
_GROWN_WHILE_STREAMING = """([root, min]) => {
    const replies = root.querySelectorAll('[data-testid="message-assistant"]');
    const last = replies[replies.length - 1];
    if (!last || last.dataset.status !== 'streaming') return null;
    const length = last.querySelector('.nbchat-markdown')?.textContent.length ?? 0;
    return length > min ? length : null;
}"""


class Expr(str):
    """A widget argument written into the cell as Python code rather than as a literal."""


def widget_code(server_url: str, **options: object) -> str:
    """Cell source creating a ChatWidget bound to the reference server and displaying it."""
    args = ", ".join(
        f"{key}={value if isinstance(value, Expr) else repr(value)}"
        for key, value in options.items()
    )
    return f"import nbchat\nw = nbchat.ChatWidget(base_url={server_url!r}, {args})\nw"


class ChatPanel:
    def __init__(self, root: Locator) -> None:
        self.root = root
        self.input = root.locator('textarea[aria-label="Message"]')
        self.send_button = root.locator('button[aria-label="Send"]')
        self.stop_button = root.locator('button[aria-label="Stop"]')
        self.new_button = root.locator('button[aria-label="New conversation"]')
        self.user_messages = root.locator('[data-testid="message-user"]')
        self.replies = root.locator('[data-testid="message-assistant"]')

    @classmethod
    def create(
        cls, notebook: Notebook, server_url: str, cell: int = 0, **options: object
    ) -> ChatPanel:
        """Run a cell that displays a ChatWidget and wait until the panel is on screen."""
        output = notebook.run_cell(cell, widget_code(server_url, **options))
        panel = cls(output.locator('[data-testid="nbchat"]'))
        expect(panel.root).to_be_visible()
        return panel

    def send(self, text: str) -> Locator:
        """Type a message, press Enter; return the locator of the reply it starts."""
        before = self.replies.count()
        self.input.click()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.replies).to_have_count(before + 1, timeout=REPLY_TIMEOUT)
        return self.replies.nth(before)

    def wait_finished(self, reply: Locator, status: str = "complete") -> None:
        expect(reply).to_have_attribute("data-status", status, timeout=REPLY_TIMEOUT)
        expect(self.root).to_have_attribute("data-status", "idle", timeout=REPLY_TIMEOUT)

    def wait_grown(self, min_length: int) -> int:
        """Wait until the streaming reply's text is longer than `min_length`; return its length."""
        handle = self.root.element_handle()
        result = self.root.page.wait_for_function(
            _GROWN_WHILE_STREAMING, arg=[handle, min_length], timeout=REPLY_TIMEOUT
        )
        return int(result.json_value())

    def wait_rebuilt(self, old: ElementHandle) -> None:
        """Wait until the view that `old` (an element of it) belongs to has left the page: the
        front end renders the cell's updated output (after each turn) with a new view."""
        self.root.page.wait_for_function("e => !e.isConnected", arg=old, timeout=REPLY_TIMEOUT)
        expect(self.root).to_be_visible()

    @staticmethod
    def text(reply: Locator) -> str:
        return reply.locator(".nbchat-markdown").text_content() or ""
