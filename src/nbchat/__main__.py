"""Command line: `nbchat serve` runs the reference server, `nbchat demo` opens the quickstart."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import webbrowser
from collections.abc import Sequence
from pathlib import Path

import httpx

DEFAULT_PORT = 3026  # the port the API pages' examples use
QUICKSTART = Path("notebooks", "quickstart.ipynb")
#: Where the demo keeps its copy of the quickstart, so experiments never touch the repository's
#: notebooks (which the test suite compares with nbval).
SCRATCH = Path(".demo")
LAB_STARTUP_TIMEOUT = 120.0


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
    demo.add_argument("--no-browser", action="store_true", help="print the URL, open no browser")
    demo.add_argument(
        "--reset",
        action="store_true",
        help=f"replace the quickstart copy in {SCRATCH}/ by a fresh one",
    )
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
            "JUPYTER_TOKEN": secrets.token_hex(24),  # known here, so the URL can be printed
        }
        env.setdefault("NBCHAT_MODEL", "demo")
        env.setdefault("NBCHAT_USER_ID", "demo-user")
        lab_port = _free_port()
        command = [sys.executable, "-m", "jupyterlab", "--no-browser"]
        command += [f"--port={lab_port}", "--ServerApp.port_retries=0", "--ip=127.0.0.1"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers often run as root; Jupyter refuses then
        if root is None:
            print(f"{QUICKSTART} not found; opening JupyterLab in {Path.cwd()}", file=sys.stderr)
            workdir, page = Path.cwd(), "lab"
        else:
            workdir = _scratch_copy(root, reset=args.reset)
            page = f"lab/tree/{QUICKSTART.name}"
        print(f"nbchat demo server on {server.url}; starting JupyterLab", flush=True)
        lab = subprocess.Popen(command, cwd=workdir, env=env)
        signal.signal(signal.SIGTERM, _interrupt)  # a plain `kill` must not orphan JupyterLab
        try:
            url = f"http://127.0.0.1:{lab_port}/{page}?token={env['JUPYTER_TOKEN']}"
            if _wait_for_lab(f"http://127.0.0.1:{lab_port}", lab):
                print(f"Open the quickstart: {url}", flush=True)
                if not args.no_browser:
                    webbrowser.open(url)
            return lab.wait()
        except KeyboardInterrupt:
            lab.terminate()
            try:
                lab.wait(30)
            except subprocess.TimeoutExpired:
                lab.kill()
            return 0


def _scratch_copy(root: Path, *, reset: bool) -> Path:
    """`root/.demo/` with a copy of the quickstart (kept across runs unless `reset`)."""
    scratch = root / SCRATCH
    scratch.mkdir(exist_ok=True)
    copy = scratch / QUICKSTART.name
    if reset or not copy.exists():
        shutil.copyfile(root / QUICKSTART, copy)
    else:
        print(f"Using your copy {copy} (--reset for a fresh one)", flush=True)
    return scratch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_lab(url: str, lab: subprocess.Popen[bytes]) -> bool:
    """True once JupyterLab answers; False if it exited first or took too long."""
    deadline = time.monotonic() + LAB_STARTUP_TIMEOUT
    while time.monotonic() < deadline and lab.poll() is None:
        try:
            httpx.get(f"{url}/api", timeout=2.0)
            return True
        except httpx.TransportError:
            time.sleep(0.2)
    return False


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
