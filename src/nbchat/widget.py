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
one model, or a state update racing a `turn_end`, add a turn once. Replacing the list (New,
regenerate) is rare and goes through the trait as before.

`turn` is the widget's short key for a turn ("t1", "t2"...), also the "turn" of its two entries
in `messages`.

Kernel → view custom messages; all but "sync" carry the next `seq` (per widget, from 1):
  turn_start {turn, user, text, reasoning, tool_calls}   a turn began (what it has so far)
  ["delta", seq, turn, text, tools?, reasoning?]  new text; changed tool calls [{index, ...}]
                                              or null; new reasoning (a list: the one frequent
                                              message, kept small)
  turn_end   {turn, text, reasoning?, user_entry, entry}
                                              the last text and reasoning, then the turn's two
                                              transcript entries: `user_entry` whole, `entry`
                                              (the reply's) without its text and reasoning
  sync       {seq, live: [{turn, user, text, reasoning, tool_calls}], base, messages}
             reply to a view's {"type": "sync", "have", "last"}: the live turns, and the
             transcript from index `base` (`have` when the view's first `have` entries end
             with entry id `last` like the kernel's, else 0)
View → kernel: {"type": "sync", "have", "last"}, {"type": "send", "text", "context"?: [names]},
{"type": "stop"}, {"type": "regenerate", "turn", "text"?} (replace the last turn; with "text",
edit and resend), {"type": "new"}, {"type": "decide", "id", "approved"} (a tool call's
Approve / Deny), {"type": "variables"}, {"type": "export", "format", "request"?}
(answered by {"type": "export", "filename", "mime", "text", "request"}, no seq: every view
gets it, and only the one whose request id it echoes saves it), {"type": "front_end"}
(answered with the bundle, see js/src/loader.ts).

Each tool call dict carries "offset": the reply's text length when the call arrived, so the view
shows text and tool cards in the order they streamed.
Other messages (anywidget's own, e.g. commands) are left to anywidget: `Widget.send` keeps
its ipywidgets meaning.

Kernel context (unnumbered replies): "variables" {items: [{name, description}]} answers the
view's request (for `@` completion); "refused" {text, context, message} says a send was not
sent (over the token budget, an attached variable gone) and hands the draft back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from IPython import get_ipython

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
from .export import FORMATS, export_transcript
from .kernel import attach, user_variables
from .markdown import turns_html, turns_text
from .session import current_chat, session
from .turn import Turn

log = logging.getLogger("nbchat")

_STATIC = Path(__file__).parent / "static"
if not all((_STATIC / name).is_file() for name in ("widget.js", "widget.css", "loader.js")):
    raise ImportError(
        "the ChatWidget front end is not built: run `npm install && npm run build` in js/ "
        "(installing nbchat with pip builds it)"
    )


class _FrontEnd:
    """The built front end. Views get it over the comm (js/src/loader.ts): only the small loader
    is widget state, so each saved panel adds a few KB to a notebook, not the whole bundle."""

    def __init__(self, static: Path) -> None:
        self.js = (static / "widget.js").read_bytes()
        self.css = (static / "widget.css").read_bytes()
        self.version = hashlib.sha256(self.js + b"\0" + self.css).hexdigest()[:16]
        loader = (static / "loader.js").read_text(encoding="utf-8")
        self.loader = loader.replace("__NBCHAT_FRONT_END_VERSION__", self.version)


_FRONT_END = _FrontEnd(_STATIC)

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

    _esm = _FRONT_END.loader

    #: The transcript: two dicts per finished turn (user, assistant), committed once.
    messages = traitlets.List(traitlets.Dict()).tag(sync=True)
    #: "streaming" while this widget's own reply streams (the view shows Stop).
    status = traitlets.Enum(["idle", "streaming"], "idle").tag(sync=True)
    allow_remote_images = traitlets.Bool(False).tag(sync=True)
    title = traitlets.Unicode("nbchat").tag(sync=True)
    #: Who the panel talks to, for its empty state: "chats · model demo · http://host:port".
    backend = traitlets.Unicode("").tag(sync=True)
    #: The widget's model id: it stays when the front end renders the output anew (after each
    #: turn), so its views keep what the user was doing (draft, focus, scroll) under it; and a
    #: view asks the widget manager by it whether the model still has a live comm (a panel
    #: restored from a saved notebook on a new kernel has none).
    panel_id = traitlets.Unicode("").tag(sync=True)

    def __init__(self, chat: Chat | None = None, **chat_kwargs: Any) -> None:
        if chat is not None and chat_kwargs:
            raise ConfigurationError("pass a Chat or the arguments for one, not both")
        if chat is None:
            chat = Chat(**chat_kwargs) if chat_kwargs else _connected_chat()
        finished = [turn for turn in list(chat.history) if turn.reply.finished]
        self._keys: dict[str, str] = {}  # Turn.id → the short key the views know it by
        # key → finished turn, for the transcript output
        self._turns: dict[str, Turn] = {self._key(t): t for t in finished}
        panel_id = uuid.uuid4().hex  # the model (comm) id too, known in the first state
        super().__init__(
            messages=[m for t in finished for m in _turn_messages(t, self._key(t))],
            backend=_describe(chat),
            panel_id=panel_id,
            model_id=panel_id,
        )
        self._chat = chat
        self._lock = threading.RLock()
        self._seq = 0
        self._viewed = False  # a view has asked for a sync: a front end keeps the transcript
        self._live: dict[str, _LiveTurn] = {}
        self._ended: set[str] = {turn.id for turn in finished}
        self._stream: EventStream | None = None  # the reply this widget is streaming
        self._last_sent: EventStream | None = None
        self._thread: threading.Thread | None = None
        self._callbacks: list[ReplyCallback] = []
        self._senders: dict[str, dict[str, Any] | None] = {}  # Turn.id → its request's header
        self._attached: dict[str, tuple[str, list[dict[str, str]]]] = {}  # Turn.id → typed, items
        self._flusher = _Flusher(self._flush, FLUSH_INTERVAL, FLUSH_LATENCY)
        self._display_id = panel_id
        self._displayed = False
        self.on_msg(self._on_view_message)
        self._unsubscribe = chat.subscribe(self._on_turn)

    # -- Python API ---------------------------------------------------------------------

    @property
    def chat(self) -> Chat:
        return self._chat

    def ask(self, text: str, *, model: str | None = None, context: Sequence[str] = ()) -> None:
        """Send `text` as if typed in the panel; the reply streams on a background thread.

        `context` names kernel variables to attach, each rendered as `{name}` would be.
        Returns at once; `wait()` blocks until the reply finished. Raises NbchatError while this
        widget's previous reply still streams, ConfigurationError for an empty message or an
        unknown variable, ContextTooLargeError over the session's token budget (nothing sent).
        """
        with self._lock:
            if self._stream is not None:
                raise NbchatError("a reply is still streaming: stop() it or wait() for it")
            message, items, parts = attach(text, list(context), _user_ns(), session.context.render)
            session.budget.check(message, parts)
            events = self._chat.stream(message, model=model)
            self._senders[events.turn.id] = _sender()  # this thread's request: cell or panel
            if items:
                self._attached[events.turn.id] = (text, items)
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

    def regenerate(self, turn: str | None = None, text: str | None = None) -> None:
        """Replace the last turn by a new reply: to what the user said, or to `text` (edit and
        resend), with the variables it attached. `turn` (a message's "turn" key) must name the
        last turn when given.

        The replaced turn leaves the panel and `chat.history` (`Chat.forget`), so a dialect that
        sends the conversation no longer sends it. Raises NbchatError while a reply streams.
        """
        with self._lock:
            if self._stream is not None:
                raise NbchatError("a reply is still streaming: stop() it or wait() for it")
            history = self._chat.history
            last = history[-1] if history else None
            if last is None or not last.reply.finished:
                raise ConfigurationError("there is no finished turn to regenerate")
            key = self._key(last)
            if turn is not None and turn != key:
                raise ConfigurationError(
                    f"only the last turn can be regenerated, and {turn!r} is no longer the last:"
                    " another turn ended after it"
                )
            said = next(
                (m for m in self.messages if m["turn"] == key and m["role"] == "user"), None
            )
            typed = said["text"] if said is not None else last.user
            names = [item["name"] for item in (said or {}).get("context", [])]
            self._chat.forget(last)
            self._turns.pop(key, None)
            self.messages = [m for m in self.messages if m["turn"] != key]
            # attached variables are rendered again, as they are now
            self.ask(typed if text is None else text, context=names)

    def new(self) -> None:
        """Start a new conversation: stop streaming, forget the history, clear the panel."""
        self.stop()
        self._chat.new()
        with self._lock:
            self._ended.update(self._live)  # a turn still streaming elsewhere stays out
            self._live.clear()
            self._turns.clear()
            self.messages = []
        self._update_display()

    def decide(self, call_id: str, approved: bool) -> None:
        """Approve or deny a tool call waiting for approval, as the card's buttons do
        (`Chat.decide`); a call no longer waiting is logged and ignored."""
        if not self._chat.decide(call_id, approved):
            log.warning("chat widget: no tool call %r is waiting for approval", call_id)

    def on_reply(self, callback: ReplyCallback, remove: bool = False) -> None:
        """Call `callback(reply)` whenever a turn finishes (whoever sent it).

        What the callback prints or displays goes to where the message came from, whichever
        cell runs when the reply ends: the `%%chat` cell, or the cell that called `ask()`;
        for a message typed in the panel, the kernel's log (JupyterLab's Log Console), as
        for any widget callback. In a cell that has finished, JupyterLab shows it only if
        the cell is still listening; `reply` is also in `widget.chat.history`. (Routing by
        thread needs ipykernel 7; older kernels write to the cell running at that moment.)
        """
        if remove:
            self._callbacks.remove(callback)
        else:
            self._callbacks.append(callback)

    def __repr__(self) -> str:
        return f"ChatWidget({self._chat!r}, turns={len(self.messages) // 2})"

    # -- the cell output ----------------------------------------------------------------

    def export(self, format: str = "markdown") -> str:
        """The transcript as "markdown" (sanitized), "html" (a standalone page that runs and
        fetches nothing) or "json" (`messages` and the backend); see `nbchat.export`."""
        return export_transcript(self._shown_turns(), self.messages, self.backend, format)

    def _shown_turns(self) -> list[Turn]:
        """The finished turns the panel shows, oldest first."""
        with self._lock:
            keys = [m["turn"] for m in self.messages if m["role"] == "assistant"]
            return [self._turns[key] for key in keys if key in self._turns]

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The widget view plus a sanitized transcript (`text/html`, `text/plain`) that front
        ends without the widget (GitHub, nbviewer, no saved widget state) show instead."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        turns = self._shown_turns()
        heading = f"Chat ({self.backend})" if self.backend else "Chat"
        data = {
            **data,
            "text/html": f"<p><strong>{html.escape(heading)}</strong></p>\n{turns_html(turns)}",
            "text/plain": f"Chat ({self.backend})\n\n{turns_text(turns)}",
        }
        return data, metadata

    def _ipython_display_(self) -> None:
        """Display with a display id, so the transcript output follows the conversation."""
        from IPython.display import display

        data, metadata = self._repr_mimebundle_() or ({}, {})
        display(data, metadata=metadata, raw=True, display_id=self._display_id)
        self._displayed = True

    def _update_display(self) -> None:
        if not self._displayed:
            return
        from IPython.display import update_display

        data, metadata = self._repr_mimebundle_() or ({}, {})
        try:
            update_display(data, metadata=metadata, raw=True, display_id=self._display_id)
        except Exception:  # no IPython display machinery here: the panel itself is unaffected
            log.debug("could not update the transcript output", exc_info=True)

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
            if kind == "turn_start" and turn.id not in self._senders:
                self._senders[turn.id] = _sender()  # sent from code on its own thread
            if kind == "turn_end":
                self._end(turn)
            elif turn.id not in self._live:
                self._start(turn)  # its text so far already includes `event`
            elif event is not None:
                live = self._live[turn.id]
                live.add(turn, event)
                self._flusher.poke(
                    full=live.pending_chars >= FLUSH_CHARS or bool(live.changed_tools)
                )
        if kind == "turn_end":
            with _output_to(self._senders.pop(turn.id, None)):
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
        live.user = self._attached.get(turn.id, (turn.user, []))[0]
        self._live[turn.id] = live
        self._post({"type": "turn_start", **live.snapshot()})

    def _end(self, turn: Turn) -> None:
        key = self._key(turn)
        live = self._live.pop(turn.id, None)
        self._ended.add(turn.id)
        attached = self._attached.pop(turn.id, None)
        self._turns[key] = turn
        user, assistant = _turn_messages(turn, key, attached)
        if self._viewed:
            # In place: no trait event, so the list is not re-sent; the views build the same
            # two entries from the stream and this message, and a view opened later gets it.
            self.messages.extend((user, assistant))
        else:
            # No view has ever shown (a headless run: nbclient, papermill): the state the run
            # saves in the notebook is what the kernel sends, so the list goes as a trait.
            self.messages = [*self.messages, user, assistant]
        if live is None:  # never started live here: all of its text and reasoning now
            pending = {"turn": key, "text": assistant["text"], "reasoning": assistant["reasoning"]}
        else:
            pending = live.take()
            pending.pop("tools", None)  # the entry carries the final tool calls
        entry = {k: v for k, v in assistant.items() if k not in ("text", "reasoning")}
        self._post({"type": "turn_end", **pending, "user_entry": user, "entry": entry})
        self._update_display()
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
                    self._seq += 1
                    delta = live.take()
                    message: list[Any] = ["delta", self._seq, delta["turn"], delta["text"]]
                    if "tools" in delta or "reasoning" in delta:
                        message.append(delta.get("tools"))
                    if "reasoning" in delta:
                        message.append(delta["reasoning"])
                    self.send(message)

    def _sync(self, have: object, last: object) -> None:
        """Tell the views where every live turn stands (pending text included, not resent),
        and the transcript entries after the first `have` a view has, when those end with
        entry id `last` like ours (else all of it)."""
        with self._lock:
            self._viewed = True
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
            elif kind == "export":
                format = str(content.get("format", "markdown"))
                text = self.export(format)
                extension, mime = FORMATS[format]
                name = f"chat.{extension}"
                message = {"type": "export", "filename": name, "mime": mime, "text": text}
                if isinstance(content.get("request"), str):
                    message["request"] = content["request"]
                super().send(message)
            elif kind == "front_end":
                front = _FRONT_END
                message = {"type": "front_end", "version": front.version}
                super().send(message, buffers=[front.js, front.css])
            elif kind == "send":
                self._ask_from_view(content)
            elif kind == "variables":
                items = [{"name": k, "description": v} for k, v in _variables().items()]
                self.send({"type": "variables", "items": items})
            elif kind == "stop":
                self.stop()
            elif kind == "regenerate":
                self._regenerate_from_view(content)
            elif kind == "new":
                self.new()
            elif kind == "decide":
                self.decide(str(content.get("id", "")), content.get("approved") is True)
            elif kind is not None:
                log.warning("unknown message from the chat widget: %r", kind)
        except NbchatError as exc:
            log.warning("chat widget: %s", exc)

    def _ask_from_view(self, content: dict[str, Any]) -> None:
        text, names = str(content.get("text", "")), [str(n) for n in content.get("context") or []]
        try:
            self.ask(text, context=names)
        except NbchatError as exc:  # the view gets its draft back with the reason
            self._refuse(text, names, exc)

    def _regenerate_from_view(self, content: dict[str, Any]) -> None:
        """Retry, Regenerate or an edit resent from the panel; a refusal (another turn ended
        first, a reply still streams) goes back to the view with the edited text."""
        edited = content.get("text")
        try:
            self.regenerate(str(content.get("turn", "")), None if edited is None else str(edited))
        except NbchatError as exc:
            self._refuse("" if edited is None else str(edited), [], exc)

    def _refuse(self, text: str, names: list[str], exc: NbchatError) -> None:
        """Tell the views a message was not sent, and why; they give the draft back."""
        self.send({"type": "refused", "text": text, "context": names, "message": str(exc)})


def _user_ns() -> dict[str, Any]:
    """The kernel's user namespace ({} outside IPython)."""
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def _variables() -> dict[str, str]:
    """The kernel's variables offered for `@` completion ({} outside IPython)."""
    shell = get_ipython()
    return user_variables(shell) if shell is not None else {}


class _LiveTurn:
    """What the views know of one streaming turn, and what is waiting for the next flush.

    A tool call whose arguments are still streaming (`ToolCallDelta`) shows as a pending call
    whose `args` is the argument text so far, until its complete `ToolCall` takes its place.
    """

    def __init__(self, turn: Turn, key: str) -> None:
        self.turn = turn
        self.key = key
        self.user = turn.user  # what the user typed, without attached context
        # Text as parts, joined when read: `str +=` would copy the whole text on every delta.
        self._text = [turn.reply.text]
        self._pending: list[str] = []
        self.pending_chars = 0
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
            self.pending_chars += len(event.text)
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
        self.pending_chars = 0
        self._pending_reasoning.clear()
        self.changed_tools.clear()
        return delta

    def snapshot(self) -> dict[str, Any]:
        return {
            "turn": self.key,
            "user": self.user,
            "text": self.text,
            "reasoning": self.reasoning,
            "tool_calls": self.tools,
        }


def _call_key(event: ToolCallDelta | ToolCall) -> str:
    return event.id if event.id is not None else f"name:{event.name}"


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
    """The reply's tool calls, each with its "offset" in the text (see the module docstring)."""
    calls = list(reply.tool_calls)
    return [
        {**dataclasses.asdict(call), "offset": offset}
        for call, offset in zip(calls, _tool_offsets(reply), strict=False)
    ]


def _tool_offsets(reply: Reply) -> list[int]:
    """The text length at which each tool call record appeared, replaying the reply's events."""
    replay = Reply()
    offsets: list[int] = []
    length = 0
    for event in list(reply.events):
        if isinstance(event, TextDelta):
            length += len(event.text)
        elif isinstance(event, ToolCall | ToolResult):
            replay.add(event)  # pairs results with calls exactly as the reply did
            offsets.extend([length] * (len(replay.tool_calls) - len(offsets)))
    return offsets


def _turn_messages(
    turn: Turn, key: str, attached: tuple[str, list[dict[str, str]]] | None = None
) -> list[dict[str, Any]]:
    """The two transcript entries of a finished turn; `attached` is (the typed text, the
    attached variables) when the panel attached some. The reply carries its provenance."""
    reply = turn.reply.to_dict()
    typed, context = attached or (turn.user, [])
    user: dict[str, Any] = {
        "id": f"{key}-user",
        "turn": key,
        "role": "user",
        "text": typed,
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
        "tool_calls": _tool_dicts(turn.reply),
        "usage": reply["usage"],
        "error": reply["error"],
        "reasoning": reply["reasoning"],
        "finish_reason": reply["finish_reason"],
        "sources": reply["sources"],
        "provenance": turn.provenance(),
    }
    if context:
        user["context"] = context
    return [user, assistant]


def _sender() -> dict[str, Any] | None:
    """The header of the request this thread serves (a cell's execute_request, a widget's
    comm message), as the kernel tracks it; None outside a kernel."""
    shell = get_ipython()
    header = getattr(shell, "parent_header", None)
    return dict(header) if header else None


@contextlib.contextmanager
def _output_to(header: dict[str, Any] | None) -> Iterator[None]:
    """Send what this thread prints or displays meanwhile as output of the request `header`.

    ipykernel keeps the parent of stdout, stderr and display per thread (`set_thread_parent`);
    without this, a background thread's output goes to whichever cell runs at that moment.
    """
    shell = get_ipython()
    routed: list[Any] = [
        target
        for target in (sys.stdout, sys.stderr, getattr(shell, "display_pub", None), shell)
        if header is not None and hasattr(target, "set_thread_parent")
    ]
    tokens = [(target, target.set_thread_parent(header)) for target in routed]
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for target, token in reversed(tokens):
            target.reset_thread_parent(token)


def _describe(chat: Chat) -> str:
    """Dialect, model or agent, and server (without credentials), for the empty panel."""
    model, agent = getattr(chat.target, "model", None), getattr(chat.target, "agent_id", None)
    who = f"agent {agent}" if agent else f"model {model}" if model else ""
    return " · ".join(part for part in (chat.dialect, who, chat.base_url) if part)


def _connected_chat() -> Chat:
    """The session's current conversation, or an error that says how to connect first."""
    try:
        return current_chat()
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"no server to chat with ({exc}): run %load_ext nbchat and %chat_connect URL"
            " (or %chat_connect --demo) first, or pass ChatWidget(base_url=...)"
        ) from None
