"""The `agents` wire format: POST /chat/stream with a bearer token, usage on `done`.

The agent keeps the conversation per session id, so a request carries only the new message.
Source: the "Stream Message" API page (specs/agents-stream-message.txt).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..events import Done, Error, Event, Reply, TextDelta, ToolCall, ToolResult, Usage
from ..settings import setting
from ..turn import Turn
from .base import Decoder, Dialect, HttpRequest, MalformedPayload, parse_json_object, text_field


@dataclass(frozen=True)
class AgentsSettings:
    """Which agent answers. The agent remembers the conversation per `session_id`, which the
    client names itself on the first message (the format has no way to learn one)."""

    agent_id: str | None = setting(
        "the agent to talk to, e.g. ag_c47e7c97_b2f2",
        env=["NBCHAT_AGENT_ID"],
        required=True,
        flag="--agent",
    )
    session_id: str | None = setting(
        "the session to continue (a new one is named when left out)", conversation=True
    )


class AgentsDialect(Dialect[AgentsSettings]):
    name = "agents"
    summary = "`POST /chat/stream` (and `/chat` for `stream=False`); `Authorization: Bearer`"
    settings = AgentsSettings

    def prepare(self, settings: AgentsSettings) -> tuple[AgentsSettings, HttpRequest | None]:
        if settings.session_id:
            return settings, None
        # The format has no way to learn a server-made session id, so the client names one.
        return replace(settings, session_id=f"sess_{uuid.uuid4().hex}"), None

    def request(
        self, settings: AgentsSettings, history: Sequence[Turn], *, stream: bool
    ) -> HttpRequest:
        body = {"agent_id": settings.agent_id, "message": history[-1].user}
        if settings.session_id:
            body["session_id"] = settings.session_id
        # "Send Message" is the same body on POST /chat, answered with one JSON object.
        return HttpRequest.post("/chat/stream" if stream else "/chat", body, stream=stream)

    def parse_reply(self, body: Any) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("response"), str):
            raise MalformedPayload("answer has no response text")
        reply = Reply()
        for call in body.get("tool_calls") or []:
            if isinstance(call, dict):
                name = str(call.get("name"))
                reply.add(ToolCall(name, call.get("args")))
                reply.add(ToolResult(name, call.get("result")))
        reply.add(TextDelta(body["response"]))
        reply.add(Done(usage=_usage(body.get("usage"))))
        return reply

    def decoder(self) -> AgentsDecoder:
        return AgentsDecoder()


class AgentsDecoder(Decoder):
    """Stateless: each `data:` payload is one whole event.

    Besides the documented events it reads the names the vendor's other pages use: text as
    `content {content}` or `token {token|content}`, and `done {session_id, tokens_used}`.
    """

    def decode(self, data: str, event: str) -> list[Event]:
        payload = parse_json_object(data)
        kind = payload.get("type")
        if kind == "text" or kind == "content":  # by far the most common: kept first and short
            content = payload.get("content", "")
            if type(content) is str:  # `text_field` inline: this runs once per delta
                return [TextDelta(content)]
            return [TextDelta(text_field(payload, "content"))]  # its error
        if kind == "token":
            return [TextDelta(text_field(payload, "token" if "token" in payload else "content"))]
        if kind == "tool_call":
            return [ToolCall(str(payload.get("name")), payload.get("args"))]
        if kind == "tool_result":
            return [ToolResult(str(payload.get("name")), payload.get("result"))]
        if kind == "done":
            usage = _usage(payload.get("usage"))
            used = payload.get("tokens_used")
            if usage is None and type(used) is int:
                usage = Usage(total_tokens=used)
            return [Done(usage=usage)]
        if kind == "error":
            return [Error("server", str(payload.get("message") or "the agent reported an error"))]
        return []


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    counts = {k: raw.get(k) for k in ("input_tokens", "output_tokens", "total_tokens")}
    return Usage(**{k: v if isinstance(v, int) else None for k, v in counts.items()})
