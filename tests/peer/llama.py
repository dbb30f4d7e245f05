"""Start the real OpenAI-compatible peer: llama-cpp-python's server with Gemma 3 270M.

`scripts/setup-peer` installs it (building llama-cpp-python once; later runs reuse the wheel).
Used by the tests' fixture and by `record.py`, which records its streams as test fixtures.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-peer" / "bin" / "python"
MODEL = "gemma-3-270m"
SEED = 1234
STARTUP_SECONDS = 180

#: A tool the tests and the recorder force the model to call.
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
FORCE_WEATHER = {"type": "function", "function": {"name": "get_weather"}}


class PeerUnavailable(Exception):
    """The peer could not be installed or started; the message says why."""


@dataclass(frozen=True)
class Peer:
    base_url: str  # includes /v1, as OpenAI clients expect
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def install() -> Path:
    """Run scripts/setup-peer (quick once installed); the model file's path."""
    result = subprocess.run(
        [ROOT / "scripts" / "setup-peer"], capture_output=True, text=True, timeout=3600
    )
    if result.returncode != 0:
        raise PeerUnavailable(
            f"scripts/setup-peer failed ({result.returncode}):\n{result.stderr[-4000:]}"
        )
    return Path(result.stdout.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_peer(log: Path) -> Iterator[Peer]:
    """The server on 127.0.0.1 and a free port, at a fixed seed, with interruption of running
    requests off (`--interrupt_requests False`: by default a new request cuts the stream that
    is running)."""
    model = install()
    port = _free_port()
    command = [
        str(PYTHON),
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL,
        "--chat_format",
        "gemma",  # the packaged model is the base model, with no chat template
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--seed",
        str(SEED),
        "--interrupt_requests",
        "False",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # its log is read while it runs
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    peer = Peer(f"http://127.0.0.1:{port}/v1", log)
    try:
        _wait_ready(peer, process)
        yield peer
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(peer: Peer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerUnavailable(
                f"the llama-cpp-python server exited ({process.returncode}):\n{peer.log_tail()}"
            )
        try:
            if httpx.get(f"{peer.base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise PeerUnavailable(
        f"the llama-cpp-python server did not answer in {STARTUP_SECONDS} s:\n{peer.log_tail()}"
    )
