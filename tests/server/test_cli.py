"""`nbchat serve` and `nbchat demo` as a user runs them: real processes on free ports."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from nbchat.__main__ import _scratch_copy

NBCHAT = str(Path(sys.executable).with_name("nbchat"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, process.communicate()
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the server never answered"
            time.sleep(0.1)


def interrupt(process: subprocess.Popen) -> tuple[int, str]:
    """Ctrl+C, as in a terminal; returns the exit code and everything the process printed."""
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return process.returncode, output


@pytest.fixture
def serve() -> Iterator:
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> tuple[subprocess.Popen, str]:
        port = free_port()
        process = subprocess.Popen(
            [NBCHAT, "serve", "--port", str(port), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        return process, url

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_serve_answers_both_formats_and_stops_on_ctrl_c(serve) -> None:
    process, url = serve()
    created = httpx.post(f"{url}/api/chats", json={"userId": "u"})
    assert created.status_code == 201
    agents = httpx.post(f"{url}/chat/stream", json={"agent_id": "ag_demo", "message": "/echo up"})
    assert agents.text.startswith('data: {"type": "text", "content": "up"}\n\n')
    code, output = interrupt(process)
    assert code == 0
    assert output.startswith(f"nbchat reference server on {url} (Ctrl+C to stop)\n")
    assert "Traceback" not in output
    assert '"POST /chat/stream HTTP/1.1" 200' in output


def test_serve_speaks_openai_and_the_variant_vocabulary(serve) -> None:
    process, url = serve("--vocabulary", "variant")
    body = {"model": "demo", "messages": [{"role": "user", "content": "/echo up"}]}
    answer = httpx.post(f"{url}/v1/chat/completions", json=body)
    assert answer.json()["choices"][0]["message"]["content"] == "up"
    agents = httpx.post(f"{url}/chat/stream", json={"agent_id": "ag_demo", "message": "/echo up"})
    assert agents.text.startswith('data: {"type": "content", "content": "up"}\n\n')
    assert interrupt(process)[0] == 0


def test_serve_with_token_rate_limit_and_delay(serve) -> None:
    process, url = serve("--token", "tok-123", "--rate-limit", "2", "--delay", "0.05")
    assert httpx.post(f"{url}/api/chats", json={"userId": "u"}).status_code == 401
    with httpx.Client(cookies={"session": "tok-123"}) as client:
        started = time.monotonic()
        answer = client.post(
            f"{url}/chat/stream", json={"agent_id": "ag_demo", "message": "/stream 10 1"}
        )
        assert answer.status_code == 200 and time.monotonic() - started >= 10 * 0.05
        assert client.post(f"{url}/api/chats", json={"userId": "u"}).status_code == 201
        limited = client.post(f"{url}/api/chats", json={"userId": "u"})
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    code, output = interrupt(process)
    assert code == 0 and "tok-123" not in output


def test_serve_on_a_busy_port_fails_with_a_clear_message() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [NBCHAT, "serve", "--port", str(port)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 1
    assert result.stderr.startswith("nbchat: [Errno 98]")
    assert "Address already in use" in result.stderr


@pytest.fixture
def demo(tmp_path: Path) -> Iterator:
    """Runs `nbchat demo --no-browser ARGS` in a folder with a quickstart notebook; yields a
    function returning the process and its JupyterLab child once that has started. Output goes
    to `demo.log` (a pipe would stay open as long as JupyterLab lives)."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "quickstart.ipynb").write_text("{}")
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    env.pop("NBCHAT_BASE_URL", None)
    started: list[psutil.Process] = []

    def start(*args: str) -> tuple[subprocess.Popen, psutil.Process]:
        with open(tmp_path / "demo.log", "w") as log:
            process = subprocess.Popen(
                [NBCHAT, "demo", "--no-browser", *args],
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(psutil.Process(process.pid))
        deadline = time.monotonic() + 30
        while not (children := started[0].children()):
            assert process.poll() is None, (tmp_path / "demo.log").read_text()
            assert time.monotonic() < deadline, "JupyterLab was not started"
            time.sleep(0.1)
        started.extend(children)
        return process, children[0]

    yield start
    for process in reversed(started):  # JupyterLab first, then the demo
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
            process.wait(10)


def stop(process: subprocess.Popen, signum: int, log: Path) -> tuple[int, str]:
    process.send_signal(signum)
    return process.wait(60), log.read_text()


def test_demo_opens_jupyterlab_on_the_quickstart_pointed_at_its_server(
    demo, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process, lab = demo("--port", str(port))
    wait_until_serving(url, process)
    assert lab.cmdline()[1:4] == ["-m", "jupyterlab", "--no-browser"]
    assert lab.cmdline()[-1] != "notebooks/quickstart.ipynb"
    # JupyterLab works on a scratch copy, never on the repository's notebook.
    scratch = Path(lab.cwd())
    assert scratch.name == ".demo"
    assert (scratch / "quickstart.ipynb").is_file()
    assert (scratch.parent / "notebooks" / "quickstart.ipynb").is_file()
    lab_env = lab.environ()
    assert lab_env["NBCHAT_BASE_URL"] == lab_env["NBCHAT_DEMO_URL"] == url
    assert lab_env["NBCHAT_DIALECT"] == "chats"
    assert lab_env["NBCHAT_MODEL"] and lab_env["NBCHAT_USER_ID"]
    # It prints the quickstart's own URL, which opens the notebook.
    deadline = time.monotonic() + 90
    while "Open the quickstart: " not in (log := (tmp_path / "demo.log").read_text()):
        assert process.poll() is None and time.monotonic() < deadline, log
        time.sleep(0.2)
    printed = log.split("Open the quickstart: ")[1].split()[0]
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/lab/tree/quickstart\.ipynb\?token=\w+", printed)
    base, token = printed.split("/lab/tree/")[0], printed.split("token=")[1]
    notebook = httpx.get(
        f"{base}/api/contents/quickstart.ipynb", params={"token": token, "content": 0}
    )
    assert notebook.status_code == 200 and notebook.json()["type"] == "notebook"
    assert httpx.get(printed).status_code == 200

    code, output = stop(process, signal.SIGINT, tmp_path / "demo.log")
    assert code == 0, output
    assert f"nbchat demo server on {url}; starting JupyterLab\n" in output
    lab.wait(10)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_demo_uses_a_free_port_when_3026_is_taken_and_stops_on_kill(demo, tmp_path: Path) -> None:
    with socket.socket() as blocker:
        with contextlib.suppress(OSError):  # already taken by someone else is just as good
            blocker.bind(("127.0.0.1", 3026))
            blocker.listen()
        process, lab = demo()
        url = lab.environ()["NBCHAT_BASE_URL"]
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":3026")
        created = httpx.post(f"{url}/api/chats", json={"userId": "u"})
        assert created.status_code == 201
    code, output = stop(process, signal.SIGTERM, tmp_path / "demo.log")
    assert code == 0, output
    lab.wait(10)  # a plain kill of the demo takes JupyterLab down too


def test_demo_keeps_the_users_copy_until_reset(tmp_path: Path) -> None:
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "quickstart.ipynb").write_text("original")
    scratch = _scratch_copy(tmp_path, reset=False)
    copy = scratch / "quickstart.ipynb"
    assert copy.read_text() == "original"
    copy.write_text("my experiments")
    assert _scratch_copy(tmp_path, reset=False) == scratch
    assert copy.read_text() == "my experiments"
    assert (tmp_path / "notebooks" / "quickstart.ipynb").read_text() == "original"
    _scratch_copy(tmp_path, reset=True)
    assert copy.read_text() == "original"
