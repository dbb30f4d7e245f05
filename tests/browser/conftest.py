"""Browser tests: one real JupyterLab and one headless Debian Chromium for the whole session."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Dialog, Page, Request, expect, sync_playwright

from .chromium import VIEWPORT, launch
from .lab import JupyterLab
from .notebook import LIGHT, Notebook

HERE = Path(__file__).parent

# JupyterLab on a busy 2-core CI machine can be slow; waits end as soon as their condition holds.
expect.set_options(timeout=15_000)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives real JupyterLab in headless Chromium")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


# Package scope: the server and the browser go away after the last browser test. Playwright's sync
# API keeps an event loop running in this thread while it is open, which would break asyncio
# tests collected after these.
@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with JupyterLab.running(tmp_path_factory.mktemp("jupyterlab")) as server:
        yield server


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


#: Requests for anything but the loopback servers the tests start; they are aborted.
OFF_MACHINE = re.compile(r"^(?!https?://(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/])https?:")


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class PageLog:
    """What the page did that a safe page must not: dialogs, off-machine requests, JS errors."""

    dialogs: list[str] = field(default_factory=list)
    remote_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def page(browser: Browser, page_log: PageLog) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    page = context.new_page()

    def on_dialog(dialog: Dialog) -> None:
        page_log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_request(request: Request) -> None:
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and not _is_loopback(
            request.url
        ):
            page_log.remote_requests.append(request.url)

    page.on("dialog", on_dialog)
    page.on("request", on_request)
    # Recorded by on_request, then never sent, whatever asked for it.
    context.route(OFF_MACHINE, lambda route: route.abort())
    page.on("pageerror", lambda error: page_log.page_errors.append(f"{error}\n{error.stack}"))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def notebook(
    request: pytest.FixtureRequest, lab: JupyterLab, page: Page, page_log: PageLog
) -> Iterator[Notebook]:
    """A fresh notebook with one empty code cell, named after the test, open in light theme.

    Afterwards its kernel is shut down, and the test errors if the page threw uncaught JS errors.
    """
    name = lab.write_notebook(f"{request.node.name}.ipynb", [""])
    nb = Notebook(page, lab, name).open()
    if page.evaluate("() => document.body.dataset.jpThemeName") != LIGHT:
        nb.set_theme(LIGHT)
    yield nb
    lab.shutdown_kernels()
    assert page_log.page_errors == [], "uncaught errors in the page"


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where screenshots go: $NBCHAT_SCREENSHOT_DIR (`docs` for the README) or test-results/."""
    return Path(os.environ.get("NBCHAT_SCREENSHOT_DIR") or HERE.parents[1] / "test-results")
