"""Command line: `nbchat serve` runs the reference server, `nbchat demo` opens the quickstart."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_PORT = 3026  # the port the API pages' examples use
QUICKSTART = Path("notebooks", "quickstart.ipynb")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nbchat", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the reference server in the foreground")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    serve.add_argument("--token", help="require cookie session=TOKEN or Authorization: Bearer")
    serve.add_argument("--delay", type=float, default=0.0, help="seconds before each delta")
    serve.add_argument("--rate-limit", type=int, help="allow N requests per --rate-window")
    serve.add_argument("--rate-window", type=float, default=60.0, help="seconds (default 60)")
    serve.add_argument(
        "--vocabulary",
        choices=["documented", "variant"],
        default="documented",
        help="how the chats and agents APIs speak: as documented, or as their real servers do",
    )
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="start the server and open the quickstart notebook")
    demo.add_argument("--port", type=int, help=f"server port (default {DEFAULT_PORT} if free)")
    demo.add_argument("--delay", type=float, default=0.02, help="seconds before each delta")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    demo.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except OSError as exc:
        parser.exit(1, f"nbchat: {exc}\n")


def _serve(args: argparse.Namespace) -> int:
    from .server import create_app
    from .server.runner import bind, make_server, url_of

    sock = bind(args.host, args.port)
    app = create_app(
        token=args.token,
        delay=args.delay,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        vocabulary=args.vocabulary,
    )
    print(f"nbchat reference server on {url_of(sock)} (Ctrl+C to stop)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl+C after a clean stop
        make_server(app, foreground=True).run(sockets=[sock])
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .server import start_server

    if importlib.util.find_spec("jupyterlab") is None:
        print("nbchat demo needs JupyterLab: pip install 'nbchat[demo]'", file=sys.stderr)
        return 1
    root = _quickstart_root()
    port = DEFAULT_PORT if args.port is None else args.port
    try:
        server = start_server(port=port, delay=args.delay)
    except OSError:
        if args.port is not None:
            raise
        server = start_server(port=0, delay=args.delay)  # 3026 is taken: any free port will do
    with server:
        # NBCHAT_DEMO_URL tells `%chat_connect --demo` to use this server, not start its own.
        env = {
            **os.environ,
            "NBCHAT_BASE_URL": server.url,
            "NBCHAT_DEMO_URL": server.url,
            "NBCHAT_DIALECT": "chats",
        }
        env.setdefault("NBCHAT_MODEL", "demo")
        env.setdefault("NBCHAT_USER_ID", "demo-user")
        command = [sys.executable, "-m", "jupyterlab"]
        if args.no_browser:
            command.append("--no-browser")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers often run as root; Jupyter refuses then
        if root is None:
            print(f"{QUICKSTART} not found; opening JupyterLab in {Path.cwd()}", file=sys.stderr)
        else:
            command.append(str(QUICKSTART))
        print(f"nbchat demo server on {server.url}; starting JupyterLab", flush=True)
        lab = subprocess.Popen(command, cwd=root, env=env)
        signal.signal(signal.SIGTERM, _interrupt)  # a plain `kill` must not orphan JupyterLab
        try:
            return lab.wait()
        except KeyboardInterrupt:
            lab.terminate()
            try:
                lab.wait(30)
            except subprocess.TimeoutExpired:
                lab.kill()
            return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _quickstart_root() -> Path | None:
    """The checkout this package runs from, else the current directory, if it has the notebook."""
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (root / QUICKSTART).is_file():
            return root
    return None


if __name__ == "__main__":
    sys.exit(main())
