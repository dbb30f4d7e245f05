"""The demo notebooks, executed with a known token, never keep it anywhere.

Sources, outputs, metadata and the saved widget state are all scanned as the JSON a user would
commit. The notebooks read the token from NBCHAT_TEST_TOKEN when it is set.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_notebook_keeps_no_secret(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = f"test-token-{secrets.token_hex(8)}"
    monkeypatch.setenv("NBCHAT_TEST_TOKEN", token)
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    client.execute(env={**os.environ, "NBCHAT_TEST_TOKEN": token})

    saved = tmp_path / path.name
    nbformat.write(notebook, saved)
    text = saved.read_text()
    assert json.loads(text)["cells"], "the notebook did not save"
    assert token not in text


def test_the_scan_has_secrets_to_look_for() -> None:
    users = [p.name for p in NOTEBOOKS if "NBCHAT_TEST_TOKEN" in p.read_text()]
    assert "failures.ipynb" in users
