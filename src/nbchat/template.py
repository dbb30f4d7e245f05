"""`{field}` templates: the interpolation rules of `%%chat`, free of Jupyter so batches share them.

The rules are `str.format`'s fields (`{name}`, `{obj.attr}`, `{items[0]}`, `{In[3]}`, format
specs and `!r`), with `{{` and `}}` for literal braces. Errors are `TemplateError`, raised before
anything is sent.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import TemplateError

BRACES_HINT = "write {{ and }} for literal braces"


@dataclass(frozen=True)
class Expansion:
    """A filled-in template: its text, the text written around the fields, and each field's
    `(name, rendering)` (so a size budget can say which part is large)."""

    text: str
    written: str
    fields: list[tuple[str, str]] = field(default_factory=list)


def interpolate(
    template: str,
    namespace: Mapping[str, Any],
    *,
    noun: str = "variable",
    hint: str = BRACES_HINT,
) -> str:
    """`template` with each `{field}` replaced from `namespace` (see `expand`)."""
    return expand(template, namespace, noun=noun, hint=hint).text


def expand(
    template: str,
    namespace: Mapping[str, Any],
    *,
    noun: str = "variable",
    hint: str = BRACES_HINT,
    render: Callable[[Any], str] = str,
) -> Expansion:
    """`template` with each `{field}` replaced by `render(value)`.

    `{name:spec}` and `{name!r}` format as Python does, then `render` sees the formatted text
    (and may cap it). `noun` names what a field refers to in messages ("variable", "column");
    `hint` ends every message so the user knows what to do next.
    """
    formatter = string.Formatter()
    out: list[str] = []
    fields: list[tuple[str, str]] = []
    try:
        parsed = list(formatter.parse(template))
    except ValueError as exc:
        raise TemplateError(f"cannot interpolate the message: {exc}; {hint}") from None
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if not name.strip():
            raise TemplateError(f"empty {{}} in the message; {hint}")
        try:
            value, _ = formatter.get_field(name, (), namespace)
            if spec or conversion:
                value = formatter.format_field(
                    formatter.convert_field(value, conversion), spec or ""
                )
            text = render(value)
        except (KeyError, AttributeError, IndexError):
            raise TemplateError(f"{{{name}}}: no such {noun}; {hint}") from None
        except (ValueError, TypeError) as exc:
            raise TemplateError(f"{{{name}}}: {exc}") from None
        out.append(text)
        fields.append((f"{{{name}}}", text))
    written = "".join(literal for literal, *_ in parsed)
    return Expansion("".join(out), written, fields)
