"""`ChatWidget()` with no arguments shares the magics' conversation."""

from __future__ import annotations

from nbchat.server import ServerHandle

from .conftest import Kernel


def test_widget_sees_turns_sent_by_the_magics(kernel: Kernel, server: ServerHandle) -> None:
    kernel.ok("%%chat --quiet\n/echo before the widget")
    kernel.ok("from nbchat import ChatWidget\nw = ChatWidget()")
    assert kernel.eval("len(w.messages)") == 2  # the earlier turn is in its transcript

    kernel.ok("%%chat -o r\n/echo sent from a cell")
    messages = kernel.eval("[(m['role'], m['text'], m['status']) for m in w.messages]")
    assert messages[2:] == [
        ("user", "/echo sent from a cell", "complete"),
        ("assistant", "sent from a cell", "complete"),
    ]
    # A message the widget sends lands in the same conversation the magics use.
    kernel.ok("w.ask('/echo sent from the widget')\nw.wait(30)")
    history = kernel.eval(
        "[t.reply.text for t in __import__('nbchat.magics').magics.current_chat().history]"
    )
    assert history[-1] == "sent from the widget"
