"""The reference server's Starlette app: the `chats`, `agents` and `openai` wire formats over
the demo model.

Errors are JSON `{"error": <HTTP reason>, "message": <why>}`, and OpenAI's
`{"error": {"message", "type", "param", "code"}}` under `/v1/`. Checks run in the order a real
service would: authentication (401), rate limit (429), request shape (400), then the target
(404, 403 for another user's chat, 402 for a spent agent).

`vocabulary="variant"` makes the seed APIs speak as their real implementations do rather than
as their pages document (see `ChatsVariantFormat`, `AgentsVariantFormat`), so clients can be
tested against both.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal, Protocol

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .demo_model import Call, Fail, Plan, Step, Text, Thought, Turn, input_tokens, respond
from .store import AGENTS, Chat, Message, RateLimiter, Store

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
PING_SECONDS = 15  # keep-alive comments (": ping") on quiet streams; clients ignore them
#: A tool's result comes this many steps' delays after its call.
TOOL_PAUSE_STEPS = 10

#: One SSE `data` field: a JSON object, or a literal such as OpenAI's `[DONE]`.
Payload = dict[str, Any] | str


Vocabulary = Literal["documented", "variant"]


class ApiError(Exception):
    """An error answer. `code` and `param` show only in OpenAI-shaped bodies (under /v1/)."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers
        self.code, self.param = code, param


@dataclass(frozen=True)
class Settings:
    token: str | None = field(default=None, repr=False)
    delay: float = 0.0
    vocabulary: Vocabulary = "documented"


def create_app(
    *,
    token: str | None = None,
    delay: float = 0.0,
    rate_limit: int | None = None,
    rate_window: float = 60.0,
    store: Store | None = None,
    vocabulary: Vocabulary = "documented",
) -> Starlette:
    """An app whose state lives in `app.state.store` (chats, sessions, stream counters).

    `token` turns on authentication (cookie `session=<token>` or `Authorization: Bearer
    <token>`); `delay` is the pause before each streamed step; `rate_limit` caps requests per
    `rate_window` seconds; `vocabulary` chooses how the seed APIs speak ("documented" or
    "variant").
    """
    from .openai_api import ROUTES as OPENAI_ROUTES  # it builds on this module

    app = Starlette(
        routes=[
            *OPENAI_ROUTES,
            Route("/api/chats", create_chat, methods=["POST"]),
            Route("/api/chats/{chat_id}/messages", list_messages, methods=["GET"]),
            Route("/api/chats/{chat_id}/messages", send_chat_message, methods=["POST"]),
            Route("/api/chats/{chat_id}/messages/stream", stream_chat_message, methods=["POST"]),
            Route("/chat", send_agent_message, methods=["POST"]),
            Route("/chat/stream", stream_agent_message, methods=["POST"]),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.state.settings = Settings(token, delay, vocabulary)
    app.state.store = store or Store()
    app.state.limiter = RateLimiter(rate_limit, rate_window) if rate_limit else None
    return app


#: OpenAI's error `type` and default `code` per status, as its API answers them.
OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "unknown_url"),
    405: ("invalid_request_error", "method_not_supported"),
    429: ("requests", "rate_limit_exceeded"),
}


def _error_response(request: Request, error: ApiError) -> Response:
    status = error.status
    body: dict[str, Any]
    if request.url.path.startswith("/v1/"):
        kind, code = OPENAI_ERRORS.get(status, ("server_error", None))
        body = {
            "error": {
                "message": error.message,
                "type": kind,
                "param": error.param,
                "code": error.code or code,
            }
        }
    else:
        body = {"error": HTTPStatus(status).phrase, "message": error.message}
    return JSONResponse(body, status_code=status, headers=error.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(request, exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error_response(request, ApiError(exc.status_code, exc.detail, exc.headers))


# --- request checks -------------------------------------------------------------------------


def _guard(request: Request) -> None:
    """Authentication, then the rate limit."""
    token = request.app.state.settings.token
    if token is not None:
        cookie = request.cookies.get("session", "")
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        offered = [cookie, bearer if scheme.lower() == "bearer" else ""]
        expected = token.encode()
        if not any(secrets.compare_digest(value.encode(), expected) for value in offered):
            raise ApiError(401, "missing or invalid session cookie or bearer token")
    limiter: RateLimiter | None = request.app.state.limiter
    wait = limiter.retry_after() if limiter else None
    if limiter is not None and wait is not None:
        seconds = max(1, math.ceil(wait))
        message = f"over {limiter.limit} requests in {limiter.window:g} s; retry in {seconds} s"
        raise ApiError(429, message, {"Retry-After": str(seconds)})


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def _optional(body: dict[str, Any], name: str) -> str | None:
    return None if body.get(name) is None else _field(body, name)


def _field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, f"{name!r} must be a non-empty string")
    return value


def _uuid(value: str, name: str) -> None:
    try:
        uuid.UUID(value)
    except ValueError:
        raise ApiError(400, f"{name} {value!r} is not a UUID") from None


def _find_chat(request: Request) -> Chat:
    chat_id = request.path_params["chat_id"]
    _uuid(chat_id, "chat id")
    chat = request.app.state.store.chats.get(chat_id)
    if chat is None:
        raise ApiError(404, f"chat {chat_id} does not exist")
    return chat


# --- chats ----------------------------------------------------------------------------------


async def create_chat(request: Request) -> Response:
    _guard(request)
    body = await _json_object(request)
    user_id = _field(body, "userId")
    chat = request.app.state.store.create_chat(user_id, _optional(body, "title"))
    return JSONResponse({"data": chat.to_json()}, status_code=201)


async def list_messages(request: Request) -> Response:
    _guard(request)
    chat = _find_chat(request)
    return JSONResponse({"data": [message.to_json() for message in chat.messages]})


async def _chat_turn(request: Request) -> tuple[Chat, str, list[Turn]]:
    """The checked chat, message content and prior history of a post to a chat."""
    _guard(request)
    _uuid(request.path_params["chat_id"], "chat id")
    body = await _json_object(request)
    content = _field(body, "content")
    _field(body, "modelId")
    user_id = _field(body, "userId")
    workflow_id = _optional(body, "workflowId")
    if workflow_id is not None:
        _uuid(workflow_id, "workflowId")
    store: Store = request.app.state.store
    chat_id = request.path_params["chat_id"]
    if request.app.state.settings.vocabulary == "variant" and chat_id not in store.chats:
        store.create_chat(user_id, chat_id=chat_id)  # the real backend creates, not 404
    chat = _find_chat(request)
    if chat.user_id != user_id:
        raise ApiError(403, f"chat {chat.id} belongs to another user")
    return chat, content, chat.history()


async def send_chat_message(request: Request) -> Response:
    chat, content, history = await _chat_turn(request)
    plan = respond(content, history)
    user = chat.add("user", content)
    reply = chat.add("assistant", plan.text)
    if plan.failure:
        raise ApiError(500, plan.failure)
    return JSONResponse({"data": {**user.to_json(), "response": reply.to_json()}}, status_code=201)


async def stream_chat_message(request: Request) -> Response:
    chat, content, history = await _chat_turn(request)
    plan = respond(content, history)
    user = chat.add("user", content)
    reply = chat.add("assistant", "")

    def finish(text: str) -> None:
        reply.content = text

    fmt: Format
    if request.app.state.settings.vocabulary == "variant":
        fmt = ChatsVariantFormat(user, reply, plan.sources)
    else:
        fmt = ChatsFormat(reply.id)
    return sse_response(request, plan, fmt, finish)


class ChatsFormat:
    """Payloads of the chats format: compact JSON, as in its spec page."""

    separators = (",", ":")
    tool_pause_steps: float = TOOL_PAUSE_STEPS

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id

    def opening(self) -> list[Payload]:
        return [{"type": "start", "messageId": self.message_id}]

    def step(self, step: Step) -> list[Payload]:
        if isinstance(step, Text):
            return [{"type": "content", "delta": step.text}]
        if isinstance(step, Call):
            return [
                {"type": "tool_call", "toolName": step.name, "toolArgs": step.args},
                {"type": "tool_result", "toolName": step.name, "result": step.result},
            ]
        if isinstance(step, Thought):
            return []  # the format has no reasoning events
        return [{"type": "error", "error": "model_error", "message": step.message}]

    def closing(self) -> list[Payload]:
        return [{"type": "end", "messageId": self.message_id}]


class ChatsVariantFormat(ChatsFormat):
    """The chats API as its real backend speaks it: `user_message {message}`, `token {token}`,
    `complete {message: {..., content, sources?}, chatId}`, `error {error: {message, code}}`.
    Tool events stay as documented."""

    def __init__(self, user: Message, reply: Message, sources: tuple[tuple[str, str], ...]) -> None:
        super().__init__(reply.id)
        self.user, self.reply, self.sources = user, reply, sources

    def opening(self) -> list[Payload]:
        return [{"type": "user_message", "message": self.user.to_json()}]

    def step(self, step: Step) -> list[Payload]:
        if isinstance(step, Text):
            return [{"type": "token", "token": step.text}]
        if isinstance(step, Fail):
            return [{"type": "error", "error": {"message": step.message, "code": "model_error"}}]
        return super().step(step)

    def closing(self) -> list[Payload]:
        message: dict[str, Any] = self.reply.to_json()  # its content is final by now
        if self.sources:
            message["sources"] = [{"title": title, "url": url} for title, url in self.sources]
        return [{"type": "complete", "message": message, "chatId": self.reply.chat_id}]


# --- agents ---------------------------------------------------------------------------------


async def _agent_turn(request: Request) -> tuple[str, str | None, list[Turn]]:
    """The checked message, session id and that session's history."""
    _guard(request)
    body = await _json_object(request)
    agent_id = _field(body, "agent_id")
    message = _field(body, "message")
    session_id = _optional(body, "session_id")
    if agent_id not in AGENTS:
        raise ApiError(404, f"agent {agent_id!r} not found")
    if not AGENTS[agent_id]:
        raise ApiError(402, f"agent {agent_id!r} has insufficient balance")
    sessions = request.app.state.store.sessions
    return message, session_id, list(sessions.get(session_id, ())) if session_id else []


def _remember(request: Request, session_id: str | None, message: str, text: str) -> None:
    if session_id:
        request.app.state.store.sessions.setdefault(session_id, []).append(Turn(message, text))


def _usage(plan: Plan, message: str, history: list[Turn]) -> dict[str, int]:
    used, produced = input_tokens(message, history), plan.tokens()
    return {"input_tokens": used, "output_tokens": produced, "total_tokens": used + produced}


async def send_agent_message(request: Request) -> Response:
    message, session_id, history = await _agent_turn(request)
    session_id = session_id or f"sess_{uuid.uuid4().hex}"
    plan = respond(message, history)
    _remember(request, session_id, message, plan.text)
    if plan.failure:
        raise ApiError(500, plan.failure)
    calls = [
        {"name": step.name, "args": step.args, "result": step.result}
        for step in plan.steps
        if isinstance(step, Call)
    ]
    return JSONResponse(
        {
            "response": plan.text,
            "session_id": session_id,
            "usage": _usage(plan, message, history),
            "tool_calls": calls,
        }
    )


async def stream_agent_message(request: Request) -> Response:
    message, session_id, history = await _agent_turn(request)
    plan = respond(message, history)

    def finish(text: str) -> None:
        _remember(request, session_id, message, text)

    usage = _usage(plan, message, history)
    fmt: Format
    if request.app.state.settings.vocabulary == "variant":
        fmt = AgentsVariantFormat(usage, session_id)
    else:
        fmt = AgentsFormat(usage)
    return sse_response(request, plan, fmt, finish)


class AgentsFormat:
    """Payloads of the agents format: JSON spaced like its spec page."""

    separators = (", ", ": ")
    tool_pause_steps: float = TOOL_PAUSE_STEPS
    text_type = "text"

    def __init__(self, usage: dict[str, int]) -> None:
        self.usage = usage

    def opening(self) -> list[Payload]:
        return []

    def step(self, step: Step) -> list[Payload]:
        if isinstance(step, Text):
            return [{"type": self.text_type, "content": step.text}]
        if isinstance(step, Call):
            return [
                {"type": "tool_call", "name": step.name, "args": step.args},
                {"type": "tool_result", "name": step.name, "result": step.result},
            ]
        if isinstance(step, Thought):
            return []  # the format has no reasoning events
        return [{"type": "error", "message": step.message}]

    def closing(self) -> list[Payload]:
        return [{"type": "done", "usage": self.usage}]


class AgentsVariantFormat(AgentsFormat):
    """The agents API with the event names its vendor also documents: `content {content}`
    for text and `done {session_id, tokens_used}`."""

    text_type = "content"

    def __init__(self, usage: dict[str, int], session_id: str | None) -> None:
        super().__init__(usage)
        self.session_id = session_id

    def closing(self) -> list[Payload]:
        used = self.usage["total_tokens"]
        return [{"type": "done", "session_id": self.session_id, "tokens_used": used}]


# --- streaming ------------------------------------------------------------------------------


class Format(Protocol):
    """How one wire format writes a plan's steps as SSE payloads."""

    separators: tuple[str, str]  # JSON spacing, as the format's own pages show it
    tool_pause_steps: float  # pause between the payloads of one step, in steps' delays

    def opening(self) -> list[Payload]: ...

    def step(self, step: Step) -> list[Payload]: ...

    def closing(self) -> list[Payload]: ...


def sse_response(
    request: Request, plan: Plan, fmt: Format, finish: Callable[[str], None]
) -> Response:
    """The plan streamed in `fmt`, paced by the server's delay (or the plan's own)."""
    settings: Settings = request.app.state.settings
    delay = settings.delay if plan.delay is None else plan.delay
    events = _events(plan, fmt, delay, request.app.state.store, finish)
    return EventSourceResponse(events, headers=SSE_HEADERS, sep="\n", ping=PING_SECONDS)


async def _events(
    plan: Plan,
    fmt: Format,
    delay: float,
    store: Store,
    finish: Callable[[str], None],
) -> AsyncIterator[dict[str, str]]:
    """SSE events for a plan, paced by `delay`.

    The reply is recorded before the closing event goes out, so a client that sends its next
    message as soon as it reads `end`/`done` finds this turn remembered. When the client goes
    away, sse-starlette cancels this generator at its next pause, so generation stops there;
    the partial text is still recorded as the reply.
    """
    stats = store.stats
    stats.open()
    parts: list[str] = []
    done = False

    def event(payload: Payload) -> dict[str, str]:
        if isinstance(payload, str):
            return {"data": payload}
        return {"data": json.dumps(payload, separators=fmt.separators, ensure_ascii=False)}

    try:
        for payload in fmt.opening():
            yield event(payload)
        for step in plan.steps:
            await asyncio.sleep(delay)
            if isinstance(step, Text):
                parts.append(step.text)
                stats.deltas += 1
            for index, payload in enumerate(fmt.step(step)):
                if index:  # a tool's result comes a moment after its call, arguments in pieces
                    await asyncio.sleep(delay * fmt.tool_pause_steps)
                yield event(payload)
        done = True
        stats.completed += 1
        finish("".join(parts))
        if plan.failure is None:
            for payload in fmt.closing():
                yield event(payload)
    finally:
        if not done:
            stats.cancelled += 1
            finish("".join(parts))
