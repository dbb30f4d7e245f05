"""The `agents` wire format: POST /chat/stream with a bearer token, usage on `done`."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from ..errors import ConfigurationError
from ..events import Done, Error, Event, Reply, TextDelta, ToolCall, ToolResult, Usage
from .base import HttpRequest, MalformedPayload, Target, parse_json_object, text_field

SSE_HEADERS = {"Accept": "text/event-stream", "Content-Type": "application/json"}
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class AgentsDialect:
    name = "agents"

    def prepare(self, target: Target) -> tuple[Target, HttpRequest | None]:
        if not target.agent_id:
            raise ConfigurationError("the agents dialect needs agent_id= (or NBCHAT_AGENT_ID)")
        if target.session_id:
            return target, None
        # The format has no way to learn a server-made session id, so the client names one.
        return replace(target, session_id=f"sess_{uuid.uuid4().hex}"), None

    def prepared(self, target: Target, body: Any) -> Target:
        return target

    def stream_request(self, target: Target, text: str) -> HttpRequest:
        body = {"agent_id": target.agent_id, "message": text}
        if target.session_id:
            body["session_id"] = target.session_id
        return HttpRequest("POST", "/chat/stream", body, SSE_HEADERS)

    def send_request(self, target: Target, text: str) -> HttpRequest:
        """ "Send Message": the same body on POST /chat, answered with one JSON object."""
        return replace(self.stream_request(target, text), path="/chat", headers=JSON_HEADERS)

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

    def decode(self, data: str) -> list[Event]:
        payload = parse_json_object(data)
        kind = payload.get("type")
        if kind == "text":  # by far the most common: kept first and short
            return [TextDelta(text_field(payload, "content"))]
        if kind == "tool_call":
            return [ToolCall(str(payload.get("name")), payload.get("args"))]
        if kind == "tool_result":
            return [ToolResult(str(payload.get("name")), payload.get("result"))]
        if kind == "done":
            return [Done(usage=_usage(payload.get("usage")))]
        if kind == "error":
            return [Error("server", str(payload.get("message") or "the agent reported an error"))]
        return []


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    counts = {k: raw.get(k) for k in ("input_tokens", "output_tokens", "total_tokens")}
    return Usage(**{k: v if isinstance(v, int) else None for k, v in counts.items()})
