"""`{field}` templates: the interpolation rules of `%%chat`, free of Jupyter so batches share them.

The rules are `str.format`'s fields (`{name}`, `{obj.attr}`, `{items[0]}`, format specs and
`!r`), with `{{` and `}}` for literal braces. Errors are `TemplateError`, raised before anything
is sent.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from .errors import TemplateError

BRACES_HINT = "write {{ and }} for literal braces"


def interpolate(
    template: str,
    namespace: Mapping[str, Any],
    *,
    noun: str = "variable",
    hint: str = BRACES_HINT,
) -> str:
    """`template` with each `{field}` replaced from `namespace`.

    `noun` names what a field refers to in messages ("variable", "column"); `hint` ends every
    message so the user knows what to do next.
    """
    formatter = string.Formatter()
    out: list[str] = []
    try:
        parsed = list(formatter.parse(template))
    except ValueError as exc:
        raise TemplateError(f"cannot interpolate the message: {exc}; {hint}") from None
    for literal, field, spec, conversion in parsed:
        out.append(literal)
        if field is None:
            continue
        if not field.strip():
            raise TemplateError(f"empty {{}} in the message; {hint}")
        try:
            value, _ = formatter.get_field(field, (), namespace)
            value = formatter.convert_field(value, conversion)
            out.append(formatter.format_field(value, spec or ""))
        except (KeyError, AttributeError, IndexError):
            raise TemplateError(f"{{{field}}}: no such {noun}; {hint}") from None
        except (ValueError, TypeError) as exc:
            raise TemplateError(f"{{{field}}}: {exc}") from None
    return "".join(out)
