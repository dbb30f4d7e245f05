"""A loopback HTTP server that answers with scripted bytes, to make real streams misbehave.

Each scripted answer is a status, headers and body steps: bytes to write, a pause, or a cut
(closing the socket mid-body). Requests are recorded so tests can check what was sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Pause:
    seconds: float


class Cut:
    """Close the connection without finishing the body."""


@dataclass
class Script:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/event-stream"})
    body: list[bytes | Pause | Cut] = field(default_factory=list)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def sse(*payloads: dict[str, Any] | str) -> list[bytes | Pause | Cut]:
    """SSE `data:` events for payloads (dicts become JSON)."""
    out: list[bytes | Pause | Cut] = []
    for payload in payloads:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        out.append(f"data: {data}\n\n".encode())
    return out


class FaultServer:
    def __init__(self) -> None:
        self.scripts: dict[str, list[Script]] = {}
        self.requests: list[Recorded] = []
        self.closed_early = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # body ends when the socket closes

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server.requests.append(
                    Recorded(self.command, self.path, dict(self.headers.items()), body)
                )
                queue = server.scripts.get(self.path) or [Script(404, body=[b'{"message":"no"}'])]
                script = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(script.status)
                for name, value in script.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    for step in script.body:
                        if isinstance(step, Pause):
                            time.sleep(step.seconds)
                        elif isinstance(step, Cut):
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        else:
                            self.wfile.write(step)
                            self.wfile.flush()
                except OSError:
                    server.closed_early.set()

            do_GET = do_POST

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def script(self, path: str, *scripts: Script) -> None:
        """Answer `path` with these scripts in turn (the last one repeats)."""
        self.scripts[path] = list(scripts)

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
