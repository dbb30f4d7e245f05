"""The demo model on its own: triggers, determinism, and a calculator that cannot run code."""

from __future__ import annotations

import pytest

from nbchat.server.demo_model import (
    CalculatorError,
    Call,
    Fail,
    Text,
    Turn,
    calculate,
    count_tokens,
    respond,
)


@pytest.mark.parametrize(
    ("expression", "value"),
    [("2+3*4", 14), ("6*7", 42), ("7/2", 3.5), ("(1+2)**3", 27), ("-4 // 3", -2), ("10 % 4", 2)],
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    assert calculate(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "(1).__class__",
        "x + 1",
        "[1, 2]",
        "'a' * 3",
        "lambda: 1",
        "2 +",
    ],
)
def test_calculator_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(CalculatorError, match="not an arithmetic expression"):
        calculate(expression)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1/0", "division by zero"),
        ("9**9**9", "too large"),
        ("((9**999)**999)**999", "too large"),
        ("(-8)**0.5", "not a real number"),
        ("1e999", "too large"),
        ("1e999 - 1e999", "too large"),
        ("1e308 * 10", "too large"),
        ("-" * 1000 + "1", "nested too deeply"),
    ],
)
def test_calculator_reports_impossible_results(expression: str, reason: str) -> None:
    with pytest.raises(CalculatorError, match=reason):
        calculate(expression)


@pytest.mark.parametrize(
    ("prompt", "expression", "result"),
    [
        ("calculate 2+3*4", "2+3*4", "14"),
        ("what is 6*7?", "6*7", "42"),
        ("What's 1/0", "1/0", None),
    ],
)
def test_arithmetic_prompts_call_the_calculator(
    prompt: str, expression: str, result: str | None
) -> None:
    plan = respond(prompt)
    calls = [step for step in plan.steps if isinstance(step, Call)]
    assert [(c.name, c.args) for c in calls] == [("calculator", {"expression": expression})]
    if result is None:
        assert calls[0].result == "error: division by zero"
        assert "could not evaluate" in plan.text
    else:
        assert calls[0].result == result
        assert f"**{result}**" in plan.text


def test_questions_without_arithmetic_get_an_ordinary_reply() -> None:
    plan = respond("what is quantum computing?")
    assert not any(isinstance(step, Call) for step in plan.steps)
    assert '"what is quantum computing?"' in plan.text


def test_ordinary_reply_is_markdown_quoting_prompt_and_turn() -> None:
    text = respond("Explain quantum computing").text
    assert text.startswith('**Turn 1.** You said: "Explain quantum computing".')
    assert "\n- " in text  # a list
    assert "```python\n" in text  # a code block
    assert "\n\n" in text  # paragraphs


def test_reply_remembers_the_conversation() -> None:
    history = [Turn("first question", "first answer"), Turn("second question", "second answer")]
    text = respond("third question", history).text
    assert text.startswith('**Turn 3.** You said: "third question".')
    assert 'Before this you said: "second question"' in text


def test_replies_are_deterministic_and_streamed_in_small_deltas() -> None:
    first, second = respond("hello there"), respond("hello there")
    assert first == second
    assert len(first.steps) > 20
    assert all(isinstance(step, Text) and len(step.text) < 40 for step in first.steps)


def test_echo_replies_exactly_the_text_in_several_deltas() -> None:
    plan = respond("/echo  two  spaces\nand a line ")
    assert plan.text == " two  spaces\nand a line "
    assert [step.text for step in plan.steps] == [" ", "two  ", "spaces\n", "and ", "a ", "line "]


def test_stream_sends_n_deltas_of_size_chars_with_its_own_delay() -> None:
    plan = respond("/stream 30 7 15")
    assert len(plan.steps) == 30
    assert all(isinstance(s, Text) and len(s.text) == 7 and s.text.isascii() for s in plan.steps)
    assert plan.steps[0].text == "aaaaaaa" and plan.steps[27].text == "bbbbbbb"
    assert plan.delay == 0.015
    assert plan.tokens() == 30
    assert respond("/stream 3 4").delay is None


@pytest.mark.parametrize("arguments", ["", "x 3", "3", "0 0", "200000 1", "1000 100000"])
def test_stream_with_bad_arguments_explains_its_usage(arguments: str) -> None:
    plan = respond(f"/stream {arguments}")
    assert "Usage: `/stream N SIZE [DELAY_MS]`" in plan.text


def test_code_replies_with_one_python_block() -> None:
    text = respond("/code").text
    assert text.count("```python\n") == 1
    assert text.count("```") == 2


def test_xss_reply_carries_hostile_markup() -> None:
    text = respond("/xss").text
    for payload in ("<script>", "onerror=", "javascript:", "<svg onload=", "<iframe", "](https://"):
        assert payload in text
    # The kinds that split Markdown parsers: trailing fence characters, math over a code
    # span, nesting past markdown-it's limit, a mermaid diagram.
    for payload in ("\n```~\n", "$x `$", ">" * 22, "```mermaid\n"):
        assert payload in text


def test_fail_sends_some_text_then_fails() -> None:
    plan = respond("/fail")
    assert isinstance(plan.steps[-1], Fail)
    assert plan.text == "This reply will stop part way"
    assert plan.failure == "the demo model failed on purpose (/fail)"


def test_tokens_are_whitespace_words() -> None:
    assert count_tokens("one two\nthree  four") == 4
    assert respond("/echo a b c").tokens() == 3


def test_context_summarizes_tables_code_errors_and_cuts() -> None:
    message = (
        "/context What stands out?\n"
        "pandas.DataFrame: 2 rows x 2 columns\n"
        "|    | city   |   pop |\n|---:|:-------|------:|\n|  0 | Oslo   |     1 |\n"
        "|  1 | Lima   |     2 |\n"
        "```python\nratio(1, 0)\n```\n"
        "```\nZeroDivisionError: division by zero\n```\n"
        "[… cut 40 of 240 characters]"
    )
    text = respond(message).text
    assert text == respond(message).text  # deterministic
    assert text.splitlines()[2:] == [
        "- a description: `pandas.DataFrame: 2 rows x 2 columns`",
        "- a table with columns `city`, `pop` and 2 rows",
        "- a python code block of 1 line",
        "- an error: `ZeroDivisionError: division by zero`",
        "- a plain code block of 1 line",
        "- a value cut short (40 of 240 characters left out)",
    ]
    assert text.startswith("I received ")
    assert respond("/context just words").text.endswith("with no tables, code or errors in them.")
