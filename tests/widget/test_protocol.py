"""The widget's message protocol, over a recording comm, against the reference server."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

import nbchat
import nbchat.session
from nbchat.errors import NbchatError
from nbchat.server import ServerHandle, start_server
from nbchat.widget import FLUSH_CHARS, FLUSH_INTERVAL, FLUSH_LATENCY, ChatWidget

from .conftest import MakeChat, open_view, recorder, view_transcript, wait_for


def deltas_text(messages: list[dict[str, Any]]) -> str:
    """The text deltas and turn_end messages carry (turn_end: what was still pending)."""
    return "".join(m["text"] for m in messages if m["type"] in ("delta", "turn_end"))


def test_reply_streams_as_numbered_deltas_then_commits_once(make_widget) -> None:
    widget = make_widget()
    comm = open_view(widget)
    widget.ask("/stream 40 25 5")
    reply = widget.wait(10)

    assert reply is not None and reply.status == "complete"
    assert len(reply.text) == 1000
    customs = comm.customs()
    assert [m["seq"] for m in customs] == list(range(1, len(customs) + 1))
    assert customs[0]["type"] == "turn_start" and customs[0]["user"] == "/stream 40 25 5"
    end = customs[-1]
    assert end["type"] == "turn_end" and end["turn"] == customs[0]["turn"]
    assert (end["entry"]["status"], end["entry"]["error"]) == ("complete", None)
    assert end["entry"]["usage"] == widget.messages[-1]["usage"]
    assert end["user_entry"] == widget.messages[-2]
    assert {m["type"] for m in customs[1:-1]} == {"delta"}
    assert len(customs) > 3  # it streamed, in several batches
    # The small wire form of a delta: ["delta", seq, turn, text].
    assert all(len(m) == 4 for m in comm.raw_customs() if isinstance(m, list))
    # Each character goes once: turn_start, deltas, and the text still pending at the end.
    assert customs[0]["text"] + deltas_text(customs) == reply.text

    # The finished turn is not re-sent as state: the views build it from what streamed.
    assert all("messages" not in s for s in comm.state_updates())
    user, assistant = widget.messages
    assert user == {
        "id": "t1-user",
        "turn": "t1",
        "role": "user",
        "text": "/stream 40 25 5",
        "status": "complete",
        "tool_calls": [],
        "usage": None,
        "error": None,
    }
    assert assistant["role"] == "assistant" and assistant["text"] == reply.text
    assert assistant["status"] == "complete"
    assert view_transcript(customs) == widget.messages
    assert widget.get_state()["messages"] == widget.messages  # what a view opened later gets
    assert widget.status == "idle"


def test_a_turn_costs_the_same_late_in_a_conversation(make_widget) -> None:
    widget = make_widget()
    comm = open_view(widget)
    sizes = []
    for _ in range(30):
        before = len(comm.sent)
        widget.ask("/echo the same short reply")
        widget.wait(10)
        sizes.append(len(json.dumps([d for _, d in comm.sent[before:]])))
    assert len(widget.messages) == 60
    assert view_transcript(comm.customs()) == widget.messages
    assert sizes[-1] <= sizes[0] + 10  # a longer turn key and seq, nothing more


def test_with_no_view_the_transcript_goes_as_state(make_widget) -> None:
    """A headless run (nbclient, papermill) saves the widget state the kernel sent."""
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/echo saved by the kernel")
    widget.wait(10)
    updates = [u["messages"] for u in comm.state_updates() if "messages" in u]
    assert updates and updates[-1] == widget.messages
    assert updates[-1][-1]["text"] == "saved by the kernel"


def test_deltas_batch_text_but_a_slow_stream_still_flows(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/stream 300 10 3")  # ~1 s of small deltas
    reply = widget.wait(15)

    assert reply is not None and reply.status == "complete"
    timed = comm.timed_customs()
    times = [t for t, m in timed if m["type"] == "delta"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 3  # text kept arriving while it streamed
    assert min(gaps) >= FLUSH_INTERVAL * 0.9
    assert (len(times) - 1) / (times[-1] - times[0]) <= 30.5  # flushes per second
    # A delta goes out once it carries FLUSH_CHARS, or once its text waited FLUSH_LATENCY.
    for (before, _), (at, m) in itertools.pairwise(timed):
        if m["type"] == "delta":
            assert len(m["text"]) >= FLUSH_CHARS or at - before >= FLUSH_LATENCY * 0.9

    slow = make_widget()
    comm = recorder(slow)
    slow.ask("/stream 25 5 100")  # 50 characters a second for 2.5 s
    slow.wait(10)
    times = [t for t, m in comm.timed_customs() if m["type"] == "delta"]
    assert len(times) >= 3  # it did not all wait for the end
    assert max(b - a for a, b in itertools.pairwise(times)) < FLUSH_LATENCY + 0.25


def test_view_catches_up_mid_stream(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/stream 200 10 5")
    wait_for(lambda: len(comm.customs()) >= 5)

    comm.from_view({"type": "sync", "have": 0, "last": None})  # a view opens (or reconnects)
    customs = comm.customs()
    sync_at = next(i for i, m in enumerate(customs) if m["type"] == "sync")
    sync = customs[sync_at]
    assert sync["seq"] == customs[sync_at - 1]["seq"]
    assert (sync["base"], sync["messages"]) == (0, [])
    (live,) = sync["live"]
    assert live["user"] == "/stream 200 10 5"
    assert live["text"]  # the text so far, in one piece

    reply = widget.wait(15)
    assert reply is not None and reply.status == "complete"
    after = [m for m in comm.customs()[sync_at + 1 :] if m["seq"] > sync["seq"]]
    # What a view knows after the sync plus what follows is the reply so far, nothing twice.
    assert reply.text == live["text"] + deltas_text(after)
    assert len(deltas_text(after)) > 0
    assert after[-1]["type"] == "turn_end"


def test_sync_when_idle_reports_no_live_turn(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/echo hi")
    widget.wait(10)
    comm.from_view({"type": "sync", "have": 0, "last": None})
    seq = comm.customs()[-2]["seq"]
    assert comm.customs()[-1] == {
        "type": "sync",
        "seq": seq,
        "live": [],
        "base": 0,
        "messages": widget.messages,
    }


def test_sync_sends_the_transcript_a_view_lacks(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    for text in ("one", "two", "three"):
        widget.ask(f"/echo {text}")
        widget.wait(10)

    comm.from_view({"type": "sync", "have": 2, "last": "t1"})  # it has turn 1
    sync = comm.customs()[-1]
    assert (sync["base"], sync["messages"]) == (2, widget.messages[2:])
    comm.from_view({"type": "sync", "have": 6, "last": "t3"})  # it has everything
    assert (comm.customs()[-1]["base"], comm.customs()[-1]["messages"]) == (6, [])
    # A copy that differs from the kernel's (another conversation) gets all of it.
    for have, last in ((2, "t9"), (8, "t4"), ("2", "t1"), (-1, None)):
        comm.from_view({"type": "sync", "have": have, "last": last})
        sync = comm.customs()[-1]
        assert (sync["base"], sync["messages"]) == (0, widget.messages)


def test_stop_closes_the_stream_and_keeps_the_partial_reply(make_widget, server) -> None:
    widget = make_widget()
    comm = recorder(widget)
    cancelled = server.store.stats.cancelled
    widget.ask("/stream 2000 10 10")  # 20 s if not stopped
    wait_for(lambda: widget.status == "streaming" and len(comm.customs()) >= 3)

    comm.from_view({"type": "stop"})
    reply = widget.wait(5)

    assert reply is not None and reply.status == "stopped"
    assert 0 < len(reply.text) < 20000
    assert widget.messages[-1]["status"] == "stopped"
    assert widget.messages[-1]["text"] == reply.text
    assert comm.customs()[-1]["type"] == "turn_end"
    assert comm.customs()[-1]["entry"]["status"] == "stopped"
    assert view_transcript(comm.customs()) == widget.messages
    assert widget.status == "idle"
    wait_for(lambda: server.store.stats.cancelled > cancelled, timeout=5)


def test_widget_stays_usable_after_stop(make_widget) -> None:
    widget = make_widget()
    widget.ask("/stream 2000 10 10")
    wait_for(lambda: len(widget.chat.history[-1].reply.text) > 0)
    widget.stop()
    widget.wait(5)
    widget.ask("/echo again")
    reply = widget.wait(10)
    assert reply is not None and reply.text == "again"
    assert [m["status"] for m in widget.messages if m["role"] == "assistant"] == [
        "stopped",
        "complete",
    ]


def test_several_widgets_stream_at_once(make_widget) -> None:
    widgets = [make_widget() for _ in range(3)]
    for index, widget in enumerate(widgets):
        widget.ask(f"/stream 60 10 10 {index}"[: len("/stream 60 10 10")])
    replies = [w.wait(15) for w in widgets]

    assert all(r is not None and r.status == "complete" and len(r.text) == 600 for r in replies)
    spans = []
    for widget in widgets:
        timed = recorder(widget).timed_customs()
        customs = [m for _, m in timed]
        assert [m["seq"] for m in customs] == list(range(1, len(customs) + 1))
        assert widget.messages[-1]["text"] == customs[0]["text"] + deltas_text(customs)
        assert view_transcript(customs) == widget.messages
        spans.append((timed[0][0], timed[-1][0]))
    # They overlapped in time: each started before any other finished.
    assert max(start for start, _ in spans) < min(end for _, end in spans)


def test_turns_sent_elsewhere_appear(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    finished: list[nbchat.Reply] = []
    widget.on_reply(finished.append)

    reply = widget.chat.send("/echo from another cell")  # e.g. %%chat on the same Chat

    customs = comm.customs()
    assert customs[0]["type"] == "turn_start" and customs[0]["user"] == "/echo from another cell"
    assert customs[-1]["type"] == "turn_end"
    assert widget.messages[-1]["text"] == "from another cell"
    assert view_transcript(customs) == widget.messages
    assert finished == [reply]
    assert widget.status == "idle"  # not this widget's own stream


def test_attaching_shows_the_history_so_far(make_chat: MakeChat) -> None:
    chat = make_chat()
    chat.send("/echo earlier")
    widget = ChatWidget(chat)
    assert [(m["role"], m["text"]) for m in widget.messages] == [
        ("user", "/echo earlier"),
        ("assistant", "earlier"),
    ]
    widget.close()


@pytest.fixture(scope="module")
def paced_server() -> Iterator[ServerHandle]:
    """A server pausing 60 ms before each step, so the tool call streams before the commit."""
    with start_server(delay=0.06) as handle:
        yield handle


def test_tool_calls_reach_the_view(paced_server: ServerHandle, make_widget) -> None:
    widget = make_widget(nbchat.Chat(paced_server.url, dialect="agents", agent_id="ag_demo"))
    comm = recorder(widget)
    widget.ask("calculate 2+3*4")
    reply = widget.wait(10)

    assert reply is not None and reply.status == "complete"
    updates = [t for m in comm.customs() if m["type"] == "delta" for t in m.get("tools", [])]
    updates += [
        {"index": i, **t}
        for m in comm.customs()
        if m["type"] == "turn_start"
        for i, t in enumerate(m["tool_calls"])
    ]
    final = [u for u in updates if u["done"]]
    # The demo model says "Let me use the calculator." before calling it: the card goes there.
    offset = len("Let me use the calculator.")
    assert reply.text[:offset] == "Let me use the calculator."
    assert final[-1] == {
        "index": 0,
        "name": "calculator",
        "args": {"expression": "2+3*4"},
        "id": None,
        "result": "14",
        "done": True,
        "offset": offset,
        "status": "done",  # the server ran it: no approval, no elapsed time of ours
        "elapsed": None,
    }
    assert view_transcript(comm.customs()) == widget.messages
    assert widget.messages[-1]["tool_calls"] == [
        {
            "name": "calculator",
            "args": {"expression": "2+3*4"},
            "id": None,
            "result": "14",
            "done": True,
            "offset": offset,
            "status": "done",
            "elapsed": None,
        }
    ]


def test_regenerate_replaces_the_failed_turn_in_place(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/echo first")
    widget.wait(10)
    widget.ask("/fail")
    reply = widget.wait(10)

    assert reply is not None and reply.status == "error"
    failed = widget.messages[-1]
    assert failed["status"] == "error" and failed["error"]["message"]
    assert failed["text"] == reply.text and reply.text  # the partial text stays
    failed_turn = widget.chat.history[-1]

    comm.from_view({"type": "regenerate", "turn": failed["turn"]})
    again = widget.wait(10)
    assert again is not None and again.status == "error"
    assert [m["text"] for m in widget.messages if m["role"] == "user"] == ["/echo first", "/fail"]
    assert len(widget.messages) == 4
    assert failed["turn"] not in {m["turn"] for m in widget.messages}
    assert failed_turn not in widget.chat.history
    assert [t.user for t in widget.chat.history] == ["/echo first", "/fail"]


def test_regenerate_a_good_reply_and_edit_the_last_message(make_widget) -> None:
    widget = make_widget()
    widget.ask("/echo one")
    widget.wait(10)
    first_key = widget.messages[-1]["turn"]
    widget.regenerate()
    widget.wait(10)
    assert [m["text"] for m in widget.messages] == ["/echo one", "one"]
    assert widget.messages[-1]["turn"] != first_key

    widget.regenerate(widget.messages[-1]["turn"], text="/echo two")
    widget.wait(10)
    assert [m["text"] for m in widget.messages] == ["/echo two", "two"]
    assert [t.user for t in widget.chat.history] == ["/echo two"]


def test_regenerate_refuses_an_earlier_turn_and_while_streaming(make_widget) -> None:
    widget = make_widget()
    widget.ask("/echo a")
    widget.wait(10)
    earlier = widget.messages[-1]["turn"]
    widget.ask("/echo b")
    widget.wait(10)
    with pytest.raises(nbchat.errors.ConfigurationError, match="only the last turn"):
        widget.regenerate(earlier)
    widget.ask("/stream 500 10 10")
    with pytest.raises(NbchatError, match="still streaming"):
        widget.regenerate()
    widget.stop()
    widget.wait(5)
    assert [t.user for t in widget.chat.history] == ["/echo a", "/echo b", "/stream 500 10 10"]


def test_an_edit_the_kernel_cannot_apply_goes_back_to_the_view(make_widget) -> None:
    """An edit sent from the panel after another turn ended (from a cell, say) is refused with
    its text and the reason, so the view gives it back instead of losing it."""
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/echo a")
    widget.wait(10)
    edited = widget.messages[-1]["turn"]
    widget.ask("/echo b")  # lands while the user edits the message of turn a
    widget.wait(10)
    comm.from_view({"type": "regenerate", "turn": edited, "text": "/echo a, edited"})
    [refused] = [m for m in comm.customs() if m["type"] == "refused"]
    assert refused["text"] == "/echo a, edited" and refused["context"] == []
    assert "only the last turn can be regenerated" in refused["message"]
    assert "another turn ended after it" in refused["message"]
    assert [t.user for t in widget.chat.history] == ["/echo a", "/echo b"]


def test_http_error_before_the_stream_shows_the_server_message(server, make_widget) -> None:
    chat = nbchat.Chat(server.url, dialect="agents", agent_id="ag_broke")
    widget = make_widget(chat)
    widget.ask("hello")
    reply = widget.wait(10)
    assert reply is not None and reply.status == "error"
    assert widget.messages[-1]["error"]["code"] == "http_402"
    assert widget.messages[-1]["error"]["message"] == reply.error.message
    assert widget.status == "idle"
    chat.close()


def test_send_and_new_from_the_view(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    comm.from_view({"type": "send", "text": "/echo typed"})
    widget.wait(10)
    statuses = [s["status"] for s in comm.state_updates() if "status" in s]
    assert statuses == ["streaming", "idle"]
    assert widget.messages[-1]["text"] == "typed"

    comm.from_view({"type": "new"})
    assert widget.messages == []
    assert widget.chat.history == []


def test_send_while_streaming_is_refused(make_widget) -> None:
    widget = make_widget()
    widget.ask("/stream 500 10 10")
    with pytest.raises(NbchatError, match="still streaming"):
        widget.ask("/echo too soon")
    widget.stop()
    widget.wait(5)
    assert [m["text"] for m in widget.messages if m["role"] == "user"] == ["/stream 500 10 10"]


def test_empty_message_is_refused_with_a_typed_error(make_widget) -> None:
    widget = make_widget()
    with pytest.raises(nbchat.errors.ConfigurationError):
        widget.ask("   ")
    assert widget.status == "idle"


def test_no_secret_reaches_widget_state_or_the_comm(make_chat: MakeChat) -> None:
    secrets = ["tok-SECRET-4f1d", "cookie-SECRET-9a2b"]
    chat = make_chat(token=secrets[0], cookies={"session": secrets[1]})
    widget = ChatWidget(chat)
    widget.ask("/echo hi")
    widget.wait(10)
    comm = recorder(widget)
    everything = (
        json.dumps(widget.get_state()) + json.dumps([d for _, d in comm.sent]) + repr(widget)
    )
    assert widget.messages[-1]["text"] == "hi"
    for secret in secrets:
        assert secret not in everything
    widget.close()


def test_default_chat_comes_from_the_magics(monkeypatch, make_chat: MakeChat) -> None:
    current = make_chat()
    monkeypatch.setattr(nbchat.session, "session", nbchat.session.Session())
    nbchat.session.use_chat(current)  # what %chat_connect does
    widget = ChatWidget()
    assert widget.chat is current
    widget.close()


def test_default_chat_without_the_magics_reads_the_environment(monkeypatch, server) -> None:
    monkeypatch.setattr(nbchat.session, "session", nbchat.session.Session())  # none chosen yet
    monkeypatch.setenv("NBCHAT_BASE_URL", server.url)
    monkeypatch.setenv("NBCHAT_DIALECT", "agents")
    monkeypatch.setenv("NBCHAT_AGENT_ID", "ag_demo")
    widget = ChatWidget()
    widget.ask("/echo from env")
    assert widget.wait(10).text == "from env"
    widget.close()


def test_chat_and_chat_arguments_together_are_refused(make_chat: MakeChat) -> None:
    with pytest.raises(nbchat.errors.ConfigurationError):
        ChatWidget(make_chat(), model="gpt-4")


def test_widget_made_mid_turn_picks_the_turn_up(make_chat: MakeChat) -> None:
    chat = make_chat()
    events = chat.stream("/stream 100 10 10")
    events.open()
    iterator = iter(events)
    for _ in range(10):
        next(iterator)  # ten deltas in, as if another cell were streaming

    widget = ChatWidget(chat)
    comm = recorder(widget)
    for _ in iterator:
        pass
    events.close()

    start = comm.customs()[0]
    assert start["type"] == "turn_start" and start["user"] == "/stream 100 10 10"
    assert len(start["text"]) >= 100  # what was there already, in one piece
    assert widget.messages[-1]["text"] == events.reply.text and len(events.reply.text) == 1000
    widget.close()


def test_close_stops_streaming_and_stops_listening(make_widget) -> None:
    widget = make_widget()
    comm = recorder(widget)
    widget.ask("/stream 2000 10 10")
    wait_for(lambda: len(comm.customs()) >= 2)
    chat = widget.chat
    widget.close()
    assert chat.history[-1].reply.status == "stopped"
    sent = len(comm.sent)
    chat.send("/echo after close")
    assert len(comm.sent) == sent


def test_widget_send_keeps_its_ipywidgets_meaning(make_widget, caplog) -> None:
    import ipywidgets

    widget = make_widget()
    assert ChatWidget.send is ipywidgets.Widget.send  # ask() is the chat's own method
    comm = recorder(widget)
    widget.send({"kind": "custom", "payload": 1})  # reaches the views unchanged
    assert comm.customs()[-1] == {"kind": "custom", "payload": 1}
    comm.from_view({"kind": "anywidget-command", "name": "x"})  # not ours: left alone
    assert "unknown message" not in caplog.text
    assert widget.messages == []
