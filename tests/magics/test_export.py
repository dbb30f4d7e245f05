"""An executed notebook of hostile replies exports to inert HTML (`jupyter nbconvert --to html`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup
from hostile import CASES, REMOTE, html_problems
from nbclient import NotebookClient

from nbchat.server import ServerHandle

from .conftest import connect_line


def test_nbconvert_html_export_of_hostile_replies_is_inert(
    tmp_path: Path, server: ServerHandle
) -> None:
    cells = [
        "%load_ext nbchat\n" + connect_line(server),
        *(
            f"%%chat --no-interpolate -o {name.replace('-', '_')}\n/echo {text}"
            for name, text in CASES.items()
        ),
        "%%chat\n/xss",
        "fence_trailing_backtick",  # a Reply shown as a value
        "%chat_history",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    NotebookClient(notebook, kernel_name="python3", timeout=60).execute()
    path = tmp_path / "hostile.ipynb"
    nbformat.write(notebook, path)

    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    page = BeautifulSoup((tmp_path / "hostile.html").read_text(), "html.parser")
    outputs = page.select(".jp-OutputArea-output")
    for output in outputs:
        inner = output.decode_contents()
        assert html_problems(inner) == []
        assert output.select(".jp-Mermaid, pre.mermaid") == []
        for element in output.find_all(True):
            for name, value in element.attrs.items():
                shown = " ".join(value) if isinstance(value, list) else value
                if REMOTE in shown:  # a remote URL may only be a link to click, never a load
                    assert (element.name, name) == ("a", "href")
    rendered = [o for o in outputs if o.get("data-mime-type") == "text/html"]
    # Every reply, /xss, the displayed Reply and the history: each from our HTML only.
    assert len(rendered) == len(CASES) + 3
    assert page.select(".jp-OutputArea-output.jp-RenderedMarkdown") == []
    for output in rendered:
        assert "tex2jax_ignore" in output.div["class"]  # MathJax 2 in the export skips it
