"""What a notebook keeps of a panel, run headless (nbclient, a real kernel): a readable,
sanitized transcript in the cell output, and small widget state."""

from __future__ import annotations

import json

import nbformat
from nbclient import NotebookClient

from nbchat.server import ServerHandle

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
            f"w.send({HOSTILE!r})\nw.wait(10)\nw.send('/echo second turn')\nw.wait(10);",
        ]
    )
    (output,) = notebook.cells[0].outputs  # updated in place as the turns finished
    data = output["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    markdown, plain = data["text/markdown"], data["text/plain"]
    assert f"chats · model demo · {server.url}" in markdown
    assert "**bold**" in markdown and "second turn" in markdown
    assert "<img" not in markdown and "javascript:" not in markdown  # inert anywhere
    assert "You: /echo second turn" in plain

    model_id = data["application/vnd.jupyter.widget-view+json"]["model_id"]
    states = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    state = states[model_id]["state"]
    transcript = len(json.dumps(state["messages"]))
    size = len(json.dumps(states[model_id]))
    assert size - transcript <= STATE_BUDGET, (size, transcript)
    assert "bold" in json.dumps(state["messages"])
