"""A deterministic demo model: the same conversation always yields the same reply.

It answers in real Markdown, calls a calculator tool for arithmetic, and understands a few
slash commands that tests, benchmarks and demos rely on (see `respond`).
"""

from __future__ import annotations

import ast
import json
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
class Thought:
    """One streamed piece of reasoning, shown apart from the answer."""

    text: str


@dataclass(frozen=True)
class Call:
    """A tool call and the result the tool produced."""

    name: str
    args: dict[str, Any]
    result: str


@dataclass(frozen=True)
class Fail:
    """The model fails mid-reply."""

    message: str


Step = Text | Thought | Call | Fail


@dataclass(frozen=True)
class Plan:
    """Everything the model will stream for one prompt, in order."""

    steps: list[Step]
    delay: float | None = None  # seconds between steps; None means the server's delay
    output_tokens: int | None = None  # None means: count the words of the text
    sources: tuple[tuple[str, str], ...] = ()  # citations: (title, url)

    @property
    def text(self) -> str:
        return "".join(step.text for step in self.steps if isinstance(step, Text))

    @property
    def reasoning(self) -> str:
        return "".join(step.text for step in self.steps if isinstance(step, Thought))

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


def pieces(text: str) -> list[str]:
    """Small word-sized pieces whose concatenation is exactly `text`."""
    return re.findall(r"\S+\s*|\s+", text)


def deltas(text: str) -> list[Step]:
    """`text` as word-sized text deltas."""
    return [Text(piece) for piece in pieces(text)]


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
    `/code` answers with a Python block; `/xss` with hostile Markdown; `/fail` fails mid-stream;
    `/think PROMPT` reasons first (a reasoning section), then answers PROMPT; `/cite` answers
    with citations; `/context ...` summarizes what the message carries (tables, code, errors,
    cut markers). Anything else gets a Markdown reply that quotes the prompt and counts the
    turns.
    """
    command, _, rest = prompt.partition(" ")
    if command == "/echo":
        return Plan(deltas(rest))
    if command == "/think":
        return _think(rest, history)
    if command == "/stream":
        return _stream(rest)
    if command == "/context":
        return Plan(deltas(summarize(rest)))
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


def answer_with_result(call: Call) -> Plan:
    """The answer after a client ran the tool the model called and sent back `call.result`
    (stateless backends, where the client runs tools)."""
    if call.name == "calculator" and "expression" in call.args:
        return Plan(deltas(f"`{call.args['expression']}` = **{call.result}**."))
    return Plan(deltas(f"The `{call.name}` tool returned: {call.result}"))


@dataclass(frozen=True)
class ToolRequest:
    """A `/tool` prompt: the calls to make in each round, and how many rounds to make."""

    calls: list[Call]
    rounds: int = 1


def tool_request(prompt: str) -> ToolRequest | str | None:
    """Read a prompt that asks for client-side tools, one call per line:

        /tool NAME {"json": "arguments"}
        /tool OTHER {}
        /rounds N        (optional: make the same calls N rounds in a row)

    Returns None for any other prompt, or a usage message for a malformed one.
    """
    lines = [line.strip() for line in prompt.strip().splitlines() if line.strip()]
    if not lines or not lines[0].startswith("/tool "):
        return None
    usage = 'Usage: `/tool NAME {"arg": "value"}`, one call per line, then `/rounds N` if wanted.'
    calls: list[Call] = []
    rounds = 1
    for line in lines:
        command, _, rest = line.partition(" ")
        if command == "/rounds" and rest.strip().isdigit():
            rounds = max(1, int(rest))
            continue
        name, _, arguments = rest.strip().partition(" ")
        try:
            args = json.loads(arguments or "{}")
        except ValueError:
            return usage
        if command != "/tool" or not name or not isinstance(args, dict):
            return usage
        calls.append(Call(name, args, ""))
    return ToolRequest(calls, rounds)


def tool_answer(results: Sequence[Call]) -> Plan:
    """The answer once the client sent the results of the calls it was asked to make."""
    lines = [f"The `{call.name}` tool returned: {call.result}" for call in results]
    return Plan(deltas("\n\n".join(lines)))


def _think(prompt: str, history: Sequence[Turn]) -> Plan:
    question = " ".join(prompt.split())[:200] or "nothing in particular"
    thoughts = (
        f'The user asks me to think about "{question}". '
        "I am a demo model, so I reason in a fixed way: first I read the question, "
        "then I decide what to answer, then I answer."
    )
    answer = respond(prompt, history) if prompt.strip() else Plan(deltas("Ask me something."))
    return Plan([*(Thought(piece) for piece in pieces(thoughts)), *answer.steps])


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


_TABLE_RULE = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")
_FENCE = re.compile(r"^(`{3,})(\w*)\s*$")
_ERROR = re.compile(r"^[A-Z]\w*(Error|Exception|Interrupt|Exit)\b.*$")
_DESCRIBED = re.compile(r"\b(pandas|polars|numpy)\.\w+( '[^']*')?: .+$")
_CUT = re.compile(r"^\[… cut ([\d,]+) of ([\d,]+) characters\]")


def summarize(message: str) -> str:
    """What a message carries, found by its Markdown shape: tables (columns, rows), code blocks
    (language, lines), exception lines, and nbchat's cut markers. Deterministic, so the demo
    notebooks can show what kernel context reached the model."""
    lines = message.splitlines()
    found: list[str] = []
    fence: tuple[str, str, int] | None = None  # (ticks, language, lines so far)
    for index, line in enumerate(lines):
        if fence is not None:
            if line.strip() == fence[0]:
                language = fence[1] or "plain"
                found.append(f"a {language} code block of {_lines(fence[2])}")
                fence = None
            else:
                fence = (fence[0], fence[1], fence[2] + 1)
                if _ERROR.match(line):
                    found.append(f"an error: `{line.strip()}`")
            continue
        opening = _FENCE.match(line.strip())
        if opening:
            fence = (opening[1], opening[2], 0)
        elif _TABLE_RULE.match(line.strip()) and index:
            columns = [c.strip() for c in lines[index - 1].strip().strip("|").split("|")]
            rows = 0
            while index + 1 + rows < len(lines) and lines[index + 1 + rows].startswith("|"):
                rows += 1
            named = ", ".join(f"`{c}`" for c in columns if c) or "no named columns"
            found.append(f"a table with columns {named} and {rows} rows")
        elif _ERROR.match(line):
            found.append(f"an error: `{line.strip()}`")
        else:
            cut, described = _CUT.match(line), _DESCRIBED.search(line)
            if cut:
                found.append(f"a value cut short ({cut[1]} of {cut[2]} characters left out)")
            if described:
                found.append(f"a description: `{described[0]}`")
    words = count_tokens(message)
    head = f"I received {len(message):,} characters ({words:,} words) in {_lines(len(lines))}"
    if not found:
        return f"{head}, with no tables, code or errors in them."
    return head + ". They contain:\n\n" + "\n".join(f"- {item}" for item in found)


def _lines(count: int) -> str:
    return f"{count} line" if count == 1 else f"{count} lines"


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

```
```~
<svg onload="alert('fence with trailing characters')"></svg>
```

$x `$ math over
<svg onload="alert('math over a code span')"></svg>
a code span`

>>>>>>>>>>>>>>>>>>>>>> [a link past the nesting limit](javascript:alert('deep'))

```mermaid
graph TD
  A["<svg onload=alert('mermaid')></svg>"] --> B
```

Plain **bold** text should still render."""

_CITED = """Jupyter notebooks [1] grew out of IPython [2]; both are open source."""

_FIXED = {
    "/cite": Plan(
        deltas(_CITED),
        sources=(
            ("Project Jupyter", "https://jupyter.org/"),
            ("IPython", "https://ipython.org/"),
        ),
    ),
    "/code": Plan(deltas(_CODE)),
    "/xss": Plan(deltas(_XSS)),
    "/fail": Plan(
        [*deltas("This reply will stop part way"), Fail("the demo model failed on purpose (/fail)")]
    ),
}
