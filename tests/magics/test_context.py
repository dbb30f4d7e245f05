"""Kernel context in a real kernel: DataFrames, cells, outputs and errors in messages, caps,
the token budget, --explain-error, and provenance in the outputs a notebook saves."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from nbchat.server import ServerHandle, start_server

from .conftest import Kernel

FRAME = (
    "import pandas as pd, numpy as np\n"
    "df = pd.DataFrame({'city': ['Oslo', 'Lima', 'Pune'], 'population': [709, 10_092, 7_764]})"
)


def echo(kernel: Kernel, cell: str) -> str:
    """The text a %%chat cell sent: the demo model's /echo returns it verbatim."""
    kernel.ok(f"%%chat -o _sent {cell.partition(chr(10))[0]}\n/echo {cell.partition(chr(10))[2]}")
    return kernel.eval("_sent.text")


def test_a_dataframe_goes_in_with_dtypes_and_a_markdown_table(kernel: Kernel) -> None:
    kernel.ok(FRAME)
    sent = echo(kernel, "\nLook at {df}")
    assert sent.startswith("Look at pandas.DataFrame: 3 rows x 2 columns\ncolumns:\n- city: ")
    assert "- population: int64\nall 3 rows:\n" in sent
    assert "|  1 | Lima   |        10092 |" in sent


def test_numpy_values_and_format_specs(kernel: Kernel) -> None:
    kernel.ok(FRAME + "\narr = np.arange(12.0).reshape(3, 4)\nratio = 2 / 3")
    sent = echo(kernel, "\n{arr}|{ratio:.2f}|{df!r:.12}")
    assert sent.startswith("numpy.ndarray: shape (3, 4), dtype float64\nall values:\n[[ 0.  1.")
    assert sent.endswith("|0.67|   city  pop")  # repr, then the spec cuts it


def test_cells_outputs_and_the_last_result(kernel: Kernel) -> None:
    kernel.ok("6 * 7")
    count = kernel.eval("len(In) - 1")
    assert echo(kernel, f"\n{{In[{count}]}} gave {{Out[{count}]}}") == "6 * 7 gave 42"
    kernel.ok("'the last result'")
    assert echo(kernel, "\nit was: {_}") == "it was: the last result"


def test_err_is_the_last_error_with_its_frames(kernel: Kernel) -> None:
    failing = kernel.run("def ratio(a, b):\n    return a / b\n\nratio(1, 0)")
    assert failing.error is not None and failing.error["ename"] == "ZeroDivisionError"
    count = kernel.eval("len(In) - 1")
    sent = echo(kernel, "\nWhy? {Err}")
    assert sent.startswith("Why? ZeroDivisionError: division by zero\n")
    assert "Traceback (2 frames, most recent call last):" in sent
    assert f"  Cell In[{count}], line 4, in <module>\n    ratio(1, 0)" in sent
    assert f"  Cell In[{count}], line 2, in ratio\n    return a / b" in sent
    assert sent.endswith(f"(raised by cell In[{count}])")
    # A later, successful cell does not replace the last error, nor does a failed chat cell.
    kernel.ok("x = 1")
    assert kernel.run("%%chat\n{no_such_name}").reply["status"] == "error"
    assert echo(kernel, "\n{Err}").startswith("ZeroDivisionError: division by zero")


def test_a_deep_traceback_keeps_the_cell_line_and_the_innermost_frames(kernel: Kernel) -> None:
    kernel.run("def down(n):\n    return 1 / 0 if n == 0 else down(n - 1)\n\ndown(20)")
    sent = echo(kernel, "\n{Err}")
    lines = sent.splitlines()
    assert lines[1] == "Traceback (22 frames, most recent call last):"
    assert lines[2].endswith("line 4, in <module>") and lines[3] == "    down(20)"
    assert lines[4] == "  … 17 frames left out"
    assert sum(line.endswith(", in down") for line in lines) == 4


def test_explain_error_sends_the_failing_cell_and_its_error(kernel: Kernel) -> None:
    kernel.run("values = {'a': 1}\nvalues['b']")
    count = kernel.eval("len(In) - 1")
    sent = echo(kernel, "--explain-error\nWhat is missing?")
    assert sent.startswith(
        "What is missing?\n\n"
        f"The code of cell In[{count}]:\n\n```python\nvalues = {{'a': 1}}\nvalues['b']\n```\n\n"
        "The error it raised:\n\n```\nKeyError: 'b'\n"
    )
    assert sent.endswith(f"(raised by cell In[{count}])\n```")
    # Without a question of its own, the cell asks the usual one.
    kernel.ok("r = %chat --explain-error")
    assert kernel.eval("r.text").startswith("**Turn ")
    assert "Explain this error and how to fix it." in kernel.eval("r.text")


def test_without_an_error_err_and_explain_error_say_so(server: ServerHandle) -> None:
    kernel = Kernel()
    try:
        kernel.ok(f"%load_ext nbchat\n%chat_connect {server.url} --model demo --user-id u")
        started = server.store.stats.started
        for cell in ("%%chat\n{Err}", "%chat --explain-error"):
            execution = kernel.run(cell)
            assert execution.reply["ename"] == "UsageError"
            assert "no cell has raised an error in this kernel yet" in execution.stdout + (
                "".join(m["content"].get("text", "") for m in execution.messages)
            )
        assert server.store.stats.started == started
    finally:
        kernel.shutdown()


def test_values_are_capped_per_cell_and_globally(kernel: Kernel) -> None:
    kernel.ok("long = 'y' * 5000")
    assert echo(kernel, "\n{long}") == "y" * 4000 + "\n[… cut 1,000 of 5,000 characters]"
    assert (
        echo(kernel, "--max-context 10\n{long}") == "y" * 10 + "\n[… cut 4,990 of 5,000 characters]"
    )
    kernel.ok("%chat_context --max-context 20")
    try:
        assert echo(kernel, "\n{long}").startswith("y" * 20 + "\n[… cut 4,980")
        shown = kernel.ok("%chat_context").stdout
        assert shown.startswith(
            "max context per value: 20 characters; max tokens per message: 32,000"
        )
    finally:
        kernel.ok("%chat_context --max-context 4000")
    bad = kernel.run("%%chat --max-context 0\nhi")
    assert bad.reply["ename"] == "UsageError"


def test_over_the_token_budget_nothing_is_sent(kernel: Kernel, server: ServerHandle) -> None:
    kernel.ok("big = 'z' * 3000\nsmall = 'ok'")
    kernel.ok("%chat_context --max-tokens 500")
    try:
        started = server.store.stats.started
        turns = kernel.current("history.__len__()")
        execution = kernel.run("%%chat\nCompare {small} with {big}")
        assert execution.reply["ename"] == "ContextTooLargeError"
        [line] = execution.error["traceback"]  # one line, no frames
        assert "over the limit of 500" in line
        assert "the largest part is {big} at about 750 tokens" in line
        assert server.store.stats.started == started
        assert kernel.current("history.__len__()") == turns
        assert echo(kernel, "\n{small}") == "ok"  # under the limit it sends
    finally:
        kernel.ok("%chat_context --max-tokens 32000")


def test_provenance_is_in_the_output_metadata_and_the_history(
    kernel: Kernel, server: ServerHandle
) -> None:
    execution = kernel.ok("%%chat\nhello provenance")
    [final] = [o for o in execution.visible if o["output_type"] == "display_data"]
    origin = final["metadata"]["nbchat"]
    assert origin["dialect"] == "chats" and origin["model"] == "demo"
    assert origin["server"] == server.url.rstrip("/")
    assert origin["status"] == "complete" and origin["nbchat_version"] == "0.1.0"
    assert origin["message_id"] and "user_message_id" in origin
    assert origin["usage"] is None  # the chats wire format reports no usage; agents does
    assert origin["started_at"].endswith("Z") and origin["started_at"] <= origin["ended_at"]

    kernel.ok("h = %chat_history --json")
    last = kernel.eval("h[-1]")
    assert last["user"] == "hello provenance" and last["reply"].startswith("**Turn ")
    assert {k: last[k] for k in origin} == origin


TOKEN = "tok-9c1e-context-secret"


@pytest.fixture(scope="module")
def token_server() -> Iterator[ServerHandle]:
    with start_server(token=TOKEN) as handle:
        yield handle


def test_provenance_holds_no_secret(token_server: ServerHandle) -> None:
    kernel = Kernel(env={"CONTEXT_TOKEN": TOKEN})
    try:
        kernel.ok("%load_ext nbchat")
        kernel.ok(
            f"%chat_connect {token_server.url} --dialect agents --agent ag_demo "
            "--token-env CONTEXT_TOKEN"
        )
        execution = kernel.ok("%%chat\nhello")
        history = kernel.ok("%chat_history --json")
        [final] = [o for o in execution.visible if o["output_type"] == "display_data"]
        assert final["metadata"]["nbchat"]["server"] == token_server.url.rstrip("/")
        assert final["metadata"]["nbchat"]["dialect"] == "agents"
        assert final["metadata"]["nbchat"]["model"] == "ag_demo"
        assert final["metadata"]["nbchat"]["usage"]["input_tokens"] == 1
        assert TOKEN not in execution.raw() and TOKEN not in history.raw()
        assert json.loads(json.dumps(final["metadata"]))  # JSON-ready
    finally:
        kernel.shutdown()


def test_an_error_raised_before_the_extension_loaded_is_found(server: ServerHandle) -> None:
    kernel = Kernel()
    try:
        assert kernel.run("{}['missing']").error is not None
        kernel.ok(f"%load_ext nbchat\n%chat_connect {server.url} --model demo --user-id u")
        sent = echo(kernel, "\n{Err}")
        assert sent.startswith("KeyError: 'missing'\nTraceback (1 frames")
        assert "Cell In[1], line 1, in <module>" in sent
        assert "raised by cell" not in sent  # IPython kept the exception, not its cell
    finally:
        kernel.shutdown()


def test_context_settings_reject_bad_values(kernel: Kernel) -> None:
    for line in ("%chat_context --max-tokens -1", "%chat_context --max-context 0"):
        assert kernel.run(line).reply["ename"] == "UsageError"
    assert "max tokens per message: 32,000" in kernel.ok("%chat_context").stdout


def test_a_saved_notebook_keeps_provenance_and_no_secret(
    token_server: ServerHandle, tmp_path: Path
) -> None:
    cells = [
        "%load_ext nbchat",
        f"%chat_connect {token_server.url} --dialect agents --agent ag_demo "
        "--token-env CONTEXT_TOKEN",
        "%%chat\nhello from a saved notebook",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, kernel_name="python3", timeout=60)
    client.execute(env={**os.environ, "CONTEXT_TOKEN": TOKEN})
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)

    text = path.read_text()
    assert TOKEN not in text
    [final] = [o for o in nbformat.read(path, as_version=4).cells[2].outputs if o.get("data")]
    origin = final["metadata"]["nbchat"]
    assert origin["dialect"] == "agents" and origin["model"] == "ag_demo"
    assert origin["server"] == token_server.url.rstrip("/") and origin["status"] == "complete"
    assert origin["usage"]["output_tokens"] > 0 and origin["ended_at"] >= origin["started_at"]
