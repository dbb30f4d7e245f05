"""The widget's core browser tests again, in Notebook 7 (people open notebooks there too).

Same front-end components as JupyterLab, another application shell: the panel must render,
stream, follow the conversation and take the keyboard there as well, and hostile replies in
`%%chat` outputs must stay inert under its renderers (MathJax and mermaid included).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from nbchat.server import ServerHandle

from . import test_output_safety, test_panel, test_widget
from .conftest import PageLog
from .lab import JupyterLab
from .notebook import Notebook
from .test_output_safety import ITEMS
from .test_output_safety import slow_server as slow_server  # a fixture, used by name


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with JupyterLab.running(tmp_path_factory.mktemp("notebook7"), "notebook") as server:
        yield server


@pytest.fixture
def nb(
    request: pytest.FixtureRequest, notebook7: JupyterLab, page: Page, page_log: PageLog
) -> Iterator[Notebook]:
    stacks: list[str] = []
    page.on("pageerror", lambda error: stacks.append(error.stack or ""))
    name = notebook7.write_notebook(f"{request.node.name}.ipynb", [""])
    notebook = Notebook(page, notebook7, name).open()
    assert page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    # Notebook 7.6 itself throws once while loading its settings (in its own core bundle,
    # with no nbchat code on the page yet); anything after that is a failure.
    assert all("/static/notebook/notebook_core." in stack for stack in stacks), stacks
    page_log.page_errors.clear()
    yield notebook
    notebook7.shutdown_kernels()
    assert page_log.page_errors == [], "uncaught errors in the page"


def test_streams_in_notebook7(nb: Notebook, server: ServerHandle) -> None:
    test_widget.test_send_streams_growing_text(nb, server)


def test_keyboard_and_new_in_notebook7(nb: Notebook, server: ServerHandle) -> None:
    test_widget.test_conversation_keyboard_and_new(nb, server)


def test_follows_the_conversation_in_notebook7(nb: Notebook, server: ServerHandle) -> None:
    test_panel.test_follows_the_conversation(nb, server)


@pytest.mark.parametrize("item", list(ITEMS))
def test_issue_cases_stay_inert_in_notebook7(
    item: str, nb: Notebook, slow_server: ServerHandle, page_log: PageLog
) -> None:
    test_output_safety.test_issue_cases_stay_inert_in_jupyterlab(item, nb, slow_server, page_log)


def test_generated_hostile_replies_stay_inert_in_notebook7(
    nb: Notebook, server: ServerHandle, page_log: PageLog
) -> None:
    test_output_safety.test_generated_hostile_replies_stay_inert_in_jupyterlab(nb, server, page_log)


def test_kernel_restart_while_streaming_in_notebook7(nb: Notebook, server: ServerHandle) -> None:
    test_panel.test_kernel_gone_while_streaming(nb, server, "restart")
