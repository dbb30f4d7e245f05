"""A deterministic demo model: the same conversation always yields the same reply.

It answers in real Markdown, calls a calculator tool for arithmetic, and understands a few
slash commands that tests, benchmarks and demos rely on (see `respond`).
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: Limits that keep `/stream` and the calculator from exhausting the server.
MAX_STREAM_DELTAS = 100_000
MAX_STREAM_CHARS = 10_000_000
MAX_RESULT_BITS = 100_000
NOT_ARITHMETIC = "not an arithmetic expression"


@dataclass(frozen=True)
class Text:
    """One streamed text delta."""

    text: str


@dataclass(frozen=True)
class Call:
    """A tool call and the result the tool produced."""

    name: str
    args: dict[str, str]
    result: str


@dataclass(frozen=True)
class Fail:
    """The model fails mid-reply."""

    message: str


Step = Text | Call | Fail


@dataclass(frozen=True)
class Plan:
    """Everything the model will stream for one prompt, in order."""

    steps: list[Step]
    delay: float | None = None  # seconds between steps; None means the server's delay
    output_tokens: int | None = None  # None means: count the words of the text

    @property
    def text(self) -> str:
        return "".join(step.text for step in self.steps if isinstance(step, Text))

    @property
    def failure(self) -> str | None:
        return next((step.message for step in self.steps if isinstance(step, Fail)), None)

    def tokens(self) -> int:
        return count_tokens(self.text) if self.output_tokens is None else self.output_tokens


@dataclass(frozen=True)
class Turn:
    """A finished exchange the model remembers."""

    user: str
    assistant: str


class CalculatorError(ValueError):
    """The expression is not plain arithmetic, or cannot be evaluated."""


def count_tokens(text: str) -> int:
    """Deterministic stand-in for a tokenizer: whitespace-separated words."""
    return len(text.split())


def input_tokens(prompt: str, history: Sequence[Turn]) -> int:
    """A real model reads the whole conversation, so the history counts too."""
    context = " ".join(f"{turn.user} {turn.assistant}" for turn in history)
    return count_tokens(context) + count_tokens(prompt)


def deltas(text: str) -> list[Step]:
    """Split text into small word-sized deltas whose concatenation is exactly `text`."""
    return [Text(piece) for piece in re.findall(r"\S+\s*|\s+", text)]


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def calculate(expression: str) -> int | float:
    """Evaluate arithmetic by walking its syntax tree: numbers and + - * / // % ** only."""
    try:
        return _evaluate(ast.parse(expression.strip(), mode="eval").body)
    except (SyntaxError, MemoryError):
        raise CalculatorError(NOT_ARITHMETIC) from None
    except RecursionError:
        raise CalculatorError("the expression is nested too deeply") from None
    except ZeroDivisionError:
        raise CalculatorError("division by zero") from None
    except OverflowError:
        raise CalculatorError("the result is too large") from None


def _evaluate(node: ast.expr) -> int | float:
    number = node.value if isinstance(node, ast.Constant) else None
    if isinstance(number, (int, float)) and not isinstance(number, bool):
        _bits(number)
        return number
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and _bits(left) * max(right, 0) > MAX_RESULT_BITS:
            raise OverflowError
        result = _BINARY[type(node.op)](left, right)
        if _bits(result) > MAX_RESULT_BITS:
            raise OverflowError
        return result
    raise CalculatorError(NOT_ARITHMETIC)


def _bits(value: int | float | complex) -> int:
    """Size of a number, to refuse results that are infinite or would take long to compute."""
    if isinstance(value, complex):
        raise CalculatorError("the result is not a real number")
    if not math.isfinite(value):
        raise OverflowError
    return int(abs(value)).bit_length()


def format_number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


_ARITHMETIC = re.compile(
    r"^\s*(?:please\s+)?(?:calculate|compute|evaluate|what\s+is|what's)\s+"
    r"(?P<expr>[-+*/%().\d\s]*\d[-+*/%().\d\s]*?)\s*[?.!]?\s*$",
    re.IGNORECASE,
)


def respond(prompt: str, history: Sequence[Turn] = ()) -> Plan:
    """The reply to `prompt` after the turns in `history`.

    Triggers: arithmetic ("calculate 2+3*4", "what is 6*7?") calls the calculator tool;
    `/echo TEXT` replies TEXT; `/stream N SIZE [DELAY_MS]` sends N deltas of SIZE characters;
    `/code` answers with a Python block; `/xss` with hostile Markdown; `/fail` fails mid-stream.
    Anything else gets a Markdown reply that quotes the prompt and counts the turns.
    """
    command, _, rest = prompt.partition(" ")
    if command == "/echo":
        return Plan(deltas(rest))
    if command == "/stream":
        return _stream(rest)
    if command in _FIXED:
        return _FIXED[command]
    match = _ARITHMETIC.match(prompt)
    if match:
        return _calculator(match["expr"].strip())
    return _chat(prompt, history)


def _calculator(expression: str) -> Plan:
    try:
        result = format_number(calculate(expression))
    except CalculatorError as exc:
        result = f"error: {exc}"
        answer = f" I could not evaluate `{expression}`: {exc}."
    else:
        answer = f" `{expression}` = **{result}**."
    call = Call("calculator", {"expression": expression}, result)
    return Plan([*deltas("Let me use the calculator."), call, *deltas(answer)])


def _stream(arguments: str) -> Plan:
    parts = arguments.split()
    usage = "Usage: `/stream N SIZE [DELAY_MS]`, e.g. `/stream 100 8 10`."
    if len(parts) not in (2, 3) or not all(part.isdigit() for part in parts):
        return Plan(deltas(usage))
    count, size = int(parts[0]), int(parts[1])
    if count > MAX_STREAM_DELTAS or count * size > MAX_STREAM_CHARS or size == 0:
        limits = f"at most {MAX_STREAM_DELTAS} deltas and {MAX_STREAM_CHARS} characters"
        return Plan(deltas(f"{usage} SIZE must be positive; {limits}."))
    delay = int(parts[2]) / 1000 if len(parts) == 3 else None
    letters = "abcdefghijklmnopqrstuvwxyz"
    steps: list[Step] = [Text(letters[i % 26] * size) for i in range(count)]
    return Plan(steps, delay=delay, output_tokens=count)


def _chat(prompt: str, history: Sequence[Turn]) -> Plan:
    quoted = " ".join(prompt.split())[:200]
    turn = len(history) + 1
    if history:
        earlier = " ".join(history[-1].user.split())[:200]
        memory = f'Before this you said: "{earlier}". We have exchanged {turn} messages so far.'
    else:
        memory = "This is the start of our conversation."
    text = (
        f'**Turn {turn}.** You said: "{quoted}".\n\n'
        f"{memory}\n\n"
        "I am the nbchat demo model, so my replies are:\n\n"
        "- streamed in small pieces,\n"
        "- written in **Markdown**, and\n"
        "- the same every time for the same conversation.\n\n"
        "```python\n"
        f"words = {count_tokens(prompt)}  # words in your message\n"
        "```\n\n"
        "Try `calculate 2+3*4`, `/echo hello`, `/code`, `/stream 20 5 100` or `/fail`."
    )
    return Plan(deltas(text))


_CODE = """Here is a small Python function:

```python
def fibonacci(n: int) -> list[int]:
    numbers = [0, 1]
    while len(numbers) < n:
        numbers.append(numbers[-1] + numbers[-2])
    return numbers[:n]
```

`fibonacci(10)` returns the first ten Fibonacci numbers."""

_XSS = """# Sanitizer check

<script>alert("script tag")</script>

<img src="x" onerror="alert('img onerror')">

[a javascript link](javascript:alert('link'))

<a href="javascript:alert('raw link')">raw javascript link</a>

<svg onload="alert('svg onload')"><circle r="10"/></svg>

<iframe src="https://example.com/frame"></iframe>

![remote image](https://example.com/tracker.png)

<div style="background:url(javascript:alert('css'))" onclick="alert('click')">styled div</div>

<form action="https://example.com/steal"><input name="secret"><button>Send</button></form>

<object data="https://example.com/plugin.swf"></object>

<math><mi xlink:href="javascript:alert('math')">math link</mi></math>

Plain **bold** text should still render."""

_FIXED = {
    "/code": Plan(deltas(_CODE)),
    "/xss": Plan(deltas(_XSS)),
    "/fail": Plan(
        [*deltas("This reply will stop part way"), Fail("the demo model failed on purpose (/fail)")]
    ),
}
