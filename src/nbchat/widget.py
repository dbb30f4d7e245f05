"""`ChatWidget`: a chat panel (anywidget) on a `Chat`, streaming without blocking the kernel.

The widget listens to its Chat, so every turn shows, whoever sent it (the panel, `widget.ask`,
`%%chat`, user code). Replies the widget sends stream on a daemon thread, so Stop and other cells
keep working.

A turn costs the comm O(its own size), however long the conversation: text reaches the views
once, as batched custom messages, and `turn_end` carries only what they do not have yet. The
transcript (`messages`, two entries per finished turn) is appended to in place on both sides
instead of being re-sent: the kernel's list is what a view opened later receives (the widget
state), and each front-end model appends the turn it built from the stream to its own copy,
which is what JupyterLab saves in the notebook. Appends are keyed by turn, so several views of
one model, or a state update racing a `turn_end`, add a turn once.

`turn` is the widget's short key for a turn ("t1", "t2"...), also the "turn" of its two entries
in `messages`.

Kernel → view custom messages; all but "sync" carry the next `seq` (per widget, from 1):
  turn_start {turn, user, text, tool_calls}   a turn began (text so far if it began elsewhere)
  ["delta", seq, turn, text, tools?]          new text; changed tool calls [{index, ...}]
                                              (a list: the one frequent message, kept small)
  turn_end   {turn, text, tools?, status, usage, error, user?}
                                              the last text and tool changes, and the outcome;
                                              `user` when the turn never started live here
  sync       {seq, live: [{turn, user, text, tool_calls}], base, messages}
             reply to a view's {"type": "sync", "have", "last"}: the live turns, and the
             transcript from index `base` (`have` when the view's first `have` entries end
             with entry id `last` like the kernel's, else 0)
View → kernel: {"type": "sync", "have", "last"}, {"type": "send", "text"}, {"type": "stop"},
{"type": "retry", "turn"}, {"type": "new"}. Other messages (anywidget's own, e.g. commands)
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
from .events import Event, Reply, TextDelta, ToolCall, ToolResult
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
#: A delta waits until it carries this much text (a delta message's own overhead is ~55
#: bytes, so comm bytes stay within 1.2x the text down to ~700 characters a second) ...
FLUSH_CHARS = 400
#: ... or until its oldest text has waited this many seconds (a slow stream still flows).
FLUSH_LATENCY = 0.5

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
        self._flusher = _Flusher(self._flush, FLUSH_INTERVAL, FLUSH_LATENCY)
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
                live = self._live[turn.id]
                live.add(turn, event)
                self._flusher.poke(full=live.pending_chars >= FLUSH_CHARS or live.changed_tools)
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
        key = self._key(turn)
        live = self._live.pop(turn.id, None)
        self._ended.add(turn.id)
        user, assistant = _turn_messages(turn, key)
        # In place: no trait event, so the list is not re-sent; the views build the same two
        # entries from the stream and this message, and a view opened later gets the list.
        self.messages.extend((user, assistant))
        end: dict[str, Any] = {"type": "turn_end"}
        if live is None:  # never started live here (a non-streaming send): all of it now
            live = _LiveTurn(turn, key, text="", tools=[])
            end["user"] = turn.user
        live.tools_now(assistant["tool_calls"])
        end.update(live.take())
        end.update({k: assistant[k] for k in ("status", "usage", "error")})
        self._post(end)
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
                if live.pending_chars or live.changed_tools:
                    self._seq += 1
                    delta = live.take()
                    message: list[Any] = ["delta", self._seq, delta["turn"], delta["text"]]
                    if "tools" in delta:
                        message.append(delta["tools"])
                    self.send(message)  # type: ignore[arg-type]

    def _sync(self, have: object, last: object) -> None:
        """Tell the views where every live turn stands (pending text included, not resent),
        and the transcript entries after the first `have` a view has, when those end with
        entry id `last` like ours (else all of it)."""
        with self._lock:
            for live in self._live.values():
                live.take()
            live_turns = [live.snapshot() for live in self._live.values()]
            messages = self.messages
            base = have if isinstance(have, int) and 0 <= have <= len(messages) else 0
            if base and messages[base - 1]["id"] != last:
                base = 0
            self.send(
                {
                    "type": "sync",
                    "seq": self._seq,
                    "live": live_turns,
                    "base": base,
                    "messages": messages[base:],
                }
            )

    def _on_view_message(self, _widget: object, content: dict[str, Any], _buffers: object) -> None:
        kind = content.get("type")
        try:
            if kind == "sync":
                self._sync(content.get("have"), content.get("last"))
            elif kind == "send":
                self.ask(str(content.get("text", "")))
            elif kind == "stop":
                self.stop()
            elif kind == "retry":
                self.retry(str(content.get("turn", "")))
            elif kind == "new":
                self.new()
            elif kind is not None:
                log.warning("unknown message from the chat widget: %r", kind)
        except NbchatError as exc:
            log.warning("chat widget: %s", exc)


class _LiveTurn:
    """What the views know of one streaming turn, and what is waiting for the next flush."""

    def __init__(
        self,
        turn: Turn,
        key: str,
        *,
        text: str | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> None:
        self.turn = turn
        self.key = key
        # Text parts, joined on read: appending to one string would copy it on every delta.
        self._sent: list[str] = [turn.reply.text if text is None else text]
        self._pending: list[str] = []
        self.pending_chars = 0
        self.tools = _tool_dicts(turn.reply) if tools is None else tools
        self.changed_tools: set[int] = set()

    def add(self, turn: Turn, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._pending.append(event.text)
            self.pending_chars += len(event.text)
        elif isinstance(event, ToolCall | ToolResult):
            # The reply has folded this event in already (it is added before listeners run).
            self.tools_now(_tool_dicts(turn.reply))

    def tools_now(self, tools: list[dict[str, Any]]) -> None:
        """The turn's tool calls are now `tools`: mark the ones that changed."""
        self.changed_tools.update(
            i for i, tool in enumerate(tools) if i >= len(self.tools) or self.tools[i] != tool
        )
        self.tools = tools

    def take(self) -> dict[str, Any]:
        """The pending delta, which then counts as sent ("tools" only when one changed)."""
        pending = "".join(self._pending)
        self._sent.append(pending)
        delta: dict[str, Any] = {"turn": self.key, "text": pending}
        if self.changed_tools:
            delta["tools"] = [{"index": i, **self.tools[i]} for i in sorted(self.changed_tools)]
        self._pending.clear()
        self.pending_chars = 0
        self.changed_tools.clear()
        return delta

    def snapshot(self) -> dict[str, Any]:
        """The turn as sent so far (call `take` first to include the pending text)."""
        self._sent[:] = ["".join(self._sent)]
        return {
            "turn": self.key,
            "user": self.turn.user,
            "text": self._sent[0],
            "tool_calls": self.tools,
        }


class _Flusher:
    """Runs `flush` on a daemon thread after `poke()`s: at most once per `interval`, as soon
    as a poke said the batch is `full`, else once the first poke has waited `latency`."""

    def __init__(self, flush: Callable[[], None], interval: float, latency: float) -> None:
        self._flush = flush
        self._interval = interval
        self._latency = latency
        self._cond = threading.Condition()
        self._since: float | None = None  # when the first poke of this batch came
        self._full = False
        self._closed = False
        self._last = 0.0
        self._thread: threading.Thread | None = None

    def poke(self, full: bool = False) -> None:
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, name="nbchat-flush", daemon=True)
                self._thread.start()
            if self._since is None:
                self._since = time.monotonic()
                self._cond.notify()
            if full and not self._full:
                self._full = True
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
                    if self._since is None:
                        self._cond.wait()
                        continue
                    due = self._last + self._interval
                    if not self._full:
                        due = max(due, self._since + self._latency)
                    wait = due - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                self._since, self._full = None, False
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
    }
    return [user, assistant]
