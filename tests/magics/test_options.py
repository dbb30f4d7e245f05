"""Variable capture and every %%chat / %chat option, in a real kernel."""

from __future__ import annotations

from nbchat.server import ServerHandle

from .conftest import Kernel, text_of


def test_out_variable_holds_the_reply(kernel: Kernel) -> None:
    kernel.ok("%%chat -o first\n/echo one two")
    kernel.ok("%%chat --out second\n/echo three")
    assert kernel.eval("(first.text, first.status, type(first).__name__)") == (
        "one two",
        "complete",
        "Reply",
    )
    assert kernel.eval("second.text") == "three"


def test_line_magic_returns_the_reply_and_shows_it_once(kernel: Kernel) -> None:
    assigned = kernel.ok("r = %chat /echo assigned")
    assert kernel.eval("r.text") == "assigned"
    assert [o["data"]["text/plain"] for o in assigned.visible] == ["assigned"]

    # As the last expression the Reply is not shown a second time.
    last = kernel.ok("%chat /echo shown once")
    assert [o["data"]["text/plain"] for o in last.visible] == ["shown once"]
    assert kernel.eval("_.text") == "shown once"


def test_line_magic_takes_options_before_the_text(kernel: Kernel) -> None:
    execution = kernel.ok("%chat -o v --quiet /echo -o is text here")
    assert execution.outputs == []
    assert kernel.eval("v.text") == "-o is text here"
    kernel.ok("%chat --format=text -- --new is text too")
    assert kernel.eval("_.status") == "complete"


def test_quiet_shows_nothing_but_captures(kernel: Kernel) -> None:
    execution = kernel.ok("%%chat --quiet -o q\n/echo quiet")
    assert execution.displays == []
    assert execution.outputs == []
    assert kernel.eval("q.text") == "quiet"


def test_no_stream_uses_the_non_streaming_endpoint(kernel: Kernel, server: ServerHandle) -> None:
    started = server.store.stats.started
    execution = kernel.ok("%%chat --no-stream -o whole\ncalculate 1+1")
    assert server.store.stats.started == started  # no SSE stream was opened
    # The 201 answer carries the creation time; a streamed reply has none.
    assert kernel.eval("(whole.status, whole.created_at is not None)") == ("complete", True)
    assert len(execution.displays) == 1
    assert text_of(execution) == kernel.eval("whole.text")
    assert "`1+1` = **2**." in kernel.eval("whole.text")


def test_format_text_leaves_plain_text_only(kernel: Kernel) -> None:
    execution = kernel.ok("%%chat --format text\n/echo **not bold**")
    [output] = execution.visible
    assert output["data"] == {"text/plain": "**not bold**"}
    assert all("text/html" not in m["content"]["data"] for m in execution.displays)


def test_format_code_puts_the_first_code_block_in_a_new_cell(kernel: Kernel) -> None:
    execution = kernel.ok("%%chat --format code\n/code")
    [payload] = execution.reply["payload"]
    assert payload["source"] == "set_next_input"
    assert payload["replace"] is False
    assert payload["text"].startswith("def fibonacci(n: int) -> list[int]:\n")
    assert payload["text"].endswith("return numbers[:n]")
    assert "```python" in text_of(execution)

    without_code = kernel.ok("%%chat --format code\n/echo no code here")
    assert without_code.reply["payload"] == []
    assert "no code block" in without_code.stdout


def test_new_option_and_chat_new_start_over(kernel: Kernel) -> None:
    kernel.ok("%%chat --quiet\nhello")
    second = text_of(kernel.ok("%%chat\nagain"))
    assert second.startswith("**Turn 2.**")
    old_id = kernel.current("target.chat_id")

    fresh = text_of(kernel.ok("%%chat --new\nagain"))
    assert fresh.startswith("**Turn 1.**")
    new_id = kernel.current("target.chat_id")
    assert new_id != old_id

    kernel.ok("%chat_new")
    assert kernel.current("history.__len__()") == 0
    assert text_of(kernel.ok("%%chat\nonce more")).startswith("**Turn 1.**")


def test_chat_history_shows_the_conversation(kernel: Kernel) -> None:
    kernel.ok("%%chat --quiet\n/echo first <i>answer</i>")
    kernel.ok("%%chat --quiet\n/echo second answer")
    [output] = kernel.ok("%chat_history").outputs
    html = output["data"]["text/html"]
    you = "<p><strong>You:</strong> /echo"
    assert html.index(f"{you} first") < html.index(f"{you} second")
    assert "<p>first &lt;i&gt;answer&lt;/i&gt;</p>" in html
    assert "You: /echo second answer\n\nsecond answer" in output["data"]["text/plain"]

    [last] = kernel.ok("%chat_history --last 1").outputs
    assert "first" not in last["data"]["text/html"]
    kernel.ok("%chat_new")
    [empty] = kernel.ok("%chat_history").outputs
    assert "<p><em>No messages yet.</em></p>" in empty["data"]["text/html"]
    assert empty["data"]["text/plain"] == "No messages yet."


def test_chat_connect_without_arguments_shows_the_connection(
    kernel: Kernel, server: ServerHandle
) -> None:
    execution = kernel.ok("%chat_connect")
    assert execution.stdout.startswith(f"Chat('{server.url}', dialect='chats'")
    assert "model='demo'" in execution.stdout


def test_line_magic_questions_are_sent_not_taken_for_help(kernel: Kernel) -> None:
    # IPython reads a line ending in `word?` as a help request; %chat lines are exempt.
    shown = kernel.ok("%chat /echo What is Python?")
    assert [o["data"]["text/plain"] for o in shown.visible] == ["What is Python?"]
    kernel.ok("n = 6\nanswer = %chat /echo Why {n}*7?")
    assert kernel.eval("answer.text") == "Why 6*7?"
    kernel.ok("def ask():\n    r = %chat /echo Inside?\n    return r\ninner = ask()")
    assert kernel.eval("inner.text") == "Inside?"
