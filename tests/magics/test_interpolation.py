"""`{name}` interpolation from the user namespace, literal braces, and its errors."""

from __future__ import annotations

import pytest

from nbchat.server import ServerHandle

from .conftest import Kernel


def test_names_are_replaced_from_the_user_namespace(kernel: Kernel) -> None:
    kernel.ok("topic = 'sparse matrices'\nclass P: name = 'Ada'\nscores = [3, 14]")
    kernel.ok("%%chat -o r\n/echo {topic} for {P.name}: {scores[1]:04d} {topic!r}")
    assert kernel.eval("r.text") == "sparse matrices for Ada: 0014 'sparse matrices'"


def test_double_braces_are_literal(kernel: Kernel) -> None:
    kernel.ok('%%chat -o r\n/echo {{"a": 1}} and {{topic}}')
    assert kernel.eval("r.text") == '{"a": 1} and {topic}'


def test_no_interpolate_sends_braces_as_written(kernel: Kernel) -> None:
    kernel.ok("%%chat -o r --no-interpolate\n/echo {missing} {{x}} }")
    assert kernel.eval("r.text") == "{missing} {{x}} }"


def test_line_magic_interpolates_locals_of_a_function(kernel: Kernel) -> None:
    kernel.ok("def ask(n):\n    word = 'local'\n    r = %chat /echo {word} {n}\n    return r\n")
    kernel.ok("answer = ask(7)")
    assert kernel.eval("answer.text") == "local 7"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%%chat\nTell me about {no_such_name}", "{no_such_name}: no such variable"),
        ("%%chat\nvalue {P.missing}", "{P.missing}: no such variable"),
        ("%%chat\nan empty {} field", "empty {} in the message"),
        ("%%chat\nunbalanced { brace", "cannot interpolate the message"),
        ("%%chat\na lone } brace", "cannot interpolate the message"),
        ("%chat about {nope}", "{nope}: no such variable"),
    ],
)
def test_bad_interpolation_is_a_short_error_before_sending(
    kernel: Kernel, server: ServerHandle, cell: str, message: str
) -> None:
    kernel.ok("class P: name = 'Ada'")
    started = server.store.stats.started
    turns = kernel.current("history.__len__()")

    execution = kernel.run(cell)

    assert execution.reply["status"] == "error"
    assert execution.reply["ename"] == "UsageError"
    [stderr] = [m["content"]["text"] for m in execution.messages if m["msg_type"] == "stream"]
    assert message in stderr
    assert "--no-interpolate" in stderr or "empty" not in message
    assert len(stderr.splitlines()) == 1  # one line, no traceback
    # Nothing was sent: no stream on the server, no turn in the conversation.
    assert server.store.stats.started == started
    assert kernel.current("history.__len__()") == turns
