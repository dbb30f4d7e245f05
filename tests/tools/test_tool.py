"""`Tool`: the schema from a function's signature and docstring, argument validation, and how
results become the text the model reads."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Literal

import pandas as pd
import pytest

import nbchat
from nbchat.errors import ConfigurationError
from nbchat.tools import MAX_RESULT_CHARS, Tool, ToolArgumentsError, tool_output


@nbchat.tool
def lookup_price(ticker: str, day: str | None = None) -> float:
    """Closing price of a ticker on a day.

    Args:
        ticker: the symbol, e.g. ACME
        day: ISO date; the latest price when omitted
    """
    return 101.5


def test_schema_comes_from_the_signature_hints_and_docstring() -> None:
    assert lookup_price.name == "lookup_price"
    assert lookup_price.description == "Closing price of a ticker on a day."
    schema = lookup_price.parameters
    assert schema["type"] == "object" and schema["required"] == ["ticker"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["ticker"]["type"] == "string"
    assert schema["properties"]["ticker"]["description"] == "the symbol, e.g. ACME"
    assert schema["properties"]["day"]["default"] is None
    assert {"type": "null"} in schema["properties"]["day"]["anyOf"]
    assert lookup_price("ACME") == 101.5  # still callable as the function


def test_options_and_plain_functions() -> None:
    def mood(kind: Literal["calm", "busy"], level: int = 1) -> str:
        return kind * level

    made = nbchat.tool(name="market_mood", description="How the market feels.", timeout=3)(mood)
    assert (made.name, made.description, made.timeout) == (
        "market_mood",
        "How the market feels.",
        3,
    )
    assert made.parameters["properties"]["kind"]["enum"] == ["calm", "busy"]
    plain = Tool(mood)
    assert plain.name == "mood" and plain.description == "" and plain.approve is None


def test_arguments_are_validated_and_converted() -> None:
    def scale(factor: int, when: datetime.date) -> None: ...

    made = Tool(scale)
    assert made.arguments({"factor": "3", "when": "2026-11-30"}) == {
        "factor": 3,
        "when": datetime.date(2026, 11, 30),
    }
    with pytest.raises(ToolArgumentsError, match=r"factor: Input should be a valid integer"):
        made.arguments({"factor": "many", "when": "2026-11-30"})
    with pytest.raises(ToolArgumentsError, match=r"when: Field required"):
        made.arguments({"factor": 1})
    with pytest.raises(ToolArgumentsError, match=r"other: Extra inputs are not permitted"):
        made.arguments({"factor": 1, "when": "2026-11-30", "other": 1})
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        made.arguments('{"factor": 1,')
    with pytest.raises(ToolArgumentsError, match="must be a JSON object"):
        made.arguments([1, 2])


def test_functions_that_cannot_be_described_are_refused() -> None:
    def star(*values: int) -> None: ...

    def positional(a: int, /) -> None: ...

    for function in (star, positional):
        with pytest.raises(ConfigurationError, match="named parameters only"):
            Tool(function)
    with pytest.raises(ConfigurationError, match="a tool must be a function"):
        Tool("lookup")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="approve= takes"):
        Tool(lookup_price.function, approve="sometimes")  # type: ignore[arg-type]
    for timeout in (0, -1, float("nan"), "5"):
        with pytest.raises(ConfigurationError, match="timeout is a number of seconds above 0"):
            Tool(lookup_price.function, timeout=timeout)  # type: ignore[arg-type]
    assert Tool(lookup_price.function, timeout=None).timeout is None


@dataclasses.dataclass
class Quote:
    ticker: str
    day: datetime.date
    price: float


def test_results_are_serialized_predictably() -> None:
    assert tool_output("as it is") == "as it is"
    assert tool_output(101.5) == "101.5"
    assert tool_output(None) == "null"
    assert json.loads(tool_output({"b": [1, 2], "a": {3, 4}})) == {"b": [1, 2], "a": [3, 4]}
    quote = Quote("ACME", datetime.date(2026, 11, 30), 101.5)
    assert json.loads(tool_output(quote)) == {"ticker": "ACME", "day": "2026-11-30", "price": 101.5}
    assert tool_output(object()).startswith('"<object object at')  # unknown: its repr


def test_dataframes_become_a_bounded_table() -> None:
    frame = pd.DataFrame({"ticker": [f"T{i}" for i in range(1000)], "price": range(1000)})
    table = tool_output(frame)
    assert "T0" in table and "T999" in table and "T500" not in table  # the middle is elided
    assert "[1000 rows x 2 columns]" in table
    assert len(table.splitlines()) < 50
    assert not table.startswith('"')  # a table, not a JSON string of one
    column = tool_output(frame["price"])  # a Series too, not the whole column as JSON
    assert "Length: 1000" in column and len(column.splitlines()) < 50


def test_long_results_are_cut_with_a_note() -> None:
    text = tool_output("x" * (MAX_RESULT_CHARS + 5))
    assert text.startswith("x" * MAX_RESULT_CHARS)
    assert text.endswith(
        f"[cut: the result has {MAX_RESULT_CHARS + 5} characters; the first "
        f"{MAX_RESULT_CHARS} are shown]"
    )
    assert tool_output("y" * 50, limit=10) == "y" * 10 + (
        "\n[cut: the result has 50 characters; the first 10 are shown]"
    )
