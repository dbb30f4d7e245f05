"""`Chat`: one conversation with one backend, its history, and who is listening to it."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from .client import AsyncClient, Client, ClientConfig, Deadline, origin, safe_url
from .cookies import CookiesArg
from .dialects import DEFAULT_DIALECT, HttpRequest, connection_settings, get_dialect
from .dialects.base import whole_characters
from .errors import ConfigurationError
from .events import Event, Reply
from .masking import masked
from .redact import Redactor
from .settings import from_environment, missing
from .stream import (
    AsyncEventStream,
    AsyncSource,
    AsyncSSESource,
    AsyncWholeSource,
    EventDecoder,
    EventStream,
    Notify,
    Source,
    SSESource,
    ThreadedSource,
    WholeSource,
)
from .toolloop import DEFAULT_MAX_ROUNDS, Asker, ToolLoop, ask_with_input
from .tools import Approve, Tool, as_tool, check_approve
from .turn import Listener, Listeners, Turn, TurnKind, utc_now

log = logging.getLogger("nbchat")

__all__ = ["AsyncEventStream", "Chat", "EventStream", "Listener", "Turn"]


class Chat:
    """A conversation. Every turn, whoever sends it, is kept in `history` and told to listeners.

    `Chat(base_url, dialect="chats", model="gpt-4", user_id="u-1")`: the keywords besides the
    connection ones are the dialect's own settings (see the README's settings table, or
    `nbchat.dialects`); a keyword the dialect does not declare, given a value (not None), is a
    ConfigurationError. Arguments left out come from the environment (NBCHAT_BASE_URL,
    NBCHAT_DIALECT, NBCHAT_TOKEN, NBCHAT_COOKIES, NBCHAT_TIMEOUT and each dialect's
    variables, e.g. NBCHAT_MODEL), so a notebook can stay free of addresses and secrets.

    base_url:       the server, e.g. "http://127.0.0.1:3026"; paths are relative to it.
    token:          bearer token; never shown (reprs say token=***).
    cookies:        a dict, httpx.Cookies, or the path of a Netscape cookies.txt file.
    timeout:        seconds (float, default 60) without an event before a reply fails with
                    `Error("timeout")`: it bounds silence, not the whole reply, and also bounds
                    connecting and waiting for the response headers.
    max_retries:    retries of a request that failed before its first byte (429, 5xx,
                    connection errors); nothing is retried once a reply has started.
    max_retry_wait: the longest wait in seconds before a retry, `Retry-After` included.
    tools:          Python functions the model may call (plain, or made with `@nbchat.tool`),
                    run in this kernel; dialects whose backend is stateless only (openai).
    approve:        who lets a tool call run: "ask" (the default: the panel's Approve / Deny,
                    a prompt in the magics and `send`), "auto", "never", or a function
                    `(ToolCall) -> bool`; a tool's own `approve=` wins.
    max_tool_rounds: rounds of tool calls one turn may take (default 8); then the reply ends
                    with `Error("max_tool_rounds")`.

    Raises ConfigurationError for an unknown dialect or setting, a setting that does not
    parse, or no base URL; a missing required dialect setting (e.g. `model` for chats) is
    reported when a message is sent.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        dialect: str | None = None,
        token: str | None = None,
        cookies: CookiesArg = None,
        timeout: float | None = None,
        max_retries: int = 2,
        max_retry_wait: float = 60.0,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        approve: Approve = "ask",
        max_tool_rounds: int = DEFAULT_MAX_ROUNDS,
        **settings: Any,
    ) -> None:
        environ = os.environ
        self._dialect = get_dialect(dialect or environ.get("NBCHAT_DIALECT") or DEFAULT_DIALECT)
        kind = type(self._dialect)
        declared = kind.declared()
        known = {item.name for item in declared}
        unknown = sorted(n for n, v in settings.items() if n not in known and v is not None)
        if unknown:
            names = ", ".join(item.keyword for item in declared)
            raise ConfigurationError(
                f"the {kind.name} dialect has no setting {unknown[0]}=; its settings: {names}"
            )
        given = {"base_url": base_url, "token": token, "cookies": cookies, "timeout": timeout}
        connection = from_environment(connection_settings(kind), given, environ)
        for item in missing(connection_settings(kind), connection):
            raise ConfigurationError(item.needed("a Chat", item.keyword))
        _check_url(str(connection["base_url"]))
        config = ClientConfig(
            base_url=str(connection["base_url"]).rstrip("/"),
            token=connection["token"],
            cookies=connection["cookies"],
            timeout=float(connection["timeout"]),
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._start(config, kind.settings(**from_environment(declared, settings, environ)))
        check_approve(approve)
        if type(max_tool_rounds) is not int or max_tool_rounds < 0:
            raise ConfigurationError(
                f"max_tool_rounds= takes a count >= 0, not {max_tool_rounds!r}"
            )
        self.approve: Approve = approve
        self.max_tool_rounds = max_tool_rounds
        for function in tools:
            self.add_tool(function)

    def _start(self, config: ClientConfig, target: Any) -> None:
        self._config = config
        self._target = target
        self._client: Client | None = None
        self._lock = threading.RLock()
        self._listeners = Listeners()
        self._tools: dict[str, Tool] = {}
        self._loops: list[ToolLoop] = []  # turns now running tools, for `decide`
        self.history: list[Turn] = []

    def fork(self) -> Chat:
        """A new, empty conversation with the same backend, settings and credentials.

        The fork shares nothing with this Chat: its own history, listeners and connection
        pool; settings naming a conversation (a chat id, a session id) start unset, so its
        first message opens a new one. Batch runs fork one Chat per independent prompt.
        """
        twin = Chat.__new__(Chat)
        twin._dialect = type(self._dialect)()
        twin._start(self._config, self._fresh(self._target))
        twin._tools = dict(self._tools)
        twin.approve, twin.max_tool_rounds = self.approve, self.max_tool_rounds
        return twin

    # -- tools --------------------------------------------------------------------------

    @property
    def tools(self) -> dict[str, Tool]:
        """The kernel-side tools the model may call, by name (a copy)."""
        return dict(self._tools)

    def add_tool(self, function: Tool | Callable[..., Any]) -> Tool:
        """Let the model call `function` (a plain function or a `@nbchat.tool`); a tool of the
        same name is replaced. Returns the Tool. Raises ConfigurationError when the dialect
        cannot run client-side tools or the function cannot be described (`nbchat.tools`)."""
        self._check_client_tools()
        made = as_tool(function)
        with self._lock:
            self._tools[made.name] = made
        return made

    def _check_client_tools(self) -> None:
        if not self._dialect.client_tools:
            raise ConfigurationError(
                f"the {self.dialect} dialect runs no tools in the kernel (its server runs its "
                "own); use dialect='openai'"
            )

    def remove_tool(self, name: str) -> None:
        """Stop offering the tool `name` (KeyError when there is none)."""
        with self._lock:
            del self._tools[name]

    def decide(self, call_id: str, approved: bool) -> bool:
        """Approve or deny a tool call waiting for approval (`approve="ask"`), from any thread.

        Returns False when no turn of this Chat waits for that call (decided already, or the
        reply was stopped).
        """
        with self._lock:
            loops = list(self._loops)
        return any(loop.decide(call_id, approved) for loop in loops)

    # -- what the conversation is -------------------------------------------------------

    @property
    def dialect(self) -> str:
        """The dialect's name, e.g. "chats"."""
        return self._dialect.name

    @property
    def base_url(self) -> str:
        """The server URL without any user:password part."""
        return safe_url(self._config.base_url)

    @property
    def timeout(self) -> float:
        """Seconds of silence before a reply fails (see the class docstring)."""
        return self._config.timeout

    @property
    def target(self) -> Any:
        """The dialect's settings as they stand now (a frozen dataclass: e.g. `chat_id`,
        learned on the first message when it was not given)."""
        return self._target

    def redact(self, text: str) -> str:
        """`text` with this conversation's secrets (token, URL password, cookie values) masked
        as `***`, in any form: raw, escaped, URL-encoded or base64."""
        return self._config.redact(text)

    def __repr__(self) -> str:
        fields = {k: v for k, v in vars(self._target).items() if v}
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        secret = ", token=***" if self._config.token else ""
        # The target holds what the server named too (a chat id): masked like its replies.
        return self.redact(f"Chat({self.base_url!r}, dialect={self.dialect!r}, {shown}{secret})")

    # -- sending ------------------------------------------------------------------------

    def stream(
        self,
        text: str,
        *,
        model: str | None = None,
        whole: bool = False,
        ask: Asker | None = None,
        tools: Sequence[Tool | Callable[..., Any]] = (),
        approve: Approve | None = None,
    ) -> EventStream:
        """The reply to `text` as a handle: `with chat.stream(text) as events: for event in
        events: ...`; `events.turn`, `events.reply`, `events.stop()`.

        `whole=True` uses the non-streaming endpoint (one JSON answer, then its events); the
        handle is the same. `model` overrides the model for this message only (dialects with a
        `model` setting). With tools, the turn runs them until the model answers
        (`nbchat.toolloop`); a call that needs approval waits for `ask(call)` when given, else
        for `decide(call.id, ...)` (the panel's buttons, or your code after the "pending"
        `ToolStatus` event). `tools` adds tools for this message only, `approve` overrides the
        Chat's policy for it. Raises ConfigurationError for an empty message or a tool the
        dialect cannot run; opening raises the typed HTTP errors (see `EventStream`).
        """
        blocking = self._blocking_turn(text, model, whole, ask, tools, approve)
        return EventStream(*blocking, self._listeners)

    def _blocking_turn(
        self,
        text: str,
        model: str | None,
        whole: bool,
        ask: Asker | None,
        tools: Sequence[Tool | Callable[..., Any]],
        approve: Approve | None,
    ) -> tuple[Source, Turn, Notify, float, Redactor]:
        """A new turn and its blocking source: one request, or the tool loop's rounds."""
        if approve is not None:
            check_approve(approve)
        if tools:
            self._check_client_tools()
        tools_now = {**self.tools, **{made.name: made for made in map(as_tool, tools)}}
        turn = self._new_turn(text, model)
        specs = [item.spec() for item in tools_now.values()]

        def new_round() -> Source:
            if whole:

                def fetch() -> Reply:
                    request = self._request(turn, model, stream=False, tools=specs)
                    return self._answer(self._http().post_json(request))

                return WholeSource(fetch, turn.reply)

            def open_response(deadline: Deadline) -> httpx.Response:
                request = self._request(turn, model, stream=True, tools=specs)
                return self._http().open_stream(request, deadline)

            return SSESource(open_response, self._decoder())

        if not tools_now:
            return new_round(), turn, self._notify, self.timeout, self._config.redact
        policy = approve if approve is not None else self.approve
        loop = ToolLoop(new_round, tools_now, policy, self.max_tool_rounds, ask)
        with self._lock:
            self._loops.append(loop)

        def notify(kind: TurnKind, ended: Turn, event: Event | None) -> None:
            if kind == "turn_end":  # nothing waits for a decision any more
                with self._lock:
                    self._loops = [x for x in self._loops if x is not loop]
            self._notify(kind, ended, event)

        return loop, turn, notify, self.timeout, self._config.redact

    def send(self, text: str, *, stream: bool = True, model: str | None = None) -> Reply:
        """Send `text` and wait for the whole reply (`stream=False`: the non-streaming endpoint).

        Returns the complete Reply. Raises the typed HTTP and connection errors
        (`nbchat.errors`, e.g. AuthenticationError for 401), ConfigurationError for a missing
        setting, and StreamError (`.reply` holds the partial reply) when the reply started but
        did not complete; KeyboardInterrupt stops the reply at once and propagates. A tool call
        that needs approval is asked about on stdin (`nbchat.toolloop.ask_with_input`).
        """
        with self.stream(text, model=model, whole=not stream, ask=ask_with_input) as events:
            for _ in events:
                pass
        return events.reply.raise_for_status()

    def astream(
        self,
        text: str,
        *,
        model: str | None = None,
        whole: bool = False,
        ask: Asker | None = None,
    ) -> AsyncEventStream:
        """`async with chat.astream(text) as events: async for event in events: ...`

        With tools, the tool loop runs on a worker thread (as `stream` runs it) and its events
        come to the event loop as they happen; `ask` as for `stream`.
        """
        if self._tools:
            blocking, turn, notify, timeout, redact = self._blocking_turn(
                text, model, whole, ask, (), None
            )
            return AsyncEventStream(
                ThreadedSource(blocking), turn, notify, timeout, redact, self._listeners
            )
        turn = self._new_turn(text, model)
        client = AsyncClient(self._config)
        http = client.http()

        async def prepared() -> Any:
            target, setup = self._dialect.prepare(self._checked(model))
            if setup is not None:
                target = self._dialect.prepared(target, await client.post_json(http, setup))
            return self._remember(target)

        source: AsyncSource
        if whole:

            async def fetch() -> Reply:
                request = self._dialect.request(await prepared(), self._upto(turn), stream=False)
                return self._answer(await client.post_json(http, request))

            source = AsyncWholeSource(fetch, http.aclose, turn.reply)
        else:

            async def open_response(deadline: Deadline) -> httpx.Response:
                request = self._dialect.request(await prepared(), self._upto(turn), stream=True)
                return await client.open_stream(http, request, deadline)

            source = AsyncSSESource(open_response, http.aclose, self._decoder())
        return AsyncEventStream(
            source, turn, self._notify, self.timeout, self._config.redact, self._listeners
        )

    async def asend(self, text: str, *, stream: bool = True, model: str | None = None) -> Reply:
        """The asyncio twin of `send`: same result, same errors."""
        async with self.astream(text, model=model, whole=not stream, ask=ask_with_input) as events:
            async for _ in events:
                pass
        return events.reply.raise_for_status()

    def new(self) -> None:
        """Start over: forget the history; the next send opens a new chat or session."""
        with self._lock:
            self.history = []
            self._target = self._fresh(self._target)

    def forget(self, turn: Turn) -> None:
        """Drop `turn` and every later turn from `history` (to regenerate a reply in place).

        Dialects that send the conversation with each request stop sending them. Backends that
        keep the conversation themselves (chats: the chat id; agents: the session id) still
        remember them: neither API can delete a message. Raises ConfigurationError if `turn`
        is not in the history.
        """
        with self._lock:
            for index, kept in enumerate(self.history):
                if kept is turn:
                    self.history = self.history[:index]
                    return
        raise ConfigurationError("that turn is not in this conversation's history")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Chat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- listening ----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(kind, turn, event)` for every turn; returns the unsubscribe function.

        Kinds: "turn_start" (event None), "event" (each normalized event), "turn_end" (event
        None, the reply's status final). Listeners run on the thread that streams.
        """
        with self._lock:
            self._listeners.add(listener)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.remove(listener)

        return unsubscribe

    def _notify(self, kind: TurnKind, turn: Turn, event: Event | None) -> None:
        if kind != "event":  # once per turn; events are by far the most common
            if kind == "turn_start":
                turn.started_at = utc_now()
            else:
                turn.ended_at = utc_now()
        self._listeners(kind, turn, event)

    # -- internals ----------------------------------------------------------------------

    def _answer(self, body: Any) -> Reply:
        """The non-streaming endpoint's answer as a Reply; its events are masked as they are
        folded (`ReplyMask`), the ids and times it carries besides them here."""
        reply = self._dialect.parse_reply(body)
        redact = self._config.redact
        reply.created_at, reply.user_message_id = masked(
            (reply.created_at, reply.user_message_id), redact
        )
        return reply

    def _new_turn(self, text: str, model: str | None) -> Turn:
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError("a message needs some text")
        # A lone UTF-16 half (text read with `surrogateescape`) cannot be sent, shown or saved
        # as UTF-8: it becomes U+FFFD, so the turn and every later request stay sendable.
        text = whole_characters(text)
        target = self._target
        turn = Turn(
            text,
            dialect=self.dialect,
            model=model or getattr(target, "model", None) or getattr(target, "agent_id", None),
            server=origin(self._config.base_url),
        )
        with self._lock:
            self.history.append(turn)
        return turn

    def _decoder(self) -> EventDecoder:
        return EventDecoder(self._dialect.decoder(), self._config.redact)

    def _http(self) -> Client:
        with self._lock:
            if self._client is None:
                self._client = Client(self._config)
            return self._client

    def _upto(self, turn: Turn) -> Sequence[Turn]:
        """The history the dialect sees for `turn`: every turn before it, then `turn`."""
        with self._lock:
            for index, earlier in enumerate(self.history):
                if earlier is turn:
                    return tuple(self.history[: index + 1])
        return (turn,)  # `new()` ran meanwhile: the turn starts a conversation of its own

    def _conversation(self) -> list[str]:
        return [s.name for s in self._dialect.declared() if s.conversation]

    def _fresh(self, target: Any) -> Any:
        """`target` without the settings that name one conversation (chat id, session id)."""
        defaults = {s.name: s.default for s in self._dialect.declared() if s.conversation}
        return dataclasses.replace(target, **defaults)

    def _checked(self, model: str | None) -> Any:
        """The settings for one message (`model` overriding), with every required one set."""
        target = self._target
        if model:
            if "model" not in vars(target):
                raise ConfigurationError(f"the {self.dialect} dialect has no model setting")
            target = dataclasses.replace(target, model=model)
        for item in missing(self._dialect.declared(), vars(target)):
            raise ConfigurationError(item.needed(f"the {self.dialect} dialect", item.keyword))
        return target

    def _remember(self, target: Any) -> Any:
        """Keep what preparing learned (chat id, session id) for the next turns."""
        learned = {name: getattr(target, name) for name in self._conversation()}
        with self._lock:
            self._target = dataclasses.replace(self._target, **learned)
        return target

    def _request(
        self,
        turn: Turn,
        model: str | None,
        *,
        stream: bool,
        tools: Sequence[Mapping[str, Any]] = (),
    ) -> HttpRequest:
        """The request for `turn`, after preparing the conversation (e.g. creating the chat)."""
        with self._lock:
            target, setup = self._dialect.prepare(self._checked(model))
            if setup is not None:
                target = self._dialect.prepared(target, self._http().post_json(setup))
            target = self._remember(target)
        extra = {"tools": tools} if tools else {}  # only `client_tools` dialects get some
        return self._dialect.request(target, self._upto(turn), stream=stream, **extra)

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles (e.g. sent to Dask workers) keep settings, credentials and tools,
        not the open connection, the listeners or the tool loops running now."""
        state = self.__dict__.copy()
        for name in ("_client", "_lock", "_listeners", "_loops"):
            del state[name]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._client = None
        self._lock = threading.RLock()
        self._listeners = Listeners()
        self._loops = []


def _check_url(url: str) -> None:
    """Refuse a server URL that could only fail later, when the first message is sent."""
    if not url.startswith(("http://", "https://")):
        shown = url.rpartition("@")[2]  # never a user:password part, even in an error
        raise ConfigurationError(
            f"the server URL {shown!r} needs http:// or https:// in front, e.g. http://{shown}"
        )
