"""Kernel-side tools in the panel, in real JupyterLab: Approve / Deny on the tool cards, then
running (with its elapsed time), done, denied and error, with the results collapsible."""

from __future__ import annotations

from playwright.sync_api import expect

from nbchat.server import start_server

from .chatpanel import ChatPanel, Expr
from .notebook import Notebook

TOOLS = """
import threading
gate = threading.Event()

def price(ticker: str) -> float:
    gate.wait(60)  # held until the test lets it finish, so the card shows it running
    return {"ACME": 101.5}[ticker]

def broken() -> str:
    raise LookupError("no data today")
"""


def test_approve_deny_and_the_card_states(notebook: Notebook) -> None:
    with start_server() as server:
        notebook.run_cell(0, TOOLS)
        panel = ChatPanel.create(
            notebook,
            f"{server.url}/v1",
            cell=1,
            dialect="openai",
            model="demo",
            tools=Expr("[price, broken]"),
            approve="ask",
        )
        reply = panel.send('/tool price {"ticker": "ACME"}\n/tool broken {}')
        cards = reply.locator('[data-testid="tool-card"]')
        expect(cards).to_have_count(2)
        priced, failing = cards.nth(0), cards.nth(1)
        for card in (priced, failing):
            expect(card).to_have_attribute("data-state", "pending")
            expect(card).to_have_attribute("data-approval", "ask")
            expect(card.locator(".nbchat-tool-state")).to_have_text("waiting for approval")
        expect(priced.locator(".nbchat-tool-args")).to_have_text('{\n  "ticker": "ACME"\n}')

        failing.locator('[data-testid="tool-deny"]').click()
        expect(failing).to_have_attribute("data-state", "denied")
        priced.locator('[data-testid="tool-approve"]').click()
        expect(priced).to_have_attribute("data-state", "running")
        expect(priced.locator(".nbchat-tool-state")).to_contain_text("running · ")
        expect(priced.locator("button")).to_have_count(0)
        expect(reply).to_have_attribute("data-status", "streaming")

        notebook.run_cell(2, "gate.set()")  # the kernel stays free while the tool runs
        panel.wait_finished(reply)
        priced, failing = cards.nth(0), cards.nth(1)
        expect(priced).to_have_attribute("data-state", "done")
        expect(priced.locator(".nbchat-tool-state")).to_contain_text("done · ")
        result = priced.locator("details.nbchat-tool-result")
        expect(result.locator("pre")).to_be_hidden()  # collapsed until opened
        result.locator("summary").click()
        expect(result.locator("pre")).to_have_text("101.5")
        expect(failing).to_have_attribute("data-state", "denied")
        expect(failing.locator("details pre")).to_have_text(
            "denied: the user did not allow this call"
        )
        expect(reply.locator(".nbchat-markdown")).to_contain_text("The price tool returned: 101.5")

        second = panel.send("/tool broken {}")
        card = second.locator('[data-testid="tool-card"]')
        card.locator('[data-testid="tool-approve"]').click()
        panel.wait_finished(second)
        expect(card).to_have_attribute("data-state", "error")
        expect(card.locator("details pre")).to_be_visible()  # an error shows at once
        expect(card.locator("details pre")).to_have_text("error: LookupError: no data today")
