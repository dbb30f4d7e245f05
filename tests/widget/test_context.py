"""Kernel context in the panel: the variables offered for `@`, attachments, budget refusals and
provenance on each reply. The namespace is a real IPython shell's."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

import nbchat
from nbchat.session import session

from .conftest import recorder


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_cell(
        "import pandas as pd, numpy as np\n"
        "sales = pd.DataFrame({'city': ['Oslo', 'Lima'], 'visitors': [1200, 3400]})\n"
        "grid = np.zeros((3, 4))\n"
        "note = 'hello'\n"
        "def helper(): pass\n"
        "_private = 1"
    )
    yield shell
    for name in ("sales", "grid", "note", "helper", "_private", "pd", "np"):
        shell.user_ns.pop(name, None)


def test_the_view_is_offered_the_users_variables(shell: InteractiveShell, make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    comm.from_view({"type": "variables"})
    [reply] = [m for m in comm.customs() if m["type"] == "variables"]
    items = {item["name"]: item["description"] for item in reply["items"]}
    assert items["sales"] == "DataFrame 2x2"
    assert items["grid"] == "ndarray 3x4"
    assert items["note"] == "str[5]"
    # Not offered: functions, modules, private names, IPython's own (In, Out, _i1, ...).
    assert not {"helper", "pd", "np", "_private", "In", "Out", "exit"} & set(items)


def test_attached_variables_are_sent_rendered_and_kept_apart(
    shell: InteractiveShell, make_widget
) -> None:
    widget = make_widget()
    comm = recorder(widget)
    comm.from_view({"type": "send", "text": "/echo compare", "context": ["sales", "grid"]})
    widget.wait(10)

    user, assistant = widget.messages[-2:]
    assert user["text"] == "/echo compare"  # what was typed
    assert [item["name"] for item in user["context"]] == ["sales", "grid"]
    assert user["context"][0]["text"] == nbchat.render(shell.user_ns["sales"])
    # The model got the typed text with the renderings appended (/echo returns it).
    assert assistant["text"] == (
        "compare\n\nAttached from the kernel:\n\n"
        f"`sales`:\n{nbchat.render(shell.user_ns['sales'])}\n\n"
        f"`grid`:\n{nbchat.render(np.zeros((3, 4)))}"
    )
    # While it streamed, the view was told the typed text only.
    [start] = [m for m in comm.customs() if m["type"] == "turn_start"]
    assert start["user"] == "/echo compare"


def test_each_reply_records_its_provenance(make_widget, server) -> None:
    widget = make_widget()
    widget.ask("/echo where from")
    widget.wait(10)
    origin = widget.messages[-1]["provenance"]
    assert origin["dialect"] == "chats" and origin["model"] == "gpt-4"
    assert origin["server"] == server.url.rstrip("/") and origin["status"] == "complete"
    assert origin["message_id"] and origin["started_at"] <= origin["ended_at"]
    assert "provenance" not in widget.messages[-2]


def test_over_the_budget_or_with_a_missing_variable_nothing_is_sent(
    shell: InteractiveShell, make_widget, monkeypatch: pytest.MonkeyPatch
) -> None:
    widget = make_widget()
    comm = recorder(widget)
    shell.user_ns["big"] = pd.DataFrame({"x": range(1000)})
    monkeypatch.setattr(session.budget, "max_tokens", 50)
    try:
        comm.from_view({"type": "send", "text": "look", "context": ["big"]})
        comm.from_view({"type": "send", "text": "look", "context": ["gone"]})
    finally:
        shell.user_ns.pop("big")
    refused = [m for m in comm.customs() if m["type"] == "refused"]
    assert [(m["text"], m["context"]) for m in refused] == [("look", ["big"]), ("look", ["gone"])]
    assert "over the limit of 50" in refused[0]["message"]
    assert "the largest part is @big" in refused[0]["message"]
    assert "@gone: no such variable" in refused[1]["message"]
    assert widget.chat.history == [] and widget.messages == []
    assert widget.status == "idle"


def test_regenerate_attaches_the_same_variables_again(shell: InteractiveShell, make_widget) -> None:
    widget = make_widget()
    widget.ask("/echo hi", context=["note"])
    widget.wait(10)
    assert widget.messages[-1]["text"].endswith("`note`:\nhello")
    shell.user_ns["note"] = "changed since"
    recorder(widget).from_view({"type": "regenerate", "turn": widget.messages[-1]["turn"]})
    widget.wait(10)
    assert len(widget.messages) == 2  # replaced in place
    user, assistant = widget.messages
    assert user["text"] == "/echo hi"
    assert user["context"] == [{"name": "note", "text": "changed since"}]
    assert assistant["text"].endswith("`note`:\nchanged since")
