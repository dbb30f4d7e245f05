"""`ChatWidget`: a chat panel (anywidget) on a `Chat`, streaming without blocking the kernel.

The widget listens to its Chat, so every turn shows, whoever sent it (the panel, `widget.ask`,
`%%chat`, user code). Replies the widget sends stream on a daemon thread, so Stop and other cells
keep working. Text reaches the views as batched custom messages; the finished turn is committed
once to the synced `messages` trait, which is also what a saved notebook keeps.

`turn` is the widget's short key for a turn ("t1", "t2"...), also the "turn" of its two entries
in `messages`. Text still pending when a turn ends is not flushed: the commit carries it.

Kernel → view custom messages; all but "sync" carry the next `seq` (per widget, from 1):
  turn_start {turn, user, text, tool_calls}   a turn began (text so far if it began elsewhere)
  delta      {turn, text, tools?}             new text, changed tool calls [{index, ...}]; < 30/s
  turn_end   {turn, status}                   sent after the turn was committed to `messages`
  sync       {seq, live: [{turn, user, text, tool_calls}]}   reply to a view's {"type": "sync"}
View → kernel: {"type": "sync"}, {"type": "send", "text"}, {"type": "stop"},
{"type": "retry", "turn"}, {"type": "new"}, {"type": "decide", "id", "approved"} (a tool call's
Approve / Deny). Other messages (anywidget's own, e.g. commands)
are left to anywidget: `Widget.send` keeps its ipywidgets meaning.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .chat import Chat, EventStream
from .errors import ConfigurationError, NbchatError
from .events import (
    Event,
    ReasoningDelta,
    Reply,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    ToolResult,
    ToolStatus,
    join_parts,
)
from .session import current_chat
from .turn import Turn

log = logging.getLogger("nbchat")

_STATIC = Path(__file__).parent / "static"
if not (_STATIC / "widget.js").is_file():
    raise ImportError(
        "the ChatWidget front end is not built: run `npm install && npm run build` in js/ "
        "(installing nbchat with pip builds it)"
    )

#: Seconds between two delta flushes, at least: 25 a second, leaving room under 30 messages
#: a second for the turn_start, turn_end and state messages around them.
FLUSH_INTERVAL = 0.04

ReplyCallback = Callable[[Reply], None]


class ChatWidget(anywidget.AnyWidget):
    """A chat panel: `ChatWidget(chat)`, `ChatWidget(**Chat arguments)`, or `ChatWidget()` for
    the session's current conversation (the one the magics use)."""

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    #: The transcript: two dicts per finished turn (user, assistant), committed once.
    messages = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: "streaming" while this widget's own reply streams (the view shows Stop).
    status = traitlets.Enum(["idle", "streaming"], "idle").tag(sync=True)
    allow_remote_images = traitlets.Bool(False).tag(sync=True)
    title = traitlets.Unicode("nbchat").tag(sync=True)

    def __init__(self, chat: Chat | None = None, **chat_kwargs: Any) -> None:
        if chat is not None and chat_kwargs:
            raise ConfigurationError("pass a Chat or the arguments for one, not both")
        if chat is None:
            chat = Chat(**chat_kwargs) if chat_kwargs else current_chat()
        finished = [turn for turn in list(chat.history) if turn.reply.finished]
        self._keys: dict[str, str] = {}  # Turn.id → the short key the views know it by
        super().__init__(messages=[m for t in finished for m in _turn_messages(t, self._key(t))])
        self._chat = chat
        self._lock = threading.RLock()
        self._seq = 0
        self._live: dict[str, _LiveTurn] = {}
        self._ended: set[str] = {turn.id for turn in finished}
        self._stream: EventStream | None = None  # the reply this widget is streaming
        self._last_sent: EventStream | None = None
        self._thread: threading.Thread | None = None
        self._callbacks: list[ReplyCallback] = []
        self._flusher = _Flusher(self._flush, FLUSH_INTERVAL)
        self.on_msg(self._on_view_message)
        self._unsubscribe = chat.subscribe(self._on_turn)

    # -- Python API ---------------------------------------------------------------------

    @property
    def chat(self) -> Chat:
        return self._chat

    def ask(self, text: str, *, model: str | None = None) -> None:
        """Send `text` as if typed in the panel; the reply streams on a background thread.

        Returns at once; `wait()` blocks until the reply finished. Raises NbchatError while this
        widget's previous reply still streams, ConfigurationError for an empty message.
        """
        with self._lock:
            if self._stream is not None:
                raise NbchatError("a reply is still streaming: stop() it or wait() for it")
            events = self._chat.stream(text, model=model)
            self._stream = self._last_sent = events
            self.status = "streaming"
            self._thread = threading.Thread(
                target=self._run, args=(events,), name="nbchat-widget", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the reply this widget is streaming: the HTTP response closes, the text stays."""
        stream = self._stream
        if stream is not None:
            stream.stop()

    def wait(self, timeout: float | None = None) -> Reply | None:
        """Block until the reply this widget sent last has finished; returns it."""
        thread = self._thread
        if thread is None:
            return None
        thread.join(timeout)
        return self._last_sent.reply if self._last_sent is not None else None

    def retry(self, turn_id: str) -> None:
        """Send again what the user said in turn `turn_id` (a message's "turn" key)."""
        for message in self.messages:
            if message["turn"] == turn_id and message["role"] == "user":
                self.ask(message["text"])
                return
        raise ConfigurationError(f"no turn {turn_id!r} in this transcript")

    def new(self) -> None:
        """Start a new conversation: stop streaming, forget the history, clear the panel."""
        self.stop()
        self._chat.new()
        with self._lock:
            self._ended.update(self._live)  # a turn still streaming elsewhere stays out
            self._live.clear()
            self.messages = []

    def decide(self, call_id: str, approved: bool) -> None:
        """Approve or deny a tool call waiting for approval, as the card's buttons do
        (`Chat.decide`); a call no longer waiting is logged and ignored."""
        if not self._chat.decide(call_id, approved):
            log.warning("chat widget: no tool call %r is waiting for approval", call_id)

    def on_reply(self, callback: ReplyCallback, remove: bool = False) -> None:
        """Call `callback(reply)` whenever a turn finishes (whoever sent it)."""
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def __repr__(self) -> str:
        return f"ChatWidget({self._chat!r}, turns={len(self.messages) // 2})"

    def close(self) -> None:
        if not hasattr(self, "_flusher"):  # __init__ failed before the widget was set up
            return super().close()
        self._unsubscribe()
        self.stop()
        self._flusher.close()
        super().close()

    # -- the background stream ----------------------------------------------------------

    def _run(self, events: EventStream) -> None:
        try:
            with events:
                for _ in events:
                    pass
        except NbchatError:
            pass  # the failed turn went through the listener and shows with its error
        except Exception:
            log.exception("the widget's stream failed")
        finally:
            self._release(events)

    def _release(self, events: EventStream) -> None:
        with self._lock:
            if self._stream is events:
                self._stream = None
                self.status = "idle"

    # -- Chat listener: runs on whichever thread streams (or stops) the turn ------------

    def _on_turn(self, kind: str, turn: Turn, event: Event | None) -> None:
        with self._lock:
            if turn.id in self._ended:
                return
            if kind == "turn_end":
                self._end(turn)
            elif turn.id not in self._live:
                self._start(turn)  # its text so far already includes `event`
            elif event is not None:
                self._live[turn.id].add(turn, event)
                self._flusher.poke()
        if kind == "turn_end":
            for callback in list(self._callbacks):
                try:
                    callback(turn.reply)
                except Exception:
                    log.exception("an on_reply callback failed")

    def _key(self, turn: Turn) -> str:
        """Short per-widget turn keys ("t1", "t2"...) keep every delta message small."""
        return self._keys.setdefault(turn.id, f"t{len(self._keys) + 1}")

    def _start(self, turn: Turn) -> None:
        live = _LiveTurn(turn, self._key(turn))
        self._live[turn.id] = live
        self._post({"type": "turn_start", **live.snapshot()})

    def _end(self, turn: Turn) -> None:
        self._live.pop(turn.id, None)
        self._ended.add(turn.id)
        key = self._key(turn)
        self.messages = [*self.messages, *_turn_messages(turn, key)]
        self._post({"type": "turn_end", "turn": key, "status": turn.reply.status})
        if self._stream is not None and self._stream.turn is turn:
            self._release(self._stream)

    # -- to the views -------------------------------------------------------------------

    def _post(self, message: dict[str, Any]) -> None:
        """Send a numbered custom message; callers hold the lock so numbers match the order."""
        self._seq += 1
        self.send({**message, "seq": self._seq})

    def _flush(self) -> None:
        with self._lock:
            for live in self._live.values():
                if live.pending:
                    self._post({"type": "delta", **live.take()})

    def _sync(self) -> None:
        """Tell the views where every live turn stands; pending text is included, not resent."""
        with self._lock:
            for live in self._live.values():
                live.take()
            live_turns = [live.snapshot() for live in self._live.values()]
            self.send({"type": "sync", "seq": self._seq, "live": live_turns})

    def _on_view_message(self, _widget: object, content: dict[str, Any], _buffers: object) -> None:
        kind = content.get("type")
        try:
            if kind == "sync":
                self._sync()
            elif kind == "send":
                self.ask(str(content.get("text", "")))
            elif kind == "stop":
                self.stop()
            elif kind == "retry":
                self.retry(str(content.get("turn", "")))
            elif kind == "new":
                self.new()
            elif kind == "decide":
                self.decide(str(content.get("id", "")), content.get("approved") is True)
            elif kind is not None:
                log.warning("unknown message from the chat widget: %r", kind)
        except NbchatError as exc:
            log.warning("chat widget: %s", exc)


class _LiveTurn:
    """What the views know of one streaming turn, and what is waiting for the next flush.

    A tool call whose arguments are still streaming (`ToolCallDelta`) shows as a pending call
    whose `args` is the argument text so far, until its complete `ToolCall` takes its place.
    """

    def __init__(self, turn: Turn, key: str) -> None:
        self.turn = turn
        self.key = key
        # Text as parts, joined when read: `str +=` would copy the whole text on every delta.
        self._text = [turn.reply.text]
        self._pending: list[str] = []
        self._reasoning = [turn.reply.reasoning]
        self._pending_reasoning: list[str] = []
        self.tools = _tool_dicts(turn.reply)
        self.changed_tools: set[int] = set()
        self._arriving: dict[str, ToolCallDelta] = {}

    @property
    def text(self) -> str:
        """Everything the views have been or will be sent of this turn's text."""
        return join_parts(self._text)

    @property
    def reasoning(self) -> str:
        return join_parts(self._reasoning)

    @property
    def pending(self) -> bool:
        """Whether text, reasoning or a tool change is waiting for the next flush."""
        return bool(self._pending or self._pending_reasoning or self.changed_tools)

    def add(self, turn: Turn, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._text.append(event.text)
            self._pending.append(event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
            self._pending_reasoning.append(event.text)
        elif isinstance(event, ToolCallDelta | ToolCall | ToolStatus | ToolResult):
            if isinstance(event, ToolCallDelta):
                self._arriving[_call_key(event)] = event
            elif isinstance(event, ToolCall):
                self._arriving.pop(_call_key(event), None)
                self._arriving.pop(f"name:{event.name}", None)  # streamed with no id
            # The reply has folded this event in already (it is added before listeners run).
            tools = _tool_dicts(turn.reply) + [
                {"name": d.name, "args": d.arguments, "id": d.id, "result": None, "done": False}
                for d in self._arriving.values()
            ]
            self.changed_tools.update(
                i for i, tool in enumerate(tools) if i >= len(self.tools) or self.tools[i] != tool
            )
            self.tools = tools

    def take(self) -> dict[str, Any]:
        """The pending delta, which then counts as sent ("tools" only when one changed,
        "reasoning" only when some arrived)."""
        delta: dict[str, Any] = {"turn": self.key, "text": "".join(self._pending)}
        if self._pending_reasoning:
            delta["reasoning"] = "".join(self._pending_reasoning)
        if self.changed_tools:
            delta["tools"] = [{"index": i, **self.tools[i]} for i in sorted(self.changed_tools)]
        self._pending.clear()
        self._pending_reasoning.clear()
        self.changed_tools.clear()
        return delta

    def snapshot(self) -> dict[str, Any]:
        return {
            "turn": self.key,
            "user": self.turn.user,
            "text": self.text,
            "reasoning": self.reasoning,
            "tool_calls": self.tools,
        }


def _call_key(event: ToolCallDelta | ToolCall) -> str:
    return event.id if event.id is not None else f"name:{event.name}"


class _Flusher:
    """Runs `flush` on a daemon thread soon after `poke()`, at most once per `interval`."""

    def __init__(self, flush: Callable[[], None], interval: float) -> None:
        self._flush = flush
        self._interval = interval
        self._cond = threading.Condition()
        self._poked = False
        self._closed = False
        self._last = 0.0
        self._thread: threading.Thread | None = None

    def poke(self) -> None:
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="nbchat-flush", daemon=True)
                self._thread.start()
            self._poked = True
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    wait = self._last + self._interval - time.monotonic()
                    if self._poked and wait <= 0:
                        break
                    self._cond.wait(wait if self._poked else None)
                self._poked = False
                self._last = time.monotonic()
            try:
                self._flush()
            except Exception:
                log.exception("flushing chat deltas failed")


def _tool_dicts(reply: Reply) -> list[dict[str, Any]]:
    return [dataclasses.asdict(call) for call in reply.tool_calls]


def _turn_messages(turn: Turn, key: str) -> list[dict[str, Any]]:
    """The two transcript entries of a finished turn."""
    reply = turn.reply.to_dict()
    user: dict[str, Any] = {
        "id": f"{key}-user",
        "turn": key,
        "role": "user",
        "text": turn.user,
        "status": "complete",
        "tool_calls": [],
        "usage": None,
        "error": None,
    }
    assistant = {
        "id": key,
        "turn": key,
        "role": "assistant",
        "text": reply["text"],
        "status": reply["status"],
        "tool_calls": reply["tool_calls"],
        "usage": reply["usage"],
        "error": reply["error"],
        "reasoning": reply["reasoning"],
        "finish_reason": reply["finish_reason"],
        "sources": reply["sources"],
    }
    return [user, assistant]
