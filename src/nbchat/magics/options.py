"""What a `%chat` line means: its options, its message, and `{name}` interpolation."""

from __future__ import annotations

import re
import string
from argparse import ArgumentParser
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, magic_arguments

__all__ = ["chat_arguments", "chat_lines", "interpolate", "split_options"]


def chat_arguments(func: Any) -> Any:
    """The options `%%chat` and `%chat` share."""
    options = [
        argument("-o", "--out", metavar="VAR", help="store the Reply in this variable"),
        argument("--model", help="model for this message only"),
        argument("--no-stream", action="store_true", help="use the non-streaming endpoint"),
        argument("--quiet", action="store_true", help="show nothing (errors still raise)"),
        argument(
            "--format",
            choices=["markdown", "text", "code"],
            default="markdown",
            help="markdown output, plain text, or markdown plus the first code block in a new cell",
        ),
        argument("--new", action="store_true", help="start a new conversation first"),
        argument("--no-interpolate", action="store_true", help="send {braces} as they are written"),
    ]
    for option in reversed(options):
        func = option(func)
    return magic_arguments()(func)


#: `%chat ...` or `name = %chat ...` on one line, with its indentation.
_CHAT_LINE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<target>[A-Za-z_]\w*[ \t]*=[ \t]*)?%chat(?=\s|$)(?P<rest>.*)$"
)


def chat_lines(lines: list[str]) -> list[str]:
    """Turn `%chat ...` lines into magic calls before IPython reads them.

    IPython takes a line ending in `word?` as a help request (`%chat What is Python?` would
    show help on `Python`); a question is exactly what `%chat` gets, so its lines are
    converted first, with the text kept verbatim.
    """
    if lines and lines[0].startswith("%%"):
        return lines  # a cell magic's body is its own business
    out = []
    for line in lines:
        match = _CHAT_LINE.match(line.rstrip("\r\n"))
        if match is None:
            out.append(line)
            continue
        call = f"get_ipython().run_line_magic('chat', {match['rest'].strip()!r})"
        out.append(f"{match['indent']}{match['target'] or ''}{call}\n")
    return out


def interpolate(template: str, namespace: dict[str, Any]) -> str:
    """`{name}` → the variable's value (format specs and `!r` work); `{{`/`}}` → braces.

    An unknown name is a UsageError, raised before anything is sent.
    """
    formatter = string.Formatter()
    hint = "write {{ and }} for literal braces, or use --no-interpolate"
    out: list[str] = []
    try:
        parsed = list(formatter.parse(template))
    except ValueError as exc:
        raise UsageError(f"cannot interpolate the message: {exc}; {hint}") from None
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if not field.strip():
            raise UsageError(f"empty {{}} in the message; {hint}")
        try:
            value, _ = formatter.get_field(field, (), namespace)
            value = formatter.convert_field(value, conversion)
            out.append(formatter.format_field(value, spec or ""))
        except (KeyError, AttributeError, IndexError):
            raise UsageError(f"{{{field}}}: no such variable; {hint}") from None
        except (ValueError, TypeError) as exc:
            raise UsageError(f"{{{field}}}: {exc}") from None
    return "".join(out)


def split_options(magic: Any, line: str) -> tuple[str, str]:
    """Options at the start of a `%chat` line, and the message after them (kept verbatim).

    `magic` is the function `chat_arguments` decorated (its `.parser` knows the options).
    """
    parser: ArgumentParser = magic.parser
    takes_value = {
        option: action.nargs != 0 for action in parser._actions for option in action.option_strings
    }
    pos, options = 0, []
    while True:
        rest = line[pos:]
        word = rest.split(maxsplit=1)[0] if rest.strip() else ""
        if not word.startswith("-"):
            break
        pos = line.index(word, pos) + len(word)
        if word == "--":
            break
        options.append(word)
        name = word.split("=", 1)[0]
        if takes_value.get(name) and "=" not in word:
            rest = line[pos:]
            value = rest.split(maxsplit=1)[0] if rest.strip() else ""
            if value:
                pos = line.index(value, pos) + len(value)
                options.append(value)
    return " ".join(options), line[pos:].strip()
