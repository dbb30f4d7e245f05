"""A notebook of %%chat cells runs headless and passes nbval: its outputs are deterministic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELLS = [
    "%load_ext nbchat",
    "%chat_connect --demo",
    "%%chat\nWhat can you do?",
    "%%chat -o r\ncalculate 2+3*4",
    "r.text",
    "%%chat --format text\n/code",
    "%chat_history --last 1",
]


def test_executed_notebook_passes_nbval(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
    path = tmp_path / "chat.ipynb"
    nbformat.write(notebook, path)

    outputs = [cell.outputs for cell in notebook.cells]
    assert outputs[:2] == [[], []]
    # A %%chat cell keeps its (emptied) live output and the final one; nothing else.
    for index in (2, 3, 5):
        live, final = outputs[index]
        assert (live["output_type"], live["data"]) == ("display_data", {})
        assert final["output_type"] == "display_data"
    assert set(outputs[2][1]["data"]) == {"text/plain", "text/html"}
    assert set(outputs[5][1]["data"]) == {"text/plain"}
    assert outputs[4][0]["data"]["text/plain"] == "'Let me use the calculator. `2+3*4` = **14**.'"

    # nbval runs the notebook again in a fresh kernel and compares every output.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(CELLS)} passed" in done.stdout
