"""`%chat_connect`: from its options to a `Chat`, and the demo server it may start."""

from __future__ import annotations

import os
import threading
from argparse import Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..chat import Chat
from ..dialects import DEFAULT_DIALECT, DIALECTS, Dialect, connection_settings
from ..errors import NbchatError
from ..settings import Setting, from_environment, missing

if TYPE_CHECKING:
    from ..server import ServerHandle

__all__ = ["DEMO_TARGETS", "DemoServer", "connect", "connect_parser"]

#: What `%chat_connect --demo` talks to on the built-in server, per dialect.
DEMO_TARGETS: dict[str, dict[str, str]] = {
    "chats": {"model": "demo", "user_id": "notebook"},
    "agents": {"agent_id": "ag_demo"},
}

DESCRIPTION = """Choose the conversation the magics use. With no arguments, show the current one.

Every dialect's settings are flags here, declared once by the dialect; a secret is never typed
in: `--token-env NAME` reads the token from the environment variable NAME.
"""


def _flags() -> dict[str, tuple[Setting, list[str], list[str]]]:
    """Every setting any registered dialect declares, by argparse destination, with the
    dialects that declare it and all their variables (the connection settings first)."""
    flags: dict[str, tuple[Setting, list[str], list[str]]] = {}
    for name, kind in DIALECTS.items():
        for item in (*connection_settings(kind), *kind.declared()):
            dest = item.option if not item.option.startswith("-") else item.name
            _, names, env = flags.setdefault(dest, (item, [], []))
            names.append(name)
            env.extend(e for e in item.env if e not in env)
    return flags


def connect_parser() -> MagicArgumentParser:
    """The parser for `%chat_connect`, made from the dialects' declarations when called, so a
    dialect registered later gets its flags too."""
    epilog = "dialects:\n" + "\n".join(
        f"  {name}: {kind.summary.replace('`', '')}" for name, kind in DIALECTS.items()
    )
    parser = MagicArgumentParser(prog="%chat_connect", description=DESCRIPTION, epilog=epilog)
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    parser.add_argument(
        "--dialect",
        choices=list(DIALECTS),
        help=f"wire format (default: NBCHAT_DIALECT, else {DEFAULT_DIALECT})",
    )
    for dest, (item, names, variables) in _flags().items():
        where = "" if len(names) == len(DIALECTS) else f"{', '.join(names)}; "
        env = " or ".join(variables)
        extra = f" [{where}{env}]" if where or env else ""
        if dest == item.option:  # positional
            parser.add_argument(dest, nargs="?", help=item.help + extra)
        else:
            metavar = "NAME" if item.secret else item.name.upper()
            text = f"environment variable holding the {item.help}" if item.secret else item.help
            parser.add_argument(item.option, dest=dest, metavar=metavar, help=text + extra)
    parser.add_argument(
        "--demo", action="store_true", help="start the reference server here and use it"
    )
    return parser


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


def connect(args: Namespace, demo: DemoServer) -> tuple[Chat, str | None]:
    """The Chat the parsed `%chat_connect` options describe, and the name of the variable its
    token came from. Every problem is a UsageError that names the flag to fix."""
    url = getattr(args, "url", None)
    if args.demo and url:
        raise UsageError("--demo starts its own server: leave out the URL")
    name = args.dialect or os.environ.get("NBCHAT_DIALECT") or DEFAULT_DIALECT
    if args.demo:
        name = args.dialect or "chats"
    if name not in DIALECTS:
        raise UsageError(f"unknown dialect {name!r}; known: {', '.join(DIALECTS)}")
    kind = DIALECTS[name]
    given = _given(args, kind)
    token_env = next((text for item, text in _flag_values(args) if item.secret), None)
    if args.demo:
        given = {**DEMO_TARGETS.get(name, {}), **given, "base_url": demo.url()}
    known = (*connection_settings(kind), *kind.declared())
    try:
        values = from_environment(known, given, os.environ)
    except NbchatError as exc:
        raise UsageError(str(exc)) from None
    for item in missing(known, values):
        spelling = item.option.upper() if not item.option.startswith("-") else item.option
        raise UsageError(item.needed(f"the {name} dialect", spelling))
    try:
        return Chat(dialect=name, **given), token_env
    except NbchatError as exc:
        raise UsageError(str(exc)) from None


def _flag_values(args: Namespace) -> list[tuple[Setting, str]]:
    """The settings given as flags, with the text typed for each."""
    values = []
    for dest, (item, _names, _env) in _flags().items():
        text = getattr(args, dest, None)
        if text is not None:
            values.append((item, text))
    return values


def _given(args: Namespace, kind: type[Dialect[Any]]) -> dict[str, Any]:
    """The settings the flags give, read and checked against what `kind` declares."""
    own = {item.name: item for item in (*connection_settings(kind), *kind.declared())}
    flags = sorted(i.option for i in kind.declared())
    given: dict[str, Any] = {}
    for flag, text in _flag_values(args):
        item = own.get(flag.name)  # the dialect's own declaration reads the text
        if item is None:
            raise UsageError(
                f"{flag.option} is not a setting of the {kind.name} dialect;"
                f" its flags: {', '.join(flags)}"
            )
        if item.secret:
            value = os.environ.get(text)
            if not value:
                raise UsageError(f"the environment variable {text} is not set")
        else:
            try:
                value = item.read(text, item.option)
            except NbchatError as exc:
                raise UsageError(str(exc)) from None
        given[item.name] = value
    return given
