"""What a notebook keeps of a panel, run headless (nbclient, a real kernel): a readable,
sanitized transcript in the cell output, and small widget state."""

from __future__ import annotations

import json

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

from nbchat.errors import ConfigurationError
from nbchat.server import ServerHandle

from .conftest import recorder

#: The widget state one saved panel may add to a notebook, besides its transcript.
STATE_BUDGET = 20_000

HOSTILE = "/echo **bold** <img src=x onerror=alert(1)> [click](javascript:alert(1))"


def run(cells: list[str]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
    return notebook


def test_saved_panel_carries_its_transcript_and_small_state(server: ServerHandle) -> None:
    notebook = run(
        [
            "import nbchat\n"
            f"w = nbchat.ChatWidget(base_url={server.url!r}, dialect='chats', model='demo',"
            " user_id='u1')\nw",
            f"w.ask({HOSTILE!r})\nw.wait(10)\nw.ask('/echo second turn')\nw.wait(10);",
        ]
    )
    (output,) = notebook.cells[0].outputs  # updated in place as the turns finished
    data = output["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    html, plain = data["text/html"], data["text/plain"]
    assert "text/markdown" not in data  # no front end's Markdown parser sees model text
    page = BeautifulSoup(html, "html.parser")
    assert f"chats · model demo · {server.url}" in page.get_text()
    assert page.find("strong", string="bold") is not None and "second turn" in page.get_text()
    assert page.find("img") is None and page.find("script") is None  # inert anywhere
    assert all(
        a.get("href", "").startswith(("http://", "https://")) for a in page.find_all("a", href=True)
    )
    assert "You: /echo second turn" in plain

    model_id = data["application/vnd.jupyter.widget-view+json"]["model_id"]
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    state = states[model_id]["state"]
    transcript = len(json.dumps(state["messages"]))
    size = len(json.dumps(states[model_id]))
    assert size - transcript <= STATE_BUDGET, (size, transcript)
    assert "bold" in json.dumps(state["messages"])


def test_export_formats_stay_inert(make_widget) -> None:
    widget = make_widget()
    widget.ask(HOSTILE)
    widget.wait(10)

    # Markdown is the conversation as written, like JSON: data for the user's own tools.
    markdown = widget.export("markdown")
    assert markdown.startswith("# Chat (chats · model gpt-4 · http://127.0.0.1:")
    assert HOSTILE.removeprefix("/echo ") in markdown

    page = widget.export("html")
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "<strong>bold</strong>" in page
    parsed = BeautifulSoup(page, "html.parser")
    assert parsed.find("img") is None and parsed.find("script") is None
    assert all(not a["href"].startswith("javascript") for a in parsed.find_all("a", href=True))

    data = json.loads(widget.export("json"))
    assert data["backend"].startswith("chats · model gpt-4")
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]

    with pytest.raises(ConfigurationError, match="markdown, html, json"):
        widget.export("pdf")


def test_download_and_front_end_requests_from_the_view(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/echo for the file")
    widget.wait(10)
    comm.from_view({"type": "export", "format": "json"})
    answer = comm.customs()[-1]
    assert (answer["type"], answer["filename"], answer["mime"]) == (
        "export",
        "chat.json",
        "application/json",
    )
    assert json.loads(answer["text"])["messages"][-1]["text"] == "for the file"
    assert "request" not in answer
    comm.from_view({"type": "export", "format": "markdown", "request": "r-1"})
    answer = comm.customs()[-1]
    assert (answer["filename"], answer["request"]) == ("chat.md", "r-1")  # only its view saves

    comm.from_view({"type": "front_end"})
    answer = comm.customs()[-1]
    assert answer["type"] == "front_end" and len(answer["version"]) == 16
    js, css = comm.last_buffers
    assert b"nbchat" in js and b".nbchat" in css
    assert answer["version"] in widget._esm and len(widget._esm) < 8_000  # the loader only
