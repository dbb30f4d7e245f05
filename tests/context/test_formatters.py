"""The formatter registry with real pandas and NumPy objects: what each shows, caps, markers."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import polars as pl
import pytest
from IPython.core.interactiveshell import InteractiveShell

from nbchat.budget import Budget, Part
from nbchat.client import origin
from nbchat.context import Formatters, cap
from nbchat.errors import ContextTooLargeError
from nbchat.kernel import describe, fence, user_variables


@pytest.fixture
def formatters() -> Formatters:
    return Formatters()


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "city": [f"city{i}" for i in range(40)],
            "population": np.arange(40) * 1000,
            "area": np.linspace(1.5, 40.5, 40),
        }
    )


def test_dataframe_shows_shape_dtypes_and_first_rows_as_markdown(
    formatters: Formatters, frame: pd.DataFrame
) -> None:
    text = formatters.render(frame)

    lines = text.splitlines()
    assert lines[0] == "pandas.DataFrame: 40 rows x 3 columns"
    assert lines[1:5] == ["columns:", "- city: str", "- population: int64", "- area: float64"]
    assert "first 10 of 40 rows:" in text
    header = next(line for line in lines if "population" in line and line.startswith("|"))
    assert [c.strip() for c in header.strip("|").split("|")] == ["", "city", "population", "area"]
    assert "| city9 " in text and "city10" not in text  # ten rows, no more


def test_a_tight_cap_shows_fewer_rows_instead_of_a_cut_table(
    formatters: Formatters, frame: pd.DataFrame
) -> None:
    text = formatters.render(frame, max_chars=300)
    assert len(text) <= 300
    assert "[… cut" not in text
    assert "first 2 of 40 rows:" in text and "| city1 " in text


def test_wide_frames_list_at_most_50_columns_and_table_20(formatters: Formatters) -> None:
    wide = pd.DataFrame(np.zeros((3, 70)), columns=[f"c{i}" for i in range(70)])
    text = formatters.render(wide, max_chars=100_000)
    assert "- c49: float64" in text and "- c50:" not in text
    assert "- … 20 more columns" in text
    assert "(50 columns left out of the table)" in text
    assert "|   c19 |" in text and "c20 |" not in text


def test_series_and_empty_frame(formatters: Formatters) -> None:
    series = pd.Series([1.5, 2.5, 3.5], name="price")
    text = formatters.render(series)
    assert text.startswith("pandas.Series 'price': 3 values, dtype float64\nall 3 rows:\n")
    assert "|   price |" in text
    empty = formatters.render(pd.DataFrame({"a": pd.Series([], dtype="int64")}))
    assert empty == "pandas.DataFrame: 0 rows x 1 columns\ncolumns:\n- a: int64"


def test_numpy_array_shows_shape_dtype_and_a_sample(formatters: Formatters) -> None:
    text = formatters.render(np.arange(10_000, dtype=np.int32).reshape(100, 100))
    assert text.startswith("numpy.ndarray: shape (100, 100), dtype int32\nsample")
    assert "..." in text and "9999" in text and "5000" not in text
    small = formatters.render(np.array([1.0, 2.0]))
    assert small == "numpy.ndarray: shape (2,), dtype float64\nall values:\n[1. 2.]"


def test_long_string_is_cut_with_a_marker_saying_how_much(formatters: Formatters) -> None:
    text = formatters.render("x" * 10_000)
    assert text == "x" * 4000 + "\n[… cut 6,000 of 10,000 characters]"
    assert formatters.render("short") == "short"  # strings go in as written, not repr'd


def test_lists_and_dicts_are_trimmed_with_a_count(formatters: Formatters) -> None:
    listed = formatters.render(list(range(100_000)), max_chars=300)
    assert listed.startswith("[0, 1, 2,") and ", …]" in listed
    assert listed.endswith("not shown]") and "[list of 100,000 items;" in listed
    assert len(listed) <= 300
    mapping = formatters.render({f"key{i}": "v" * 200 for i in range(50)}, max_chars=500)
    assert "[dict of 50 entries;" in mapping
    assert "'vvvvvv" in mapping and "v" * 200 not in mapping  # each item shortened too
    assert formatters.render((1,)) == "(1,)"
    assert formatters.render({"a": [1, 2]}) == "{'a': [1, 2]}"
    assert formatters.render(set()) == "set()"


def test_other_objects_use_their_repr(formatters: Formatters) -> None:
    class Point:
        def __repr__(self) -> str:
            return "Point(1, 2)"

        def __str__(self) -> str:
            return "a point"

    assert formatters.render(Point()) == "Point(1, 2)"
    assert formatters.render(3.25) == "3.25"


def test_users_register_formatters_by_type_or_by_name(formatters: Formatters) -> None:
    class Base:
        pass

    class Child(Base):
        pass

    formatters.register(Base, lambda value, max_chars: f"a Base within {max_chars}")
    assert formatters.render(Child(), max_chars=77) == "a Base within 77"
    formatters.register(f"{__name__}.Named", lambda value, max_chars: "by name")
    assert formatters.render(Named()) == "by name"
    # A user's formatter beats the built-in one for the same type, and is capped too.
    formatters.register("pandas.DataFrame", lambda value, max_chars: "frame " * 100)
    assert (
        formatters.render(pd.DataFrame(), max_chars=12)
        == "frame frame \n[… cut 588 of 600 characters]"
    )
    with pytest.raises(ValueError, match=r"module\.Name"):
        formatters.register("DataFrame", lambda value, max_chars: "")


class Named:
    pass


def test_a_failing_formatter_falls_back_to_repr(formatters: Formatters) -> None:
    def broken(value: object, max_chars: int) -> str:
        raise RuntimeError("boom")

    formatters.register(Named, broken)
    text = formatters.render(Named())
    assert text.startswith(f"<{__name__}.Named object at")
    assert text.endswith("[formatter failed: RuntimeError: boom]")


def test_cap_keeps_exactly_the_allowed_characters() -> None:
    assert cap("abcdef", 6) == "abcdef"
    assert cap("abcdefg", 6) == "abcdef\n[… cut 1 of 7 characters]"
    with pytest.raises(ValueError):
        Formatters().render("x", max_chars=0)


def test_budget_names_the_largest_part() -> None:
    budget = Budget(max_tokens=100)
    parts = [Part("the text you wrote", "Summarize "), Part("{df}", "y" * 1000)]
    with pytest.raises(ContextTooLargeError) as caught:
        budget.check("Summarize " + "y" * 1000, parts)
    message = str(caught.value)
    assert "about 253 tokens (1,010 characters; counted by characters / 4)" in message
    assert "over the limit of 100" in message
    assert "the largest part is {df} at about 250 tokens" in message
    assert "--max-context" in message and "%chat_context --max-tokens" in message
    assert caught.value.tokens == 253 and caught.value.max_tokens == 100
    assert budget.check("small").tokens == 2
    assert Budget(max_tokens=None).check("z" * 10**6).chars == 10**6


def test_user_variables_survive_objects_that_fail() -> None:
    class Lazy:
        @property
        def shape(self) -> tuple[int, ...]:
            raise RuntimeError("not loaded")

    shell = InteractiveShell.instance()
    shell.run_cell("import numpy as np\nn = 3\n_hidden = 1\ndef f(): pass\n6 * 7")
    shell.user_ns["lazy"] = Lazy()
    try:
        variables = user_variables(shell)
        assert variables["lazy"] == "Lazy" and variables["n"] == "int"
        assert not {"np", "f", "_hidden", "_", "In", "Out", "_i1", "exit"} & set(variables)
    finally:
        for name in ("np", "n", "_hidden", "f", "lazy"):
            shell.user_ns.pop(name, None)


def test_describe_and_fence() -> None:
    assert describe(pd.DataFrame({"a": [1, 2]})) == "DataFrame 2x1"
    assert describe(np.zeros((3, 4, 5))) == "ndarray 3x4x5"
    assert describe([1, 2, 3]) == "list[3]"
    assert describe(2.5) == "float"
    assert fence("a ``` b", "python") == "````python\na ``` b\n````"


def test_origin_keeps_scheme_host_and_port_only() -> None:
    assert origin("https://user:pw@example.com:8443/v1/chat?key=k") == "https://example.com:8443"
    assert origin("http://[::1]:3026/") == "http://[::1]:3026"
    assert origin("http://127.0.0.1") == "http://127.0.0.1"


def test_polars_frames_and_series(formatters: Formatters) -> None:
    frame = pl.DataFrame({"city": [f"c{i}" for i in range(30)], "pop": list(range(30))})
    text = formatters.render(frame)
    assert text.splitlines()[:5] == [
        "polars.DataFrame: 30 rows x 2 columns",
        "columns:",
        "- city: String",
        "- pop: Int64",
        "first 10 of 30 rows:",
    ]
    assert "| city | pop |" in text and "| c9   | 9   |" in text and "c10" not in text
    series = formatters.render(frame["pop"], max_chars=120)
    assert series.startswith("polars.Series 'pop': 30 values, dtype Int64\nfirst ")
    assert len(series) <= 120


def _table_rows(text: str) -> list[list[str]]:
    """The cells of each Markdown table row (split on `|` not escaped as `\\|`)."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def test_pipes_and_line_breaks_in_cells_keep_the_table_shape(formatters: Formatters) -> None:
    data = {"a|b": ["x|y", "line1\nline2", "r\r\nn"], "c": [1, 2, 3]}
    for value in (pd.DataFrame(data, index=["i|1", "i2", "i3"]), pl.DataFrame(data)):
        rows = _table_rows(formatters.render(value))
        assert len(rows) == 5  # header, rule, three rows: no row broken in two
        assert {len(row) for row in rows} == {len(rows[0])}
        assert "a\\|b" in rows[0]
        assert "x\\|y" in rows[2] and "line1<br>line2" in rows[3] and "r<br>n" in rows[4]
