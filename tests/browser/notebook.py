"""Drive a notebook in JupyterLab the way a person does: click a cell, type, Shift+Enter, Ctrl+S.

``window.jupyterapp`` (exposed by the test server) is only used to *observe* state that has no DOM
form, such as the kernel status or whether the document is dirty, and to run palette commands.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from .lab import JupyterLab

KERNEL_TIMEOUT = 60_000
CELL_TIMEOUT = 60_000

LIGHT = "JupyterLab Light"
DARK = "JupyterLab Dark"

_KERNEL_IDLE = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle';
}"""
_DIRTY = "() => window.jupyterapp.shell.currentWidget.context.model.dirty"


class Notebook:
    """One open notebook in one page."""

    def __init__(self, page: Page, lab: JupyterLab, name: str) -> None:
        self.page = page
        self.lab = lab
        self.name = name

    # -- opening ---------------------------------------------------------------------------------

    def open(self) -> Notebook:
        """Load the notebook in a fresh workspace and wait for its kernel to be idle."""
        self.page.goto(self.lab.tree_url(self.name))
        expect(self.page.locator(".jp-NotebookPanel")).to_be_visible(timeout=KERNEL_TIMEOUT)
        self.page.wait_for_function(_KERNEL_IDLE, timeout=KERNEL_TIMEOUT)
        return self

    def reload(self) -> Notebook:
        """Reload the browser page (the workspace is reset, the file reopened)."""
        return self.open()

    # -- cells -----------------------------------------------------------------------------------

    def cell(self, index: int) -> Locator:
        return self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-OutputArea-output")

    def run_cell(self, index: int, code: str) -> Locator:
        """Replace the cell's source by typing, run it (Shift+Enter), wait until it has finished.

        Returns the cell's output area. ``insert_text`` types the code as one input event, like a
        paste, so the editor's auto-indent and bracket closing do not rewrite it.
        """
        cell = self.cell(index)
        editor = cell.locator(".cm-content")
        editor.click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.insert_text(code)
        prompt = cell.locator(".jp-InputArea-prompt")
        before = prompt.inner_text()
        self.page.keyboard.press("Shift+Enter")
        # The prompt goes [ ] -> [*] -> [n]; wait for a number different from the one before.
        expect(prompt).not_to_have_text(before, timeout=CELL_TIMEOUT)
        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=CELL_TIMEOUT)
        return cell.locator(".jp-OutputArea")

    def start_cell(self, index: int, code: str) -> None:
        """Replace the cell's source and run it without waiting (for code that never returns)."""
        self.cell(index).locator(".cm-content").click()
        self.page.keyboard.press("ControlOrMeta+a")
        self.page.keyboard.insert_text(code)
        self.page.keyboard.press("Shift+Enter")

    # -- saving ----------------------------------------------------------------------------------

    def save(self) -> dict:
        """Ctrl+S, wait until the document is clean, return the notebook as saved on disk."""
        # Focus the first cell's editor: keys typed inside a widget stay in the widget.
        self.cell(0).locator(".cm-content").click()
        self.page.keyboard.press("ControlOrMeta+s")
        self.page.wait_for_function(f"() => !({_DIRTY})()", timeout=CELL_TIMEOUT)
        return self.lab.read_notebook(self.name)

    # -- looks -----------------------------------------------------------------------------------

    def set_theme(self, theme: str) -> None:
        """Switch the JupyterLab theme through its command and wait until it is applied."""
        self.page.evaluate(
            "theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
        )
        self.page.wait_for_function(
            "theme => document.body.dataset.jpThemeName === theme", arg=theme
        )
        # The theme CSS is loaded asynchronously after the attribute flips; wait for it to apply.
        self.page.wait_for_function(
            "light => (getComputedStyle(document.body).getPropertyValue('--jp-layout-color0')"
            ".trim().toLowerCase() === 'white') === light",
            arg=theme == LIGHT,
        )
        # JupyterLab shows its splash screen while it switches themes.
        expect(self.page.locator("#jupyterlab-splash")).to_have_count(0)

    def screenshot(self, path: Path, target: Locator | None = None) -> bytes:
        path.parent.mkdir(parents=True, exist_ok=True)
        return (target or self.page).screenshot(path=str(path))
