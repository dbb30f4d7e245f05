"""Declared settings: each one is written once and everything else is derived from it.

A `Setting` gives a name (the `Chat` keyword), help text, environment variables, a default,
whether it is required, how to read it from text, and its `%chat_connect` flag. `Chat`'s
keywords and environment defaults, `%chat_connect`'s flags, `--help` and validation, the
README's settings table and the "needs ..." error messages all come from these declarations.

A dialect declares its own settings as a frozen dataclass whose fields are made with
`setting(...)`; the settings every dialect shares (where the server is, how to authenticate,
how long to wait) are `CONNECTION` below, and a dialect may restate them (`Dialect.connection`)
to add environment variables or a default, e.g. a token read from OPENAI_API_KEY.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError

__all__ = [
    "BASE_URL",
    "CONNECTION",
    "COOKIES",
    "TIMEOUT",
    "TOKEN",
    "Setting",
    "declared",
    "from_environment",
    "merge",
    "missing",
    "setting",
]

_KEY = "nbchat.setting"


@dataclass(frozen=True)
class Setting:
    """One setting, declared once.

    name:         the `Chat` keyword and attribute, e.g. "model".
    help:         one line for `%chat_connect --help` and the README.
    env:          environment variables read when the value is not given; the first set wins.
    default:      the value when neither given nor in the environment.
    required:     a message cannot be sent without it (checked when preparing a request, and
                  by `%chat_connect` when connecting).
    parse:        text (from a flag or a variable) to the value, e.g. `float`; ValueError or
                  TypeError means the text is wrong.
    flag:         the `%chat_connect` option; "" derives `--name-with-dashes`; a flag without
                  a leading dash is positional.
    secret:       never typed in: `%chat_connect` takes the *name* of an environment variable
                  (`--token-env NAME`) and the value is never shown.
    conversation: names one conversation (a chat id, a session id): `Chat.new()` forgets it,
                  and preparing a request may learn it from the server.
    """

    name: str
    help: str
    env: tuple[str, ...] = ()
    default: Any = None
    required: bool = False
    parse: Callable[[str], Any] = str
    flag: str = ""
    secret: bool = False
    conversation: bool = False

    @property
    def option(self) -> str:
        """The `%chat_connect` flag, e.g. "--chat-id" (or "--token-env" for a secret)."""
        if self.flag:
            return self.flag
        return "--" + self.name.replace("_", "-") + ("-env" if self.secret else "")

    @property
    def keyword(self) -> str:
        """How the setting is spelled in Python: `model=`."""
        return f"{self.name}="

    def needed(self, who: str, spelling: str) -> str:
        """The message for a missing required setting, spelled as the caller knows it:
        `needed("the chats dialect", "--model")`."""
        where = f" (or the {' or '.join(self.env)} variable)" if self.env else ""
        return f"{who} needs {spelling}{where}"

    def read(self, text: str, spelling: str) -> Any:
        """`text` parsed, or a ConfigurationError naming the setting as the caller spelled it."""
        try:
            return self.parse(text)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"{spelling}: cannot read {text!r}: {exc}") from None


def setting(
    help: str,
    *,
    env: Iterable[str] = (),
    default: Any = None,
    required: bool = False,
    parse: Callable[[str], Any] = str,
    flag: str = "",
    conversation: bool = False,
) -> Any:
    """A field of a dialect's settings dataclass, declared as a `Setting` (see its fields).

    `model: str | None = setting("model id", env=["NBCHAT_MODEL"], required=True)`
    """
    declared = Setting("", help, tuple(env), default, required, parse, flag, False, conversation)
    return dataclasses.field(default=default, metadata={_KEY: declared})


def declared(settings: type) -> tuple[Setting, ...]:
    """The settings a dataclass made with `setting(...)` fields declares, in order."""
    out = []
    for field in dataclasses.fields(settings):
        meta = field.metadata.get(_KEY)
        if meta is None:
            raise TypeError(f"{settings.__name__}.{field.name} is not declared with setting()")
        out.append(dataclasses.replace(meta, name=field.name))
    return tuple(out)


def merge(base: Iterable[Setting], restated: Iterable[Setting]) -> tuple[Setting, ...]:
    """`base` with the settings of the same name replaced by their restatement."""
    by_name = {s.name: s for s in restated}
    return tuple(by_name.get(s.name, s) for s in base)


def from_environment(
    declarations: Iterable[Setting], given: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """Every declared setting's value: given (not None), else its first variable set in
    `environ` (parsed), else its default. A variable that does not parse is a
    ConfigurationError naming the variable."""
    values: dict[str, Any] = {}
    for item in declarations:
        value = given.get(item.name)
        if value is None:
            name = next((n for n in item.env if environ.get(n)), None)
            value = item.read(environ[name], name) if name else item.default
        values[item.name] = value
    return values


def missing(declarations: Iterable[Setting], values: Mapping[str, Any]) -> list[Setting]:
    """The required settings without a value."""
    return [s for s in declarations if s.required and values.get(s.name) in (None, "")]


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be a positive number of seconds")
    return value


# -- what every dialect shares: the connection -------------------------------------------------

BASE_URL = Setting(
    "base_url",
    "server URL, e.g. http://127.0.0.1:3026",
    ("NBCHAT_BASE_URL",),
    required=True,
    flag="url",
)
TOKEN = Setting("token", "bearer token (Authorization header)", ("NBCHAT_TOKEN",), secret=True)
COOKIES = Setting("cookies", "Netscape cookies.txt file (as for curl -b)", ("NBCHAT_COOKIES",))
TIMEOUT = Setting(
    "timeout",
    "seconds of silence (no event) before a reply fails with a timeout",
    ("NBCHAT_TIMEOUT",),
    default=60.0,
    parse=_seconds,
)

#: The connection settings, in the order `--help` and the README show them.
CONNECTION: tuple[Setting, ...] = (BASE_URL, TOKEN, COOKIES, TIMEOUT)
