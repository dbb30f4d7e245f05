"""The panel in the classic notebook (nbclassic): its own front end and page styles, which
style every `pre` in an output area; a code block in a message must still stand out."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from nbchat.server import ServerHandle

from .chatpanel import ChatPanel, widget_code
from .conftest import PageLog
from .lab import JupyterLab
from .test_panel import CHATS
from .test_widget import _BACKGROUND, luminance

KERNEL_TIMEOUT = 60_000

_KERNEL_IDLE = """() => !!window.Jupyter && !!Jupyter.notebook && !!Jupyter.notebook.kernel
    && Jupyter.notebook.kernel.is_connected() && !Jupyter.notebook.kernel_busy"""


class ClassicNotebook:
    """One notebook open in nbclassic. Cells are filled through its `Jupyter.notebook` API
    (typing into CodeMirror 5 would close brackets) and run with Shift+Enter."""

    def __init__(self, page: Page, server: JupyterLab, name: str) -> None:
        self.page = page
        self.server = server
        self.name = name

    def open(self) -> ClassicNotebook:
        self.page.goto(self.server.tree_url(self.name))
        self.page.wait_for_function(_KERNEL_IDLE, timeout=KERNEL_TIMEOUT)
        return self

    def run_cell(self, index: int, code: str) -> Locator:
        cell = self.page.locator("#notebook .cell").nth(index)
        self.page.evaluate(
            "([i, code]) => Jupyter.notebook.get_cell(i).set_text(code)", [index, code]
        )
        cell.locator(".CodeMirror").click()
        self.page.keyboard.press("Shift+Enter")
        prompt = cell.locator(".input_prompt")
        expect(prompt).to_have_text(re.compile(r"In\s*\[\d+\]"), timeout=KERNEL_TIMEOUT)
        return cell.locator(".output_area")


_NBCLASSIC_ATTACH = re.compile(
    r"^Host is not attached\.\nError: Host is not attached\.\n"
    r"(\s+at .*/nbextensions/jupyter-js-widgets/extension\.js:[\d:]+\)?\n?)+$"
)


@pytest.fixture(scope="module")
def nbclassic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with JupyterLab.running(tmp_path_factory.mktemp("nbclassic"), "nbclassic") as server:
        yield server


@pytest.fixture
def classic(
    request: pytest.FixtureRequest, nbclassic: JupyterLab, page: Page, page_log: PageLog
) -> Iterator[ClassicNotebook]:
    name = nbclassic.write_notebook(f"{request.node.name}.ipynb", [""])
    yield ClassicNotebook(page, nbclassic, name).open()
    nbclassic.shutdown_kernels()
    # nbclassic's widget manager throws while attaching a view to an output it has already
    # replaced (the panel's output is updated after each turn): its own race, in its own code.
    ours = [e for e in page_log.page_errors if not _NBCLASSIC_ATTACH.search(e)]
    assert ours == [], "uncaught errors in the page"


def _panel(notebook: ClassicNotebook, server: ServerHandle) -> ChatPanel:
    output = notebook.run_cell(0, widget_code(server.url, **CHATS))
    panel = ChatPanel(output.locator('[data-testid="nbchat"]'))
    expect(panel.root).to_be_visible()
    return panel


def test_code_blocks_stand_out_in_nbclassic(classic: ClassicNotebook, server: ServerHandle) -> None:
    panel = _panel(classic, server)
    reply = panel.send("/echo Here:\n\n```python\nx = 1\n```\n")
    panel.wait_finished(reply)

    code = reply.locator(".nbchat-code pre")
    expect(code).to_have_text("x = 1")
    code_background = code.evaluate(_BACKGROUND)
    message_background = reply.evaluate(_BACKGROUND)
    assert abs(luminance(code_background) - luminance(message_background)) > 0.02, (
        code_background,
        message_background,
    )
    # nbclassic's `div.output_area pre` rules (margin, padding, border) do not reach it either.
    assert code.evaluate("p => getComputedStyle(p).borderTopWidth") == "0px"


def test_kernel_restart_while_streaming_in_nbclassic(
    classic: ClassicNotebook, server: ServerHandle
) -> None:
    panel = _panel(classic, server)
    reply = panel.send("/stream 600 20 40")
    shown = panel.wait_grown(200)
    classic.page.evaluate("() => Jupyter.notebook.kernel.restart()")
    expect(panel.root).to_have_attribute("data-status", "disconnected")
    expect(reply).to_have_attribute("data-status", "interrupted")
    assert len(ChatPanel.text(reply)) >= shown
    expect(reply.locator('[data-testid="error"]')).to_contain_text("Re-run the cell")
    expect(panel.send_button).to_be_disabled()


def test_keys_typed_after_a_reply_go_to_the_panel_in_nbclassic(
    classic: ClassicNotebook, server: ServerHandle
) -> None:
    """nbclassic renders the updated output (the transcript, after each turn) with a new view:
    the input keeps the focus, so the next keys are not notebook commands (b inserts a cell)."""
    panel = _panel(classic, server)
    cells = classic.page.locator("#notebook .cell")
    old = panel.input.element_handle()
    panel.wait_finished(panel.send("/stream 60 10 20"))
    panel.wait_rebuilt(old)
    count = cells.count()
    classic.page.keyboard.type("bbm")
    expect(panel.input).to_have_value("bbm")
    assert cells.count() == count
