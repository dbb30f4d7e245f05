"""ChatWidget in real JupyterLab with the openai dialect: reasoning collapsed under "Thinking",
tool-call arguments growing while they stream, a note for a cut-off reply, and citations."""

from __future__ import annotations

import json
from typing import Any

from client.faultserver import FaultServer, Pause, Script, sse
from playwright.sync_api import expect

from nbchat.server import start_server

from .chatpanel import ChatPanel, Expr
from .notebook import Notebook


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"id": "chatcmpl-b", "object": "chat.completion.chunk", "choices": [choice]})


def fragment(arguments: str, call_id: str | None = None, name: str | None = None) -> str:
    """One streamed piece of a tool call (OpenAI sends the id and name with the first)."""
    function = {"arguments": arguments} | ({"name": name} if name else {})
    call: dict[str, Any] = {"index": 0, "function": function}
    if call_id:
        call |= {"id": call_id, "type": "function"}
    return chunk({"tool_calls": [call]})


def test_reasoning_and_growing_tool_arguments(notebook: Notebook) -> None:
    with FaultServer() as fake:
        body = [
            *sse(chunk({"role": "assistant", "reasoning_content": "The user wants "})),
            *sse(chunk({"reasoning_content": "a product."})),
            *sse(fragment("", "call_1", "calculator")),
            *sse(fragment('{"expression": ')),
            Pause(2.5),
            *sse(fragment('"6*7"}')),
            Pause(1.0),
            *sse(chunk({}, "tool_calls"), "[DONE]"),
        ]
        fake.script("/v1/chat/completions", Script(body=body))
        panel = ChatPanel.create(notebook, f"{fake.url}/v1", dialect="openai", model="m")
        reply = panel.send("what is 6*7?")
        card = reply.locator('[data-testid="tool-card"]')
        expect(card.locator(".nbchat-tool-args")).to_have_text('{"expression": ')
        expect(card).to_have_attribute("data-state", "pending")
        thinking = reply.locator('[data-testid="reasoning"]')
        expect(thinking.locator("summary")).to_have_text("Thinking")
        expect(thinking.locator(".nbchat-reasoning-text")).to_be_hidden()  # collapsed
        expect(reply).to_have_attribute("data-status", "streaming")

        panel.wait_finished(reply)
        card = reply.locator('[data-testid="tool-card"]')
        expect(card.locator(".nbchat-tool-args")).to_have_text(
            json.dumps({"expression": "6*7"}, indent=2)
        )
        expect(card).to_have_attribute("data-state", "requested")
        thinking = reply.locator('[data-testid="reasoning"]')
        thinking.locator("summary").click()
        expect(thinking.locator(".nbchat-reasoning-text")).to_have_text("The user wants a product.")


def test_cut_off_note_and_sources(notebook: Notebook) -> None:
    with start_server(vocabulary="variant") as server:
        panel = ChatPanel.create(
            notebook,
            f"{server.url}/v1",
            dialect="openai",
            model="demo",
            params=Expr('{"max_tokens": 2}'),
        )
        reply = panel.send("/echo one two three")
        panel.wait_finished(reply)
        expect(reply.locator(".nbchat-markdown")).to_have_text("one two")
        expect(reply.locator('[data-testid="cut-off"]')).to_contain_text("Cut off")

        cited = ChatPanel.create(
            notebook, server.url, cell=1, dialect="chats", model="m", user_id="u"
        )
        answer = cited.send("/cite")
        cited.wait_finished(answer)
        links = answer.locator('[data-testid="sources"] a')
        expect(links).to_have_count(2)
        expect(links.first).to_have_text("Project Jupyter")
        expect(links.first).to_have_attribute("href", "https://jupyter.org/")
        expect(links.first).to_have_attribute("rel", "noopener noreferrer nofollow")
