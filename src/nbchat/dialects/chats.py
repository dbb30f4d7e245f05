"""The `chats` wire format: /api/chats/{chatId}/messages[/stream], session cookie auth."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import ConfigurationError
from ..events import Done, Error, Event, Reply, Start, TextDelta, ToolCall, ToolResult
from .base import HttpRequest, MalformedPayload, Target, parse_json_object, text_field

SSE_HEADERS = {"Accept": "text/event-stream", "Content-Type": "application/json"}
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class ChatsDialect:
    name = "chats"

    def prepare(self, target: Target) -> tuple[Target, HttpRequest | None]:
        _require(target.model, "model", "NBCHAT_MODEL")
        _require(target.user_id, "user_id", "NBCHAT_USER_ID")
        if target.chat_id:
            return target, None
        return target, HttpRequest("POST", "/api/chats", {"userId": target.user_id}, JSON_HEADERS)

    def prepared(self, target: Target, body: Any) -> Target:
        try:
            chat_id = body["data"]["id"]
        except (KeyError, TypeError):
            raise MalformedPayload("chat creation answer has no data.id") from None
        return replace(target, chat_id=str(chat_id))

    def _body(self, target: Target, text: str) -> dict[str, Any]:
        body: dict[str, Any] = {"content": text, "modelId": target.model, "userId": target.user_id}
        if target.workflow_id:
            body["workflowId"] = target.workflow_id
        return body

    def stream_request(self, target: Target, text: str) -> HttpRequest:
        path = f"/api/chats/{target.chat_id}/messages/stream"
        return HttpRequest("POST", path, self._body(target, text), SSE_HEADERS)

    def send_request(self, target: Target, text: str) -> HttpRequest:
        path = f"/api/chats/{target.chat_id}/messages"
        return HttpRequest("POST", path, self._body(target, text), JSON_HEADERS)

    def parse_reply(self, body: Any) -> Reply:
        try:
            data = body["data"]
            response = data["response"]
            content = response["content"]
        except (KeyError, TypeError):
            raise MalformedPayload("answer has no data.response.content") from None
        reply = Reply(created_at=response.get("createdAt"), user_message_id=data.get("id"))
        for event in (Start(response.get("id")), TextDelta(content), Done(response.get("id"))):
            reply.add(event)
        return reply

    def decode(self, data: str) -> list[Event]:
        payload = parse_json_object(data)
        kind = payload.get("type")
        if kind == "start":
            return [Start(payload.get("messageId"))]
        if kind == "content":
            return [TextDelta(text_field(payload, "delta"))]
        if kind == "tool_call":
            return [ToolCall(str(payload.get("toolName")), payload.get("toolArgs"))]
        if kind == "tool_result":
            return [ToolResult(str(payload.get("toolName")), payload.get("result"))]
        if kind == "end":
            return [Done(payload.get("messageId"))]
        if kind == "error":
            code = payload.get("error") or "server"
            return [Error(str(code), str(payload.get("message") or code))]
        return []


def _require(value: str | None, name: str, env: str) -> None:
    if not value:
        raise ConfigurationError(f"the chats dialect needs {name}= (or the {env} variable)")
