"""Wire formats. Each module translates one backend's requests and SSE payloads; none does I/O.

`DIALECTS` maps a name to its `Dialect` class; `python -m nbchat.dialects` prints the README's
settings table, derived from the dialects' declarations.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError
from ..settings import CONNECTION, Setting, merge
from .agents import AgentsDialect
from .base import Decoder, Dialect, HttpRequest, MalformedPayload
from .chats import ChatsDialect

DIALECTS: dict[str, type[Dialect[Any]]] = {"chats": ChatsDialect, "agents": AgentsDialect}

#: The dialect used when none is named (`dialect=` or NBCHAT_DIALECT).
DEFAULT_DIALECT = "chats"

__all__ = [
    "DEFAULT_DIALECT",
    "DIALECTS",
    "Decoder",
    "Dialect",
    "HttpRequest",
    "MalformedPayload",
    "connection_settings",
    "get_dialect",
    "settings_table",
]


def get_dialect(name: str) -> Dialect[Any]:
    """A new instance of the dialect called `name`; ConfigurationError lists the known ones."""
    try:
        return DIALECTS[name]()
    except KeyError:
        known = ", ".join(sorted(DIALECTS))
        raise ConfigurationError(f"unknown dialect {name!r}; known: {known}") from None


def connection_settings(dialect: type[Dialect[Any]]) -> tuple[Setting, ...]:
    """The connection settings as `dialect` restates them."""
    return merge(CONNECTION, dialect.connection)


def settings_table() -> str:
    """The README's tables: the dialects, then every setting with its keyword, flag and
    variables (Markdown)."""
    lines = ["| dialect | endpoint; auth |", "|---|---|"]
    lines += [f"| `{name}` | {cls.summary} |" for name, cls in DIALECTS.items()]
    lines += [
        "",
        "| `Chat(...)` | `%chat_connect` | environment | dialect | meaning |",
        "|---|---|---|---|---|",
        "| `dialect=` | `--dialect` | `NBCHAT_DIALECT` | all | "
        f"{', '.join(f'`{n}`' for n in DIALECTS)} (default `{DEFAULT_DIALECT}`) |",
    ]
    rows: dict[tuple[str, str, str, str], list[str]] = {}
    for name, cls in DIALECTS.items():
        for item in (*connection_settings(cls), *cls.declared()):
            rows.setdefault(_row(item), []).append(name)
    for (keyword, flag, env, meaning), names in rows.items():
        where = "all" if len(names) == len(DIALECTS) else ", ".join(names)
        lines.append(f"| {keyword} | {flag} | {env} | {where} | {meaning} |")
    return "\n".join(lines)


def _row(item: Setting) -> tuple[str, str, str, str]:
    flag = f"`{item.option} NAME`" if item.secret else f"`{item.option}`"
    if not item.option.startswith("-"):
        flag = f"`{item.option.upper()}` (first argument)"
    env = ", ".join(f"`{name}`" for name in item.env) or "—"
    meaning = item.help
    if item.required:
        meaning += " (required)"
    elif item.default is not None:
        meaning += f" (default {item.default})"
    return f"`{item.keyword}`", flag, env, meaning
