"""The `chats` wire format: /api/chats/{chatId}/messages[/stream], session cookie auth.

The server keeps the conversation (per chat id), so a request carries only the new message.
Source: the "Create Message" API pages (specs/chats-create-message*.txt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..events import Done, Error, Event, Reply, Start, TextDelta, ToolCall, ToolResult
from ..settings import setting
from ..turn import Turn
from .base import Decoder, Dialect, HttpRequest, MalformedPayload, parse_json_object, text_field


@dataclass(frozen=True)
class ChatsSettings:
    """Who a chats message goes to; the server keeps the history under `chat_id`."""

    chat_id: str | None = setting(
        "the chat to continue (created on the first message when left out)",
        env=["NBCHAT_CHAT_ID"],
        conversation=True,
    )
    model: str | None = setting("model id, e.g. gpt-4", env=["NBCHAT_MODEL"], required=True)
    user_id: str | None = setting("the user's id", env=["NBCHAT_USER_ID"], required=True)
    workflow_id: str | None = setting("workflow to run the message through")


class ChatsDialect(Dialect[ChatsSettings]):
    name = "chats"
    summary = (
        "`POST /api/chats/{chatId}/messages/stream` (and `/messages` for `stream=False`);"
        " session cookie"
    )
    settings = ChatsSettings

    def prepare(self, settings: ChatsSettings) -> tuple[ChatsSettings, HttpRequest | None]:
        if settings.chat_id:
            return settings, None
        return settings, HttpRequest.post("/api/chats", {"userId": settings.user_id}, stream=False)

    def prepared(self, settings: ChatsSettings, body: Any) -> ChatsSettings:
        try:
            chat_id = body["data"]["id"]
        except (KeyError, TypeError):
            raise MalformedPayload("chat creation answer has no data.id") from None
        return replace(settings, chat_id=str(chat_id))

    def request(
        self, settings: ChatsSettings, history: Sequence[Turn], *, stream: bool
    ) -> HttpRequest:
        body: dict[str, Any] = {
            "content": history[-1].user,
            "modelId": settings.model,
            "userId": settings.user_id,
        }
        if settings.workflow_id:
            body["workflowId"] = settings.workflow_id
        path = f"/api/chats/{settings.chat_id}/messages" + ("/stream" if stream else "")
        return HttpRequest.post(path, body, stream=stream)

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

    def decoder(self) -> ChatsDecoder:
        return ChatsDecoder()


class ChatsDecoder(Decoder):
    """Stateless: each `data:` payload is one whole event."""

    def decode(self, data: str, event: str) -> list[Event]:
        payload = parse_json_object(data)
        kind = payload.get("type")
        if kind == "content":  # by far the most common: kept first
            return [TextDelta(text_field(payload, "delta"))]
        if kind == "start":
            return [Start(payload.get("messageId"))]
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
