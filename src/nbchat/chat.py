"""`Chat`: one conversation with one backend, its history, and who is listening to it."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import replace

import httpx

from .client import AsyncClient, Client, ClientConfig, Deadline, safe_url
from .cookies import CookiesArg
from .dialects import HttpRequest, Target, get_dialect
from .errors import ConfigurationError, NbchatError, StreamError
from .events import Event, Reply
from .stream import AsyncEventStream, EventDecoder, EventStream, Turn, TurnKind, failure_event

log = logging.getLogger("nbchat")

Listener = Callable[[TurnKind, Turn, "Event | None"], None]

__all__ = ["AsyncEventStream", "Chat", "EventStream", "Listener", "Turn"]


class Chat:
    """A conversation. Every turn, whoever sends it, is kept in `history` and told to listeners.

    Arguments left out come from the environment (NBCHAT_BASE_URL, NBCHAT_DIALECT, NBCHAT_TOKEN,
    NBCHAT_CHAT_ID, NBCHAT_MODEL, NBCHAT_USER_ID, NBCHAT_AGENT_ID, NBCHAT_COOKIES), so a notebook
    can stay free of addresses and secrets.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        dialect: str | None = None,
        chat_id: str | None = None,
        model: str | None = None,
        user_id: str | None = None,
        workflow_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        token: str | None = None,
        cookies: CookiesArg = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        max_retry_wait: float = 60.0,
    ) -> None:
        env = os.environ.get
        base_url = base_url or env("NBCHAT_BASE_URL")
        if not base_url:
            raise ConfigurationError("no server: pass base_url= or set NBCHAT_BASE_URL")
        self._dialect = get_dialect(dialect or env("NBCHAT_DIALECT") or "chats")
        self._target = Target(
            chat_id=chat_id or env("NBCHAT_CHAT_ID"),
            model=model or env("NBCHAT_MODEL"),
            user_id=user_id or env("NBCHAT_USER_ID"),
            workflow_id=workflow_id,
            agent_id=agent_id or env("NBCHAT_AGENT_ID"),
            session_id=session_id,
        )
        self._config = ClientConfig(
            base_url=base_url.rstrip("/"),
            token=token or env("NBCHAT_TOKEN"),
            cookies=cookies if cookies is not None else env("NBCHAT_COOKIES"),
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._client: Client | None = None
        self._lock = threading.RLock()
        self._listeners: tuple[Listener, ...] = ()  # replaced, never mutated: safe to iterate
        self.history: list[Turn] = []

    # -- what the conversation is -------------------------------------------------------

    @property
    def dialect(self) -> str:
        return self._dialect.name

    @property
    def base_url(self) -> str:
        return safe_url(self._config.base_url)

    @property
    def timeout(self) -> float:
        return self._config.timeout

    @property
    def target(self) -> Target:
        """Chat id, model, user, agent and session this conversation sends to."""
        return self._target

    def __repr__(self) -> str:
        fields = {k: v for k, v in vars(self._target).items() if v}
        shown = ", ".join(f"{k}={v!r}" for k, v in fields.items())
        secret = ", token=***" if self._config.token else ""
        return f"Chat({self.base_url!r}, dialect={self.dialect!r}, {shown}{secret})"

    # -- sending ------------------------------------------------------------------------

    def stream(self, text: str, *, model: str | None = None) -> EventStream:
        """Stream the reply to `text` as normalized events (`with chat.stream(...) as events`)."""
        turn = self._new_turn(text)

        def open_response(deadline: Deadline) -> httpx.Response:
            target = self._prepare(model)
            return self._http().open_stream(self._dialect.stream_request(target, text), deadline)

        return EventStream(open_response, turn, self._notify, self._decoder(), self.timeout)

    def send(self, text: str, *, stream: bool = True, model: str | None = None) -> Reply:
        """Send `text` and wait for the whole reply; a reply that did not complete raises."""
        if not stream:
            return self._send_whole(text, model)
        with self.stream(text, model=model) as events:
            for _ in events:
                pass
        return _complete(events.reply)

    def astream(self, text: str, *, model: str | None = None) -> AsyncEventStream:
        """`async with chat.astream(text) as events: async for event in events: ...`"""
        turn = self._new_turn(text)
        client = AsyncClient(self._config)
        http = client.http()

        async def open_response(deadline: Deadline) -> httpx.Response:
            target, setup = self._dialect.prepare(self._with_model(model))
            if setup is not None:
                target = self._dialect.prepared(target, await client.post_json(http, setup))
            request = self._dialect.stream_request(self._remember(target), text)
            return await client.open_stream(http, request, deadline)

        return AsyncEventStream(
            open_response, http.aclose, turn, self._notify, self._decoder(), self.timeout
        )

    async def asend(self, text: str, *, model: str | None = None) -> Reply:
        async with self.astream(text, model=model) as events:
            async for _ in events:
                pass
        return _complete(events.reply)

    def new(self) -> None:
        """Start over: forget the history; the next send opens a new chat or session."""
        with self._lock:
            self.history = []
            self._target = replace(self._target, chat_id=None, session_id=None)

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
            self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                self._listeners = tuple(x for x in self._listeners if x is not listener)

        return unsubscribe

    def _notify(self, kind: TurnKind, turn: Turn, event: Event | None) -> None:
        for listener in self._listeners:
            try:
                listener(kind, turn, event)
            except Exception:  # a broken display must not break the conversation
                log.exception("nbchat listener failed")

    # -- internals ----------------------------------------------------------------------

    def _new_turn(self, text: str) -> Turn:
        if not isinstance(text, str) or not text.strip():
            raise ConfigurationError("a message needs some text")
        turn = Turn(text)
        with self._lock:
            self.history.append(turn)
        return turn

    def _decoder(self) -> EventDecoder:
        return EventDecoder(self._dialect)

    def _http(self) -> Client:
        with self._lock:
            if self._client is None:
                self._client = Client(self._config)
            return self._client

    def _with_model(self, model: str | None) -> Target:
        return replace(self._target, model=model) if model else self._target

    def _remember(self, target: Target) -> Target:
        """Keep what preparing learned (chat id, session id) for the next turns."""
        with self._lock:
            self._target = replace(
                self._target, chat_id=target.chat_id, session_id=target.session_id
            )
        return target

    def _prepare(self, model: str | None) -> Target:
        with self._lock:
            target, setup = self._dialect.prepare(self._with_model(model))
            if setup is not None:
                target = self._dialect.prepared(target, self._http().post_json(setup))
            return self._remember(target)

    def _send_whole(self, text: str, model: str | None) -> Reply:
        turn = self._new_turn(text)
        self._notify("turn_start", turn, None)
        try:
            target = self._prepare(model)
            request: HttpRequest = self._dialect.send_request(target, text)
            reply = self._dialect.parse_reply(self._http().post_json(request))
        except NbchatError as exc:
            turn.reply.add(failure_event(exc))
            self._notify("event", turn, turn.reply.error)
            self._notify("turn_end", turn, None)
            raise
        except BaseException:  # KeyboardInterrupt: the turn ends stopped, as a stream's would
            turn.reply.stop()
            self._notify("turn_end", turn, None)
            raise
        for event in reply.events:
            turn.reply.add(event)
            self._notify("event", turn, event)
        turn.reply.created_at, turn.reply.user_message_id = reply.created_at, reply.user_message_id
        self._notify("turn_end", turn, None)
        return turn.reply


def _complete(reply: Reply) -> Reply:
    if reply.status == "complete":
        return reply
    detail = reply.error.message if reply.error else reply.status
    raise StreamError(f"the reply did not complete ({reply.status}): {detail}", reply)
