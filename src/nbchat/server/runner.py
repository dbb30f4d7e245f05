"""Run the reference server: in a background thread (notebooks, tests) or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .store import Store

#: Streams still open when the server stops get this long to finish before they are cut.
GRACEFUL_SECONDS = 1


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free port. Binding here means the port is known
    (and any bind error raised) before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(app: Starlette, *, foreground: bool = False) -> uvicorn.Server:
    """A uvicorn server for `app`. In the foreground it logs requests like `uvicorn` does; in
    the background it logs only warnings and leaves the host's (a kernel's) logging alone."""
    config = uvicorn.Config(
        app,
        log_level="info" if foreground else "warning",
        log_config=uvicorn.config.LOGGING_CONFIG if foreground else None,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    return uvicorn.Server(config)


class ServerHandle:
    """A reference server running in a background thread. Use as a context manager or call
    `stop()`; `store` exposes its chats, sessions and stream counters."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        self.app = app
        self.url = url_of(sock)
        self.host, self.port = sock.getsockname()[:2]
        self._socket = sock
        self._server = make_server(app)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="nbchat-server", daemon=True
        )

    @property
    def store(self) -> Store:
        return self.app.state.store

    def _start(self, timeout: float) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._socket.close()
                raise RuntimeError("the nbchat server failed to start")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the nbchat server did not start in time")
            self._thread.join(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread; open streams get GRACEFUL_SECONDS to end."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self._server.should_exit

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<nbchat ServerHandle {self.url} {state}>"


def start_server(
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    delay: float = 0.0,
    rate_limit: int | None = None,
    *,
    rate_window: float = 60.0,
    timeout: float = 10.0,
) -> ServerHandle:
    """Start the reference server in a background thread and return once it accepts requests.

    Loopback and a free port by default. See `create_app` for `token`, `delay` and the rate limit.
    """
    app = create_app(token=token, delay=delay, rate_limit=rate_limit, rate_window=rate_window)
    handle = ServerHandle(app, bind(host, port))
    handle._start(timeout)
    return handle
