"""What the kernel holds, for prompts: the last error, and the variables a user may attach.

It reads an IPython shell by its documented attributes and imports no Jupyter module, so the
magics and the widget share it without importing each other.

The last error is recorded by a `post_run_cell` hook (`ErrorRecorder`), which knows the cell
that raised it; an error raised before the hook was registered is still found through
`sys.last_value`, which IPython sets whenever it shows a traceback, but without its cell.
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .budget import Part
from .errors import ConfigurationError

__all__ = [
    "ErrorRecorder",
    "LastError",
    "attach",
    "describe",
    "explain_prompt",
    "fence",
    "user_variables",
]

#: Traceback frames kept (the innermost ones: where it failed).
ERROR_FRAMES = 5
#: What `--explain-error` asks when the cell adds no question of its own.
EXPLAIN = "Explain this error and how to fix it."


@dataclass(frozen=True)
class LastError:
    """An exception the kernel showed, and the cell that raised it (when known)."""

    exception: BaseException
    cell: str | None = None
    execution_count: int | None = None

    def describe(self, shell: Any = None, frames: int = ERROR_FRAMES) -> str:
        """Type, message and at most `frames` frames (the first, then the innermost ones),
        with cells named In[N] as IPython names them."""
        exc = self.exception
        stack = _user_frames(traceback.extract_tb(exc.__traceback__), shell)
        # The cell's line that started it all, then the innermost frames: where it failed.
        shown = stack if len(stack) <= frames else [stack[0], *stack[1 - frames :]]
        lines = [f"{type(exc).__qualname__}: {exc}".rstrip(": ")]
        if shown:
            lines.append(f"Traceback ({len(stack)} frames, most recent call last):")
        for index, frame in enumerate(shown):
            if index == 1 and len(stack) > len(shown):
                lines.append(f"  … {len(stack) - len(shown)} frames left out")
            lines.append(f"  {_where(frame.filename, shell)}, line {frame.lineno}, in {frame.name}")
            if frame.line:
                lines.append(f"    {frame.line.strip()}")
        if self.execution_count is not None:
            lines.append(f"(raised by cell In[{self.execution_count}])")
        return "\n".join(lines)


def _cell_name(filename: str, shell: Any) -> tuple[str, str] | None:
    """("Cell", "In[3]") for a cell's code, as IPython's tracebacks name it; None otherwise."""
    named = getattr(getattr(shell, "compile", None), "format_code_name", None)
    return named(filename) if named is not None else None


def _where(filename: str, shell: Any) -> str:
    label = _cell_name(filename, shell)
    return f"{label[0]} {label[1]}" if label else f'File "{_short_path(filename)}"'


def _short_path(filename: str) -> str:
    """A module's path relative to the sys.path entry it was imported from ("pandas/core/
    frame.py"): shorter, the same on every machine, and without the user's home directory."""
    roots = [
        root for root in sys.path if root and filename.startswith(root.rstrip(os.sep) + os.sep)
    ]
    return os.path.relpath(filename, max(roots, key=len)) if roots else filename


def _user_frames(frames: traceback.StackSummary, shell: Any) -> list[traceback.FrameSummary]:
    """The frames from the first cell on: IPython's own frames that ran the cell are noise."""
    for index, frame in enumerate(frames):
        if _cell_name(frame.filename, shell):
            return list(frames[index:])
    return list(frames)


class ErrorRecorder:
    """Keeps the last cell that failed: register `post_run_cell` as the shell's hook."""

    def __init__(self) -> None:
        self.last: LastError | None = None
        self._ignored: BaseException | None = None

    def ignore(self, exc: BaseException) -> None:
        """Do not count `exc` as the last error: the chat magics' own failures (a bad option,
        a reply that failed) are not what `{Err}` and --explain-error are about."""
        self._ignored = exc

    def post_run_cell(self, result: Any) -> None:
        """IPython's post_run_cell event: `result` is an ExecutionResult."""
        exc = result.error_in_exec or result.error_before_exec
        if exc is None or exc is self._ignored:
            return
        info = getattr(result, "info", None)
        self.last = LastError(exc, getattr(info, "raw_cell", None), result.execution_count)

    def last_error(self) -> LastError | None:
        """The last error the kernel showed: the recorded one, or `sys.last_value` if newer."""
        shown = getattr(sys, "last_value", None)
        if shown is self._ignored:
            shown = None
        if self.last is not None and (shown is None or shown is self.last.exception):
            return self.last
        if isinstance(shown, BaseException):
            return LastError(shown)
        return self.last


def describe(value: Any) -> str:
    """A short type description for a completion list: 'DataFrame 150x5', 'list[3]', 'int'."""
    kind = type(value).__name__
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        return f"{kind} {'x'.join(str(n) for n in shape)}"
    if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset)):
        return f"{kind}[{len(value)}]"
    return kind


def user_variables(shell: Any) -> dict[str, str]:
    """The user's variables (name → short description), without IPython's own names
    (In, Out, _i3, …), private names, modules, functions and classes."""
    hidden = getattr(shell, "user_ns_hidden", {})
    out = {}
    for name, value in list(shell.user_ns.items()):
        if name.startswith("_") or name in hidden or callable(value):
            continue
        if isinstance(value, type(sys)):  # modules
            continue
        try:
            out[name] = describe(value)
        except Exception:  # an object whose shape or len() fails is still offered
            out[name] = type(value).__name__
    return dict(sorted(out.items()))


def fence(text: str, language: str = "") -> str:
    """`text` in a Markdown code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def explain_prompt(
    error: LastError, question: str, shell: Any, render: Callable[[Any], str]
) -> tuple[str, list[Part]]:
    """The `--explain-error` message: the question (or EXPLAIN), the failing cell's code, the
    error. Returns the message and its parts; code and error are rendered (so capped) by
    `render`."""
    question = question.strip() or EXPLAIN
    parts = [Part("the question", question)]
    blocks = [question]
    if error.cell is not None:
        code = render(error.cell)
        parts.append(Part(f"the code of In[{error.execution_count}]", code))
        blocks.append(f"The code of cell In[{error.execution_count}]:\n\n{fence(code, 'python')}")
    described = render(error.describe(shell))
    parts.append(Part("the error", described))
    blocks.append(f"The error it raised:\n\n{fence(described)}")
    return "\n\n".join(blocks), parts


def attach(
    text: str, names: list[str], namespace: dict[str, Any], render: Callable[[Any], str]
) -> tuple[str, list[dict[str, str]], list[Part]]:
    """`text` with the named variables appended, each rendered by `render` (so capped).

    Returns the message, the attachments ([{name, text}], what the panel shows collapsed on
    the user's message) and the message's parts (for the budget). An unknown name is a
    ConfigurationError: the variable may have been deleted since it was offered.
    """
    items = []
    for name in dict.fromkeys(names):  # each once, in the order chosen
        if name not in namespace:
            raise ConfigurationError(f"@{name}: no such variable in the kernel (any more)")
        items.append({"name": name, "text": render(namespace[name])})
    if not items:
        return text, [], [Part("the text you wrote", text)]
    attached = "\n\n".join(f"`{item['name']}`:\n{item['text']}" for item in items)
    message = f"{text.strip()}\n\nAttached from the kernel:\n\n{attached}"
    parts = [Part("the text you wrote", text)]
    parts += [Part(f"@{item['name']}", item["text"]) for item in items]
    return message, items, parts
