"""The test JupyterLab itself: widgets render in it, so widget-test failures point at nbchat."""

from __future__ import annotations

from playwright.sync_api import expect

from .notebook import Notebook


def test_ipywidgets_slider_renders(notebook: Notebook) -> None:
    code = "import ipywidgets\nipywidgets.IntSlider(value=7, description='n')"
    output = notebook.run_cell(0, code)
    slider = output.locator(".widget-slider")
    expect(slider).to_be_visible()
    expect(slider.locator(".widget-readout")).to_have_text("7")
