"""Rows become prompts with `%%chat`'s interpolation rules; bad input fails before sending."""

from __future__ import annotations

import pandas
import pytest

from nbchat.batching.rows import render_prompts
from nbchat.errors import ConfigurationError, TemplateError


def test_a_dataframe_list_of_dicts_and_list_of_strings_give_one_prompt_per_row() -> None:
    frame = pandas.DataFrame({"review": ["good", "bad"], "stars": [5, 1]})
    assert render_prompts("{review} ({stars:02d})", frame) == ["good (05)", "bad (01)"]
    assert render_prompts("{a!r}", [{"a": "x"}, {"a": "y"}]) == ["'x'", "'y'"]
    assert render_prompts("Summarize: {text}", ["one", "two"]) == [
        "Summarize: one",
        "Summarize: two",
    ]


def test_double_braces_are_literal() -> None:
    assert render_prompts('{{"label": {x}}}', [{"x": 1}]) == ['{"label": 1}']


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{missing}", "row 1: {missing}: no such field; write {{ and }} for literal braces"),
        ("{}", "row 0: empty {} in the message"),
        ("a { brace", "row 0: cannot interpolate the message"),
    ],
)
def test_a_bad_field_names_the_row_and_its_fields(template: str, message: str) -> None:
    rows = [{"missing": "here"}, {"other": 1}] if "missing" in template else [{"other": 1}]
    with pytest.raises(TemplateError) as caught:
        render_prompts(template, rows)
    assert message in str(caught.value)
    assert "(its fields: other)" in str(caught.value)


@pytest.mark.parametrize("rows", ["a string", {"a": 1}, 42, [1, 2]])
def test_rows_of_another_kind_are_a_configuration_error(rows: object) -> None:
    with pytest.raises(ConfigurationError, match="dict"):
        render_prompts("{text}", rows)


def test_an_empty_template_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="template"):
        render_prompts("  ", ["x"])
