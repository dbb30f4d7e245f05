"""A real JupyterLab server in a subprocess, isolated from the user's Jupyter setup.

Config, data, runtime, settings and workspaces live in a temporary directory so a developer's own
JupyterLab settings never leak into the tests; the lab extensions installed in the virtualenv
(anywidget, ipywidgets) are still found through ``sys.prefix``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

# User settings written before start: widget state is saved with the notebook (needed for the
# save + reload test), no news or update toasts covering the page, every output of a cell shown
# (the fuzz test renders hundreds in one cell; 0, though documented as "all", shows none).
LAB_SETTINGS: dict[str, dict[str, object]] = {
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/apputils-extension/themes": {"theme": "JupyterLab Light"},
    "@jupyterlab/notebook-extension/tracker": {"maxNumberOutputs": 10_000},
}

#: Notebook 7 reads user settings only for the plugins it has, and fails on the others.
NOTEBOOK7_SETTINGS = {
    name: LAB_SETTINGS[name]
    for name in (
        "@jupyter-widgets/jupyterlab-manager/plugin",
        "@jupyterlab/notebook-extension/tracker",
    )
}

STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    """Ask the OS for a free loopback port (JupyterLab is then told to use exactly that one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """Start, reach and stop one JupyterLab server rooted at ``base / "root"``; with
    ``app="notebook"``, a Notebook 7 server (same front-end components, other page layout);
    with ``app="nbclassic"``, the classic notebook (its own front end, at /nbclassic/)."""

    def __init__(self, base: Path, app: str = "jupyterlab") -> None:
        self.app = app
        self.base = base
        self.root = base / "root"
        self.settings_dir = base / "config" / "lab" / "user-settings"
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base / "jupyterlab.log"
        self._proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for name, values in (
            LAB_SETTINGS if self.app == "jupyterlab" else NOTEBOOK7_SETTINGS
        ).items():
            path = self.settings_dir / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "JUPYTER_CONFIG_DIR": str(self.base / "config"),
            "JUPYTER_DATA_DIR": str(self.base / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.base / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(self.settings_dir),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.base / "workspaces"),
        }
        # The kernel must not pick up a developer's nbchat connection settings.
        for key in list(env):
            if key.startswith("NBCHAT_"):
                del env[key]
        cmd = [
            sys.executable,
            "-m",
            self.app,
            "--no-browser",
            "--allow-root",  # containers and CI often run as root; harmless otherwise
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            *(
                ["--JupyterNotebookApp.expose_app_in_browser=True"]
                if self.app == "notebook"
                else []
                if self.app == "nbclassic"
                else [
                    "--LabApp.news_url=None",
                    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                    "--LabApp.expose_app_in_browser=True",
                ]
            ),
        ]
        log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log_tail()}")
            try:
                if self.api("GET", "/api/status", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"JupyterLab not up after {STARTUP_TIMEOUT}s:\n{self.log_tail()}")

    @classmethod
    @contextlib.contextmanager
    def running(cls, base: Path, app: str = "jupyterlab") -> Iterator[JupyterLab]:
        """A started server, stopped on leaving the block."""
        server = cls(base, app)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def stop(self) -> None:
        """Shut down through the REST API (kernels included), then make sure the process is gone."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            self.api("POST", "/api/shutdown", timeout=5.0)
            proc.wait(timeout=15)
        except (httpx.TransportError, subprocess.TimeoutExpired):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # -- REST ------------------------------------------------------------------------------------

    def api(self, method: str, path: str, *, timeout: float = 10.0) -> httpx.Response:
        headers = {"Authorization": f"token {self.token}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=timeout)

    def shutdown_kernels(self) -> None:
        """Delete every session (and its kernel), e.g. so a reopened notebook starts cold."""
        for session in self.api("GET", "/api/sessions").json():
            self.api("DELETE", f"/api/sessions/{session['id']}")

    # -- notebooks -------------------------------------------------------------------------------

    def write_notebook(self, name: str, cells: list[str]) -> str:
        """Write an .ipynb of unexecuted code cells into the root dir; return its name."""
        nb = {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {
                "kernelspec": {
                    "name": "python3",
                    "display_name": "Python 3 (ipykernel)",
                    "language": "python",
                },
                "language_info": {"name": "python"},
            },
            "cells": [
                {
                    "cell_type": "code",
                    "id": f"cell-{i}",
                    "metadata": {},
                    "execution_count": None,
                    "outputs": [],
                    "source": source,
                }
                for i, source in enumerate(cells)
            ],
        }
        (self.root / name).write_text(json.dumps(nb, indent=1))
        return name

    def read_notebook(self, name: str) -> dict:
        return json.loads((self.root / name).read_text())

    def tree_url(self, name: str) -> str:
        """URL opening ``name`` in a fresh workspace (``reset`` drops the previous layout)."""
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        if self.app == "nbclassic":
            return f"{self.url}/nbclassic/notebooks/{name}?token={self.token}"
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"
