"""Kernel-side tools in the panel's protocol: tool records carry their state to the views, and
the view's Approve / Deny (`{"type": "decide"}`) lets a waiting call run or denies it."""

from __future__ import annotations

from typing import Any

import nbchat
from nbchat.server import ServerHandle
from nbchat.widget import ChatWidget

from .conftest import recorder, wait_for


def price(ticker: str) -> float:
    """The latest price of a ticker."""
    return {"ACME": 101.5, "INITECH": 7.25}[ticker]


def openai_chat(server: ServerHandle) -> nbchat.Chat:
    options = {"model": "demo", "tools": [price], "approve": "ask"}
    return nbchat.Chat(f"{server.url}/v1", dialect="openai", **options)


def tool_updates(customs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [tool for m in customs if m["type"] == "delta" for tool in m.get("tools", [])]


def test_approve_and_deny_from_the_view(make_widget, server: ServerHandle) -> None:
    widget: ChatWidget = make_widget(openai_chat(server))
    comm = recorder(widget)
    widget.ask('/tool price {"ticker": "ACME"}\n/tool price {"ticker": "INITECH"}')

    def waiting() -> list[dict[str, Any]]:
        latest = {u["index"]: u for u in tool_updates(comm.customs())}
        return [u for u in latest.values() if u.get("status") == "pending"]

    wait_for(lambda: len(waiting()) == 2)  # both cards wait, with their arguments
    first, second = sorted(waiting(), key=lambda u: u["index"])
    assert first["args"] == {"ticker": "ACME"} and second["args"] == {"ticker": "INITECH"}
    comm.from_view({"type": "decide", "id": second["id"], "approved": False})
    comm.from_view({"type": "decide", "id": first["id"], "approved": True})
    reply = widget.wait(10)
    assert reply is not None and reply.status == "complete"
    assert [(c.status, c.result) for c in reply.tool_calls] == [
        ("done", "101.5"),
        ("denied", "denied: the user did not allow this call"),
    ]
    # The final states reach the views with the commit (a delta still pending is not sent).
    committed = widget.messages[-1]["tool_calls"]
    assert [(c["status"], c["done"]) for c in committed] == [("done", True), ("denied", True)]
    assert committed[0]["elapsed"] is not None and committed[1]["elapsed"] is None
    widget.decide(first["id"], True)  # too late: logged, nothing happens
    assert widget.status == "idle"


def test_stop_cancels_a_call_waiting_for_approval(make_widget, server: ServerHandle) -> None:
    widget: ChatWidget = make_widget(openai_chat(server))
    comm = recorder(widget)
    widget.ask('/tool price {"ticker": "ACME"}')
    wait_for(lambda: any(u.get("status") == "pending" for u in tool_updates(comm.customs())))
    comm.from_view({"type": "stop"})
    reply = widget.wait(10)
    assert reply is not None and reply.status == "stopped"
    assert widget.messages[-1]["tool_calls"][0]["status"] == "cancelled"
