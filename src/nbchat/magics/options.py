"""What a `%chat` line means: its options, its message, and `{name}` interpolation."""

from __future__ import annotations

import re
import shlex
from argparse import ArgumentParser, Namespace
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic_arguments import MagicArgumentParser, argument, magic_arguments

from ..budget import Part
from ..errors import TemplateError
from ..redact import Redactor
from ..template import expand

__all__ = [
    "chat_arguments",
    "chat_lines",
    "interpolate",
    "magic_options",
    "parse_line",
    "split_options",
]


def magic_options(func: Any) -> Any:
    """The argument parser of a magic, with whole option names only: argparse would take
    `--token` for `--token-env` (and put the value after it into an error message)."""
    func = magic_arguments()(func)
    func.parser.allow_abbrev = False  # read at parse time; IPython's parser takes no such argument
    return func


def parse_line(magic: Any, line: str) -> Namespace:
    """The options on a magic's line (`magic`: a MagicArgumentParser, or a magic decorated
    with `magic_options`). A quote left open is a UsageError that says so (the line splits as
    a shell does), without quoting the line."""
    parser: MagicArgumentParser = getattr(magic, "parser", magic)
    try:
        return parser.parse_argstring(line)
    except ValueError as exc:  # shlex: "No closing quotation"
        raise UsageError(f"{exc} in the options: close the quote or remove it") from None
    except UsageError as exc:  # argparse quotes what it could not use: a misplaced token?
        raise UsageError(Redactor(_typed_values(line))(str(exc))) from None


def _typed_values(line: str) -> list[str]:
    """What was typed as values on a line: words, and the part after `--flag=`."""
    try:
        words = shlex.split(line)
    except ValueError:
        words = line.split()
    return [word.partition("=")[2] if word.startswith("-") else word for word in words]


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
            help="rendered Markdown, plain text, or rendered + first code block as a new cell",
        ),
        argument("--new", action="store_true", help="start a new conversation first"),
        argument(
            "--reasoning",
            action="store_true",
            help="show the model's reasoning too (it is always kept in the Reply)",
        ),
        argument("--no-interpolate", action="store_true", help="send {braces} as they are written"),
        argument(
            "--max-context",
            type=int,
            metavar="N",
            help="characters each {value} may take (default: %%chat_context, 4000)",
        ),
        argument(
            "--explain-error",
            action="store_true",
            help="send the last error and the code of the cell that raised it",
        ),
        argument(
            "--tools",
            metavar="NAMES",
            help="functions from the notebook the model may call for this message, e.g. a,b",
        ),
        argument(
            "--approve",
            choices=["auto", "ask", "never"],
            help="who lets tool calls run for this message (default: the chat's approve=)",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return magic_options(func)


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


def interpolate(
    template: str, namespace: dict[str, Any], render: Callable[[Any], str] = str
) -> tuple[str, list[Part]]:
    """`{name}` → `render(value)`; `{name:spec}` and `{name!r}` format as Python does (then
    `render` caps the result); `{{`/`}}` → braces. Returns the text and its parts (each field
    and the text around them), so a budget can say which part is large.

    Fields are looked up as `str.format` does: `{df}`, `{P.name}`, `{In[3]}`, `{Out[3]}`
    (the rules are `nbchat.template`'s). An unknown name is a UsageError, raised before
    anything is sent.
    """
    hint = "write {{ and }} for literal braces, or use --no-interpolate"
    try:
        expansion = expand(template, namespace, hint=hint, render=render)
    except TemplateError as exc:
        raise UsageError(str(exc)) from None
    parts = [Part(name, text) for name, text in expansion.fields]
    return expansion.text, [Part("the text you wrote", expansion.written), *parts]


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
