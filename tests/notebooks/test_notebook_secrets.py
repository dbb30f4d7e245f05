"""Secrets never stay in an executed notebook, its saved JSON or its HTML export.

The demo notebooks run with a known token (they read NBCHAT_TEST_TOKEN when it is set); then
the secret-leak matrix: a known token (from the environment, with whitespace around it), a
password in the URL's userinfo, and a session cookie from a cookies.txt file, each taken
through a successful reply, a failed request (401, a server that quotes the secret back, a
refused connection), reprs, widget state and `%chat_history` in a real kernel; the notebook is
saved and exported with `jupyter nbconvert --to html`. A gateway that echoes the credentials
into its replies (streamed in small pieces) is the last target. Sources, outputs, metadata and
widget state are scanned as the JSON a user would commit, for every form of the secret (raw,
repr- or JSON-escaped, URL-encoded, hex, base64, HTML references, and mixes a decoder resolves).
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest
from client.faultserver import FaultServer, Script, sse
from client.test_http_errors import free_port
from leaks import assert_no_secret, leaks
from nbclient import NotebookClient

from nbchat.server import ServerHandle, start_server

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))
JUPYTER = str(Path(sys.executable).with_name("jupyter"))


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
    assert_no_secret(text, token)


def test_the_scan_has_secrets_to_look_for() -> None:
    users = [p.name for p in NOTEBOOKS if "NBCHAT_TEST_TOKEN" in p.read_text()]
    assert "failures.ipynb" in users


@pytest.fixture(scope="module")
def secret() -> str:
    return f"sk-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def secured(secret: str) -> Iterator[ServerHandle]:
    """The reference server, accepting the secret as bearer token or session cookie."""
    with start_server(token=secret, delay=0.0) as handle:
        yield handle


def quoted(secret: str) -> str:
    """The secret in the forms servers and gateways quote it back: raw, URL-encoded (either
    case), base64 (alone and of the whole header), hex, and as HTML character references, one
    character at a time (which a Markdown renderer or a browser decodes)."""
    data = secret.encode()
    return " ".join(
        [
            secret,
            quote(secret),
            "".join(f"%{byte:02x}" for byte in data),
            base64.b64encode(data).decode(),
            base64.b64encode(b"Bearer " + data).decode(),
            data.hex(),
            "".join(f"&#{ord(char)};" for char in secret),
            f"{secret[:3]}&#x{ord(secret[3]):x};{secret[4:]}",
        ]
    )


@pytest.fixture(scope="module")
def echo(secret: str) -> Iterator[FaultServer]:
    """A server that refuses every message and quotes the secret back, in several forms."""
    message = json.dumps(
        {"error": "unauthorized", "message": f"rejected credential {quoted(secret)}"}
    )
    refuse = Script(401, {"Content-Type": "application/json"}, [message.encode()])
    with FaultServer() as server:
        for path in ("/chat/stream", "/api/chats"):
            server.script(path, refuse)
        yield server


@pytest.fixture(scope="module")
def gateway(secret: str) -> Iterator[FaultServer]:
    """A server that answers every message with a reply echoing the request's credentials in
    several forms, streamed a few characters at a time (for the agents and chats dialects)."""
    said = f"The gateway saw {quoted(secret)} in your request."
    pieces = [said[i : i + 5] for i in range(0, len(said), 5)]
    agents = sse(*({"type": "text", "content": p} for p in pieces), {"type": "done"})
    chats = sse(*({"type": "content", "delta": p} for p in pieces), {"type": "end"})
    created = json.dumps({"data": {"id": "c1"}}).encode()
    with FaultServer() as server:
        server.script("/chat/stream", Script(body=agents))
        server.script("/api/chats", Script(200, {"Content-Type": "application/json"}, [created]))
        server.script("/api/chats/c1/messages/stream", Script(body=chats))
        yield server


def with_userinfo(url: str, secret: str) -> str:
    return url.replace("http://", f"http://nbuser:{secret}@")


#: How the magics connect to each target, per way of holding the secret. URLs come from the
#: environment into the `urls` variable, so no cell holds a secret.
CONNECT = {
    "env token": "%chat_connect {{urls[{target!r}]}} --dialect agents --agent ag_demo "
    "--token-env NBCHAT_TEST_SECRET",
    "url userinfo": "%chat_connect {{urls[{target!r}]}} --dialect agents --agent ag_demo",
    "cookies": "%chat_connect {{urls[{target!r}]}} --cookies {{cookies}} --model demo "
    "--user-id u-1",
}
TARGETS = ("ok", "echo", "closed", "gateway")


def matrix_notebook(source: str) -> nbformat.NotebookNode:
    cells = [
        "import os, nbchat\n"
        f"urls = {{k: os.environ['NBCHAT_TEST_URL_' + k.upper()] for k in {TARGETS}}}\n"
        "cookies = os.environ['NBCHAT_TEST_COOKIES']",
        "%load_ext nbchat",
    ]
    for name in TARGETS:
        cells += [
            CONNECT[source].format(target=name),
            f"%%chat -o r_{name}\n/echo hello {name}",
            f"print(repr(r_{name}), repr(r_{name}.error), r_{name}.to_dict())\nr_{name}",
            "%chat_connect",
            f"%chat -o line_{name} calculate 1+1",
            f"w_{name} = nbchat.ChatWidget()\nw_{name}",
            "%chat_history",
            "from nbchat.session import current_chat\n"
            "chat = current_chat()\n"
            "print(repr(chat), chat.base_url, repr(chat.history), vars(chat.target))",
        ]
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    return notebook


@pytest.mark.parametrize("source", ["env token", "url userinfo", "cookies"])
def test_no_form_of_a_secret_in_the_saved_notebook_or_its_html(
    source: str,
    secret: str,
    secured: ServerHandle,
    echo: FaultServer,
    gateway: FaultServer,
    tmp_path: Path,
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    urls = dict(zip(TARGETS, (secured.url, echo.url, closed, gateway.url), strict=True))
    if source == "url userinfo":
        urls = {name: with_userinfo(url, secret) for name, url in urls.items()}
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(f"127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{secret}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBCHAT_")}
    env.update({f"NBCHAT_TEST_URL_{name.upper()}": url for name, url in urls.items()})
    env["NBCHAT_TEST_COOKIES"] = str(cookies)
    env["NBCHAT_TEST_SECRET"] = f"  {secret}\r\n"  # as read from a file: whitespace around it

    notebook = matrix_notebook(source)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", allow_errors=True, store_widget_state=True
    )
    client.execute(env=env, cwd=str(tmp_path))

    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    errors = [o["ename"] for o in outputs if o["output_type"] == "error"]
    # The matrix went where it should: replies, refusals and a refused connection.
    assert "ConnectionError" in errors
    assert "AuthenticationError" in errors
    if source != "url userinfo":  # the reference server takes a token or cookie, not Basic
        assert any("hello ok" in str(o) for o in outputs)
    assert notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]

    saved = tmp_path / "matrix.ipynb"
    nbformat.write(notebook, saved)
    subprocess.run(
        [JUPYTER, "nbconvert", "--to", "html", str(saved)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    exported = saved.with_suffix(".html").read_text()
    text = saved.read_text()
    found = {"notebook": leaks(text, [secret]), "html": leaks(exported, [secret])}
    assert found == {"notebook": [], "html": []}
    assert "rejected credential ***" in text  # the quoting server was heard, and masked
    # The gateway's reply was kept, every quoted form masked (base64 keeps its last letters,
    # which also depend on what follows the secret, and its padding).
    said = set(re.findall(r"The gateway saw [^.]*\.", text))
    whole = {s for s in said if s.endswith("in your request.")}
    assert whole and all(
        re.fullmatch(r"The gateway saw (\*\*\*[\w+/=]{0,4} ){8}in your request\.", s) for s in whole
    ), said
