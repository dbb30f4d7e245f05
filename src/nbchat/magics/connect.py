"""`%chat_connect`: from its options to a `Chat`, and the demo server it may start."""

from __future__ import annotations

import os
import threading
from argparse import Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

from ..chat import Chat
from ..errors import NbchatError

if TYPE_CHECKING:
    from ..server import ServerHandle

__all__ = ["DEMO_TARGETS", "DemoServer", "connect", "connect_arguments"]

#: What `%chat_connect --demo` talks to on the built-in server, per dialect.
DEMO_TARGETS: dict[str, dict[str, str]] = {
    "chats": {"model": "demo", "user_id": "notebook"},
    "agents": {"agent_id": "ag_demo"},
}


def connect_arguments(func: Any) -> Any:
    """The options of `%chat_connect`."""
    options = [
        argument("url", nargs="?", help="base URL of the server (default: NBCHAT_BASE_URL)"),
        argument("--dialect", choices=["chats", "agents"]),
        argument("--chat-id"),
        argument("--model"),
        argument("--user-id"),
        argument("--workflow-id"),
        argument("--agent", help="agent id (agents dialect)"),
        argument("--session-id"),
        argument("--cookies", metavar="FILE", help="Netscape cookies.txt (as for curl -b)"),
        argument("--token-env", metavar="NAME", help="environment variable holding the token"),
        argument("--timeout", type=float, default=60.0),
        argument("--demo", action="store_true", help="start the reference server here and use it"),
    ]
    for option in reversed(options):
        func = option(func)
    return magic_arguments()(func)


class DemoServer:
    """The demo server's URL: the one `nbchat demo` runs (NBCHAT_DEMO_URL), else a reference
    server started in this kernel once and reused."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handle: ServerHandle | None = None

    def url(self) -> str:
        from ..server import start_server

        if os.environ.get("NBCHAT_DEMO_URL"):
            return os.environ["NBCHAT_DEMO_URL"]
        with self._lock:
            if self._handle is None or not self._handle.running:
                self._handle = start_server(port=0)
            return self._handle.url


def connect(args: Namespace, demo: DemoServer) -> Chat:
    """The Chat `%chat_connect` options describe; a UsageError says what is wrong."""
    if args.demo and args.url:
        raise UsageError("--demo starts its own server: leave out the URL")
    token = None
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise UsageError(f"the environment variable {args.token_env} is not set")
    url, dialect, defaults = args.url, args.dialect, {}
    if args.demo:
        url, dialect = demo.url(), dialect or "chats"
        defaults = DEMO_TARGETS[dialect]
    try:
        return Chat(
            url,
            dialect=dialect,
            chat_id=args.chat_id,
            model=args.model or defaults.get("model"),
            user_id=args.user_id or defaults.get("user_id"),
            workflow_id=args.workflow_id,
            agent_id=args.agent or defaults.get("agent_id"),
            session_id=args.session_id,
            token=token,
            cookies=args.cookies,
            timeout=args.timeout,
        )
    except NbchatError as exc:
        raise UsageError(str(exc)) from None
