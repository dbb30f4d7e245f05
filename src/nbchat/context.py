"""Kernel objects rendered for a model: a registry of formatters, each result capped.

`str()` is the wrong view of most objects a notebook holds: a DataFrame prints as a wall of
aligned text that loses dtypes, a 1,000,000-element list prints in full. A formatter says what
a model needs (shape, columns with dtypes, a few rows as a Markdown table; an array's shape,
dtype and a sample), and every rendering is capped, with a visible marker saying what was cut.

Formatters for pandas, polars and NumPy are registered by *name* ("pandas.DataFrame"), so
nothing here imports those libraries: a name only matches when its module is already loaded,
which it is whenever a value of that type exists. Jupyter-free; the magics and the widget use
the session's registry (`nbchat.session.session.context`).

    from nbchat.context import Formatters
    formatters = Formatters(max_chars=4000)
    formatters.register(MyType, lambda value, max_chars: f"MyType with {len(value)} parts")
    formatters.render(df)      # 'pandas.DataFrame: 150 rows x 5 columns ...'
"""

from __future__ import annotations

import reprlib
import sys
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

__all__ = ["DEFAULT_MAX_CHARS", "Formatter", "Formatters", "cap"]

#: Characters one interpolated value may take in a message, unless told otherwise.
DEFAULT_MAX_CHARS = 4000

#: A formatter: (value, max_chars) → text. It should aim to fit in max_chars (fewer rows, fewer
#: items); the registry caps its result anyway.
Formatter = Callable[[Any, int], str]

#: Rows of a table shown at most, before fitting to the size allowed.
TABLE_ROWS = 10
#: Columns listed (with dtypes) and shown in a table at most.
LISTED_COLUMNS = 50
TABLE_COLUMNS = 20
#: Characters kept free for the note saying how many items were left out.
NOTE_ROOM = 60


def cap(text: str, max_chars: int) -> str:
    """`text` cut to `max_chars` characters, plus a marker saying how much was cut.

    The marker comes on top of `max_chars` so the kept part is exactly what was allowed.
    """
    if len(text) <= max_chars:
        return text
    cut = len(text) - max_chars
    return f"{text[:max_chars]}\n[… cut {cut:,} of {len(text):,} characters]"


class Formatters:
    """Formatters by type (exact class or a base class) or by "module.Name", plus the cap.

    Lookup walks the value's class hierarchy, most specific first; within one class a
    formatter registered later wins. Values with no formatter are shown by their `repr`.
    """

    def __init__(self, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.max_chars = max_chars
        self._by_type: dict[type, Formatter] = {}
        self._by_name: dict[str, Formatter] = {}
        self._by_type.update({str: _string, list: _sequence, tuple: _sequence, dict: _mapping})
        self._by_type.update({set: _sequence, frozenset: _sequence})
        self._by_name.update(
            {
                "pandas.DataFrame": _pandas_frame,
                "pandas.Series": _pandas_series,
                "polars.DataFrame": _polars_frame,
                "polars.Series": _polars_series,
                "numpy.ndarray": _numpy_array,
            }
        )

    def register(self, kind: type | str, formatter: Formatter) -> None:
        """Use `formatter(value, max_chars)` for values of `kind` (a class, or "module.Name"
        naming one, so registering does not import its module)."""
        if isinstance(kind, str):
            if "." not in kind:
                raise ValueError(f"name a type as 'module.Name', not {kind!r}")
            self._by_name[kind] = formatter
        else:
            self._by_type[kind] = formatter

    def formatter_for(self, value: Any) -> Formatter:
        """The formatter `render` would use for `value`."""
        named = self._named_types()
        for cls in type(value).__mro__:
            if cls in self._by_type:
                return self._by_type[cls]
            if cls in named:
                return named[cls]
        return _repr

    def render(self, value: Any, max_chars: int | None = None) -> str:
        """`value` as text for a model, at most `max_chars` characters (default: the registry's)
        plus a cut marker. A formatter that raises falls back to the value's repr."""
        limit = self.max_chars if max_chars is None else max_chars
        if limit < 1:
            raise ValueError(f"max_chars must be at least 1, not {limit}")
        formatter = self.formatter_for(value)
        try:
            text = formatter(value, limit)
        except Exception as exc:  # a broken formatter must not stop the message
            text = f"{_repr(value, limit)}\n[formatter failed: {type(exc).__name__}: {exc}]"
        return cap(text, limit)

    def _named_types(self) -> dict[type, Formatter]:
        """The types named in the registry whose modules are loaded."""
        found: dict[type, Formatter] = {}
        for name, formatter in self._by_name.items():
            module, _, attr = name.rpartition(".")
            cls = getattr(sys.modules.get(module), attr, None)
            if isinstance(cls, type):
                found[cls] = formatter
        return found


# -- built-in formatters -------------------------------------------------------------------------

_items = reprlib.Repr()
_items.maxstring = _items.maxother = 80


def _repr(value: Any, max_chars: int) -> str:
    return repr(value)


def _string(value: str, max_chars: int) -> str:
    return value  # interpolated as written; the registry caps it


def _sequence(value: Any, max_chars: int) -> str:
    if not value:
        return repr(value)
    shown = _fit([_items.repr(item) for item in _head(value, max_chars)], max_chars)
    if type(value) is tuple and len(value) == 1:
        shown = [f"{shown[0]},"]
    brackets = "[]" if type(value) is list else "()" if type(value) is tuple else "{}"
    return _enclose(type(value), brackets, shown, len(value), "items")


def _mapping(value: dict[Any, Any], max_chars: int) -> str:
    pairs = [f"{_items.repr(k)}: {_items.repr(v)}" for k, v in _head(value.items(), max_chars)]
    return _enclose(dict, "{}", _fit(pairs, max_chars), len(value), "entries")


def _head(items: Iterable[Any], max_chars: int) -> list[Any]:
    """As many leading items as could possibly fit (each takes at least 3 characters)."""
    out: list[Any] = []
    for item in items:
        if len(out) * 3 > max_chars:
            break
        out.append(item)
    return out


def _fit(parts: list[str], max_chars: int) -> list[str]:
    """The leading parts that fit max_chars with room for the note `_enclose` adds (at least
    one part: the registry's cap cuts an item too long on its own)."""
    if sum(len(part) + 2 for part in parts) <= max_chars:
        return parts
    size = NOTE_ROOM
    for index, part in enumerate(parts):
        size += len(part) + 2
        if size > max_chars and index:
            return parts[:index]
    return parts


def _enclose(kind: type, brackets: str, shown: list[str], total: int, noun: str) -> str:
    more = total - len(shown)
    body = ", ".join(shown)
    if not more:
        return f"{brackets[0]}{body}{brackets[1]}"
    note = f"[{kind.__name__} of {total:,} {noun}; {more:,} not shown]"
    return f"{brackets[0]}{body}, …{brackets[1]}\n{note}"


def _shrink(render: Callable[[int], str], rows: int, max_chars: int) -> str:
    """render(rows) with rows halved until it fits max_chars (down to one row)."""
    text = render(rows)
    while len(text) > max_chars and rows > 1:
        rows //= 2
        text = render(rows)
    return text


def _tabular(
    header: str, rows: int, columns_cut: int, table: Callable[[int], str], max_chars: int
) -> str:
    """`header`, then a note and `table(n)` (the first n rows), with n fitted to max_chars."""
    if not rows:
        return header

    def render(n: int) -> str:
        return f"{header}\n{_rows_note(min(n, rows), rows, columns_cut)}:\n{table(n)}"

    return _shrink(render, TABLE_ROWS, max_chars)


def _frame_header(kind: str, rows: int, names: list[str], dtypes: list[str]) -> str:
    listed = _column_list(names, dtypes)
    return f"{kind}: {rows:,} rows x {len(names):,} columns\ncolumns:\n{listed}"


def _column_list(names: list[str], dtypes: list[str]) -> str:
    lines = [f"- {name}: {dtype}" for name, dtype in zip(names, dtypes, strict=True)]
    more = len(lines) - LISTED_COLUMNS
    if more > 0:
        lines = [*lines[:LISTED_COLUMNS], f"- … {more:,} more columns"]
    return "\n".join(lines)


def _rows_note(shown: int, total: int, columns_cut: int) -> str:
    note = f"first {shown} of {total:,} rows" if shown < total else f"all {total:,} rows"
    return note + (f" ({columns_cut:,} columns left out of the table)" if columns_cut else "")


def _table_cell(value: Any) -> Any:
    """A text cell or column name that keeps a Markdown table's shape: `|` escaped, line
    breaks as `<br>` (GitHub's table syntax for both)."""
    if not isinstance(value, str):
        return value
    return value.replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")


def _markdown_table(frame: Any, rows: int) -> str:
    """The first `rows` rows of a pandas frame as a Markdown table (pandas' to_markdown needs
    tabulate; without it, pandas' own text layout)."""
    head = frame.head(rows)
    try:
        head = head.apply(lambda column: column.map(_table_cell))
        head.columns = [_table_cell(name) for name in head.columns]
        head.index = head.index.map(_table_cell)
        return str(head.to_markdown())
    except ImportError:
        return str(frame.head(rows).to_string())


def _pandas_frame(frame: Any, max_chars: int) -> str:
    names = [str(c) for c in frame.columns]
    header = _frame_header("pandas.DataFrame", len(frame), names, [str(t) for t in frame.dtypes])
    shown = frame.iloc[:, :TABLE_COLUMNS]
    rows = len(frame) if names else 0
    table = partial(_markdown_table, shown)
    return _tabular(header, rows, len(names) - shown.shape[1], table, max_chars)


def _pandas_series(series: Any, max_chars: int) -> str:
    name = "" if series.name is None else f" {series.name!r}"
    header = f"pandas.Series{name}: {len(series):,} values, dtype {series.dtype}"
    table = partial(_markdown_table, series.to_frame())
    return _tabular(header, len(series), 0, table, max_chars)


def _polars_table(frame: Any, rows: int) -> str:
    """The first `rows` rows of a polars frame as a Markdown table (polars formats it)."""
    import polars as pl  # loaded already: a polars value exists

    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=rows,
        tbl_cols=TABLE_COLUMNS,
        fmt_str_lengths=80,
    ):
        head = frame.head(rows)
        text = pl.col(pl.Utf8).str.replace_all("|", "\\|", literal=True)
        head = head.with_columns(text.str.replace_all("\r?\n", "<br>"))
        return str(head.rename({name: _table_cell(name) for name in head.columns}))


def _polars_frame(frame: Any, max_chars: int) -> str:
    names = list(frame.columns)
    header = _frame_header("polars.DataFrame", frame.height, names, [str(t) for t in frame.dtypes])
    shown = frame.select(names[:TABLE_COLUMNS])
    rows = frame.height if names else 0
    table = partial(_polars_table, shown)
    return _tabular(header, rows, len(names) - shown.width, table, max_chars)


def _polars_series(series: Any, max_chars: int) -> str:
    header = f"polars.Series {series.name!r}: {len(series):,} values, dtype {series.dtype}"
    table = partial(_polars_table, series.to_frame())
    return _tabular(header, len(series), 0, table, max_chars)


def _numpy_array(array: Any, max_chars: int) -> str:
    import numpy as np  # loaded already: an array exists

    header = f"numpy.ndarray: shape {array.shape}, dtype {array.dtype}"
    if array.size == 0:
        return header

    def render(edge: int) -> str:
        sample = np.array2string(array, threshold=4 * edge, edgeitems=edge, max_line_width=100)
        note = "all values" if array.size <= 4 * edge else "sample (… marks left-out values)"
        return f"{header}\n{note}:\n{sample}"

    return _shrink(render, 3, max_chars)
