"""A batch's inputs turned into prompts, and what each row's run produced."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import ConfigurationError, TemplateError
from ..template import BRACES_HINT, interpolate

RowStatus = Literal["ok", "error", "pending"]

#: The field a plain string row is known by in the template.
TEXT_FIELD = "text"


@dataclass(frozen=True, slots=True)
class RowResult:
    """One input row's outcome.

    `status` is "ok", "error" (the reply failed; `text` keeps any partial reply) or "pending"
    (not run yet, or stopped in flight). `usage` is the backend's token counts when it reports
    them; `latency` is the seconds from sending the last attempt to its reply's end;
    `attempts` counts sends, rate-limited ones included.
    """

    index: int
    prompt: str
    text: str = ""
    status: RowStatus = "pending"
    error: str | None = None
    usage: dict[str, int | None] | None = None
    latency: float | None = None
    attempts: int = 0

    def to_record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RowResult:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in record.items() if key in names})


def render_prompts(template: str, rows: Any) -> list[str]:
    """One prompt per row: `template` filled from the row's fields.

    `rows` is a pandas DataFrame (its columns are the fields), a sequence of mappings, or a
    sequence of strings (each known as `{text}`). A bad field raises TemplateError naming the
    row, before anything is sent.
    """
    if not isinstance(template, str) or not template.strip():
        raise ConfigurationError("a batch needs a prompt template, e.g. 'Summarize: {text}'")
    prompts = []
    for index, fields in enumerate(_fields(rows)):
        try:
            prompts.append(interpolate(template, fields, noun="field", hint=BRACES_HINT))
        except TemplateError as exc:
            known = ", ".join(map(str, fields)) or "none"
            raise TemplateError(f"row {index}: {exc} (its fields: {known})") from None
    return prompts


def _fields(rows: Any) -> Iterable[Mapping[str, Any]]:
    if hasattr(rows, "columns") and hasattr(rows, "to_dict"):  # a DataFrame, without pandas
        return [{str(k): v for k, v in row.items()} for row in rows.to_dict("records")]
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise ConfigurationError(
            "rows must be a DataFrame, a list of dicts or a list of strings, "
            f"not {type(rows).__name__}"
        )
    out: list[Mapping[str, Any]] = []
    for index, row in enumerate(rows):
        if isinstance(row, str):
            out.append({TEXT_FIELD: row})
        elif isinstance(row, Mapping):
            out.append(row)
        else:
            raise ConfigurationError(
                f"row {index} is a {type(row).__name__}; each row must be a dict or a string"
            )
    return out
