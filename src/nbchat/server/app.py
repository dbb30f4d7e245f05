"""The reference server's Starlette app: the `chats` and `agents` wire formats over the demo model.

Errors are JSON `{"error": <HTTP reason>, "message": <why>}`. Checks run in the order a real
service would: authentication (401), rate limit (429), request shape (400), then the target
(404, 403 for another user's chat, 402 for a spent agent).
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
from typing import Any

from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .demo_model import Call, Plan, Step, Text, Turn, input_tokens, respond
from .store import AGENTS, Chat, RateLimiter, Store

SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
PING_SECONDS = 15  # keep-alive comments (": ping") on quiet streams; clients ignore them


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


@dataclass(frozen=True)
class Settings:
    token: str | None = field(default=None, repr=False)
    delay: float = 0.0


def create_app(
    *,
    token: str | None = None,
    delay: float = 0.0,
    rate_limit: int | None = None,
    rate_window: float = 60.0,
    store: Store | None = None,
) -> Starlette:
    """An app whose state lives in `app.state.store` (chats, sessions, stream counters).

    `token` turns on authentication (cookie `session=<token>` or `Authorization: Bearer
    <token>`); `delay` is the pause before each streamed step; `rate_limit` caps requests per
    `rate_window` seconds.
    """
    app = Starlette(
        routes=[
            Route("/api/chats", create_chat, methods=["POST"]),
            Route("/api/chats/{chat_id}/messages", list_messages, methods=["GET"]),
            Route("/api/chats/{chat_id}/messages", send_chat_message, methods=["POST"]),
            Route("/api/chats/{chat_id}/messages/stream", stream_chat_message, methods=["POST"]),
            Route("/chat", send_agent_message, methods=["POST"]),
            Route("/chat/stream", stream_agent_message, methods=["POST"]),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.state.settings = Settings(token, delay)
    app.state.store = store or Store()
    app.state.limiter = RateLimiter(rate_limit, rate_window) if rate_limit else None
    return app


def _error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"error": HTTPStatus(status).phrase, "message": message}
    return JSONResponse(body, status_code=status, headers=headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _error_response(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error_response(exc.status_code, exc.detail, exc.headers)


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
    chat.add("user", content)
    reply = chat.add("assistant", "")

    def finish(text: str) -> None:
        reply.content = text

    return _sse(request, plan, ChatsFormat(reply.id), finish)


class ChatsFormat:
    """Payloads of the chats format: compact JSON, as in its spec page."""

    separators = (",", ":")

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id

    def opening(self) -> list[dict[str, Any]]:
        return [{"type": "start", "messageId": self.message_id}]

    def step(self, step: Step) -> list[dict[str, Any]]:
        if isinstance(step, Text):
            return [{"type": "content", "delta": step.text}]
        if isinstance(step, Call):
            return [
                {"type": "tool_call", "toolName": step.name, "toolArgs": step.args},
                {"type": "tool_result", "toolName": step.name, "result": step.result},
            ]
        return [{"type": "error", "error": "model_error", "message": step.message}]

    def closing(self) -> list[dict[str, Any]]:
        return [{"type": "end", "messageId": self.message_id}]


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

    return _sse(request, plan, AgentsFormat(_usage(plan, message, history)), finish)


class AgentsFormat:
    """Payloads of the agents format: JSON spaced like its spec page."""

    separators = (", ", ": ")

    def __init__(self, usage: dict[str, int]) -> None:
        self.usage = usage

    def opening(self) -> list[dict[str, Any]]:
        return []

    def step(self, step: Step) -> list[dict[str, Any]]:
        if isinstance(step, Text):
            return [{"type": "text", "content": step.text}]
        if isinstance(step, Call):
            return [
                {"type": "tool_call", "name": step.name, "args": step.args},
                {"type": "tool_result", "name": step.name, "result": step.result},
            ]
        return [{"type": "error", "message": step.message}]

    def closing(self) -> list[dict[str, Any]]:
        return [{"type": "done", "usage": self.usage}]


# --- streaming ------------------------------------------------------------------------------

#: A tool's result comes this many steps' delays after its call.
TOOL_PAUSE_STEPS = 10


def _sse(
    request: Request,
    plan: Plan,
    fmt: ChatsFormat | AgentsFormat,
    finish: Callable[[str], None],
) -> Response:
    settings: Settings = request.app.state.settings
    delay = settings.delay if plan.delay is None else plan.delay
    events = _events(plan, fmt, delay, request.app.state.store, finish)
    return EventSourceResponse(events, headers=SSE_HEADERS, sep="\n", ping=PING_SECONDS)


async def _events(
    plan: Plan,
    fmt: ChatsFormat | AgentsFormat,
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

    def event(payload: dict[str, Any]) -> dict[str, str]:
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
                if index:  # a tool takes a moment: its card shows pending until the result
                    await asyncio.sleep(delay * TOOL_PAUSE_STEPS)
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
