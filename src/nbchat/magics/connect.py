"""`%chat_connect`: from its options to a `Chat`, and the demo server it may start."""

from __future__ import annotations

import os
import re
import threading
from argparse import Action, ArgumentParser, Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser

from ..chat import Chat
from ..dialects import DEFAULT_DIALECT, DIALECTS, Dialect, connection_settings
from ..errors import NbchatError
from ..redact import Redactor
from ..settings import Setting, from_environment, missing

if TYPE_CHECKING:
    from ..server import ServerHandle

__all__ = ["DEMO_TARGETS", "DemoServer", "connect", "connect_parser"]

#: What `%chat_connect --demo` talks to on the built-in server, per dialect.
DEMO_TARGETS: dict[str, dict[str, str]] = {
    "chats": {"model": "demo", "user_id": "notebook"},
    "agents": {"agent_id": "ag_demo"},
    "openai": {"model": "demo"},
}
#: Where each dialect's API lives on the built-in server, below its URL.
DEMO_PATHS: dict[str, str] = {"openai": "/v1"}

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
    # IPython's help formatter puts the magic's `%` before `prog` itself.
    parser = MagicArgumentParser(prog="chat_connect", description=DESCRIPTION, epilog=epilog)
    parser.allow_abbrev = False  # `--token` must not pass for `--token-env`
    parser.add_argument("-h", "--help", action="store_true", help="show this help")
    parser.add_argument(
        "--dialect",
        choices=list(DIALECTS),
        help=f"wire format (default: NBCHAT_DIALECT, else {DEFAULT_DIALECT})",
    )
    for dest, (item, names, variables) in _flags().items():
        where = "" if len(names) == len(DIALECTS) else ", ".join(names)
        notes = "; ".join(filter(None, [where, " or ".join(variables)]))
        extra = f" [{notes}]" if notes else ""
        if dest == item.option:  # positional
            parser.add_argument(dest, nargs="?", help=item.help + extra)
        else:
            metavar = "NAME" if item.secret else item.name.upper()
            text = f"environment variable holding the {item.help}" if item.secret else item.help
            parser.add_argument(item.option, dest=dest, metavar=metavar, help=text + extra)
    parser.add_argument(
        "--demo", action="store_true", help="start the reference server here and use it"
    )
    parser.add_argument(
        "--token",
        dest="typed_token",
        nargs="?",
        metavar="VALUE",
        action=RefuseToken,
        help="refused: use --token-env",
    )
    return parser


class RefuseToken(Action):
    """`--token VALUE` would keep the secret in the notebook: refuse it, without showing it."""

    def __call__(self, parser: ArgumentParser, *args: object, **kwargs: object) -> None:
        raise UsageError(
            "--token is not accepted: a token typed in a cell stays in the notebook. Delete it "
            "from the cell, put it in an environment variable and use --token-env NAME"
        )


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
        base_url = demo.url() + DEMO_PATHS.get(name, "")
        given = {**DEMO_TARGETS.get(name, {}), **given, "base_url": base_url}
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
            values.append((item, _unquoted(text)))
    return values


def _unquoted(text: str) -> str:
    """IPython splits magic lines keeping quotes (`--system "Be terse."` gives `"Be terse."`);
    a value quoted whole loses its quotes, as in a shell."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


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
                raise UsageError(_unset(text))
        else:
            try:
                value = item.read(text, item.option)
            except NbchatError as exc:  # without the typed text: it may be a misplaced token
                raise UsageError(Redactor([text])(str(exc))) from None
        given[item.name] = value
    return given


def _unset(name: str) -> str:
    # A value that does not look like a variable name may be the token itself: not shown
    # (names are upper case, with few digits; tokens are mixed case or full of digits).
    looks_like_a_name = re.fullmatch(r"[A-Z_][A-Z0-9_]*", name) and sum(map(str.isdigit, name)) <= 4
    shown = name if looks_like_a_name else "(not shown)"
    return (
        f"the environment variable {shown} is not set; --token-env takes the name of the "
        "variable that holds the token (like AGENTS_TOKEN), never the token"
    )
