"""The chats format end to end over loopback: create, stream, send, list, remember."""

from __future__ import annotations

import httpx

from .helpers import USER, chat_body, chat_stream, new_chat, text_of


def test_create_chat_answers_201_with_a_uuid(server_url: str) -> None:
    response = httpx.post(f"{server_url}/api/chats", json={"userId": USER, "title": "Notes"})
    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == {"id", "userId", "title", "createdAt"}
    assert (data["userId"], data["title"]) == (USER, "Notes")
    assert len(data["id"]) == 36 and data["id"].count("-") == 4


def test_stream_starts_and_ends_with_the_stored_message_id(server_url: str) -> None:
    chat_id = new_chat(server_url)
    payloads = chat_stream(server_url, chat_id, "Explain quantum computing")
    assert payloads[0]["type"] == "start" and payloads[-1]["type"] == "end"
    assert payloads[0]["messageId"] == payloads[-1]["messageId"]
    messages = httpx.get(f"{server_url}/api/chats/{chat_id}/messages").json()["data"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == "Explain quantum computing"
    assert messages[1]["id"] == payloads[0]["messageId"]
    assert messages[1]["content"] == text_of(payloads)


def test_arithmetic_streams_a_tool_call_and_its_result(server_url: str) -> None:
    payloads = chat_stream(server_url, new_chat(server_url), "what is 6*7?")
    calls = [p for p in payloads if p["type"] in ("tool_call", "tool_result")]
    assert calls == [
        {"type": "tool_call", "toolName": "calculator", "toolArgs": {"expression": "6*7"}},
        {"type": "tool_result", "toolName": "calculator", "result": "42"},
    ]
    assert text_of(payloads).endswith("`6*7` = **42**.")


def test_echo_and_stream_commands(server_url: str) -> None:
    chat_id = new_chat(server_url)
    assert text_of(chat_stream(server_url, chat_id, "/echo exactly this, please")) == (
        "exactly this, please"
    )
    deltas = [p["delta"] for p in chat_stream(server_url, chat_id, "/stream 40 3") if "delta" in p]
    assert len(deltas) == 40 and all(len(d) == 3 for d in deltas)


def test_fail_streams_text_then_an_error_without_end(server_url: str) -> None:
    payloads = chat_stream(server_url, new_chat(server_url), "/fail")
    assert payloads[0]["type"] == "start"
    assert text_of(payloads) == "This reply will stop part way"
    assert payloads[-1] == {
        "type": "error",
        "error": "model_error",
        "message": "the demo model failed on purpose (/fail)",
    }
    assert "end" not in [p["type"] for p in payloads]


def test_the_chat_remembers_earlier_turns(server_url: str) -> None:
    chat_id = new_chat(server_url)
    chat_stream(server_url, chat_id, "my name is Ada")
    second = text_of(chat_stream(server_url, chat_id, "what did I say?"))
    assert second.startswith('**Turn 2.** You said: "what did I say?".')
    assert 'Before this you said: "my name is Ada"' in second


def test_same_conversation_streams_the_same_events(server_url: str) -> None:
    def conversation() -> list[dict]:
        chat_id = new_chat(server_url)
        events = []
        for prompt in ("hello", "calculate 1+1", "/code"):
            events += [p for p in chat_stream(server_url, chat_id, prompt) if "messageId" not in p]
        return events

    assert conversation() == conversation()


def test_non_streaming_send_returns_the_same_text_as_a_stream(server_url: str) -> None:
    streamed = text_of(chat_stream(server_url, new_chat(server_url), "calculate 2+3*4"))
    chat_id = new_chat(server_url)
    response = httpx.post(
        f"{server_url}/api/chats/{chat_id}/messages", json=chat_body("calculate 2+3*4")
    )
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["response"]["content"] == streamed
    assert data["chatId"] == data["response"]["chatId"] == chat_id


def test_non_streaming_fail_is_a_500_with_json_body(server_url: str) -> None:
    chat_id = new_chat(server_url)
    response = httpx.post(f"{server_url}/api/chats/{chat_id}/messages", json=chat_body("/fail"))
    assert response.status_code == 500
    assert response.json() == {
        "error": "Internal Server Error",
        "message": "the demo model failed on purpose (/fail)",
    }


def test_workflow_id_may_be_null_or_a_uuid(server_url: str) -> None:
    chat_id = new_chat(server_url)
    for workflow_id in (None, "6ba7b810-9dad-11d1-80b4-00c04fd430c8"):
        body = {**chat_body("/echo ok"), "workflowId": workflow_id}
        response = httpx.post(f"{server_url}/api/chats/{chat_id}/messages", json=body)
        assert response.status_code == 201
        assert response.json()["data"]["response"]["content"] == "ok"
