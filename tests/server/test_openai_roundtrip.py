"""`nbchat.Chat(dialect="openai")` against the reference server's Chat Completions, over
loopback; and the seed dialects against the server speaking its variant vocabulary."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import nbchat
from nbchat.errors import AuthenticationError, BadRequestError, NotFoundError, StreamError
from nbchat.events import ReasoningDelta, Source, TextDelta, ToolCall, ToolCallDelta
from nbchat.server import ServerHandle, start_server

from .helpers import assert_generation_stopped, stop_after_five


def openai(server: ServerHandle, **kwargs: Any) -> nbchat.Chat:
    options = {"model": "demo", **kwargs}
    return nbchat.Chat(f"{server.url}/v1", dialect="openai", **options)


def test_streamed_and_whole_replies_agree(server: ServerHandle) -> None:
    streamed = openai(server).send("Explain quantum computing")
    whole = openai(server).send("Explain quantum computing", stream=False)
    assert streamed.text == whole.text and "Explain quantum computing" in streamed.text
    assert streamed.usage == whole.usage and streamed.usage is not None
    assert streamed.usage.total_tokens == streamed.usage.input_tokens + streamed.usage.output_tokens
    assert streamed.finish_reason == whole.finish_reason == "stop"
    assert streamed.message_id == whole.message_id and streamed.message_id.startswith("chatcmpl-")


def test_history_goes_with_every_request(server: ServerHandle) -> None:
    chat = openai(server, system="Be terse.")
    chat.send("first question")
    second = chat.send("second question")
    assert "**Turn 2.**" in second.text
    assert 'Before this you said: "first question"' in second.text
    chat.new()
    assert "**Turn 1.**" in chat.send("again").text


def test_tool_call_arguments_stream_then_parse(server: ServerHandle) -> None:
    with openai(server).stream("calculate 2+3*4") as events:
        seen = list(events)
    deltas = [e for e in seen if isinstance(e, ToolCallDelta)]
    assert len(deltas) >= 3
    assert [len(d.arguments) for d in deltas] == sorted(len(d.arguments) for d in deltas)
    assert deltas[-1].arguments == '{"expression": "2+3*4"}'
    calls = [e for e in seen if isinstance(e, ToolCall)]
    assert calls == [ToolCall("calculator", {"expression": "2+3*4"}, deltas[0].id)]
    reply = events.reply
    assert reply.finish_reason == "tool_calls" and reply.text == "Let me use the calculator."


def test_tool_result_goes_back_in_the_next_request(server: ServerHandle) -> None:
    chat = openai(server)
    reply = chat.send("calculate 6*7")
    call = reply.tool_calls[0]
    # What a tool runner does: record the result, then ask the model to go on.
    reply.add(nbchat.ToolResult(call.name, "42", call.id))
    assert chat.send("go on").text.startswith("**Turn 2.**")  # the demo model answers the user
    sent = (
        nbchat.dialects.get_dialect("openai")
        .request(chat.target, chat.history, stream=False)
        .json["messages"]
    )
    assert sent[1]["tool_calls"][0]["id"] == call.id
    assert sent[2] == {"role": "tool", "tool_call_id": call.id, "content": "42"}


def test_reasoning_streams_apart_from_text(server: ServerHandle) -> None:
    with openai(server).stream("/think /echo done") as events:
        kinds = [type(e) for e in events if isinstance(e, TextDelta | ReasoningDelta)]
    assert kinds.index(TextDelta) > 0 and set(kinds[: kinds.index(TextDelta)]) == {ReasoningDelta}
    assert events.reply.reasoning.startswith("The user asks me to think")
    assert events.reply.text == "done"


def test_max_tokens_gives_length(server: ServerHandle) -> None:
    reply = openai(server, params={"max_tokens": 3}).send("/echo a b c d e")
    assert (reply.text, reply.finish_reason, reply.status) == ("a b c ", "length", "complete")


def test_errors_are_typed_with_the_servers_message(server: ServerHandle) -> None:
    with pytest.raises(NotFoundError, match="The model `nope` does not exist"):
        openai(server, model="nope").send("hi")
    with pytest.raises(BadRequestError, match="max_tokens"):
        openai(server, params={"max_tokens": 0}).send("hi")
    with pytest.raises(StreamError) as caught:
        openai(server).send("/fail")
    reply = caught.value.reply
    assert (reply.text, reply.status) == ("This reply will stop part way", "error")
    assert reply.error is not None and "on purpose" in reply.error.message


def test_token_from_openai_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_server(token="sk-local") as secured:
        with pytest.raises(AuthenticationError):
            openai(secured).send("hi")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
        assert openai(secured).send("/echo in").text == "in"


def test_stop_closes_the_stream_and_the_server_stops_generating() -> None:
    with start_server() as srv:
        stop_after_five(openai(srv))
        assert_generation_stopped(srv.store.stats)


async def test_async_round_trip(server: ServerHandle) -> None:
    chat = openai(server)
    assert (await chat.asend("/echo async")).text == "async"
    assert "**Turn 2.**" in (await chat.asend("more")).text


# --- the seed APIs' variant vocabularies ------------------------------------------------------


@pytest.fixture(scope="module")
def variant() -> Iterator[ServerHandle]:
    with start_server(vocabulary="variant") as handle:
        yield handle


def test_chats_variant_with_an_unknown_chat_id_and_sources(variant: ServerHandle) -> None:
    chat = nbchat.Chat(
        variant.url, dialect="chats", chat_id=str(uuid.uuid4()), model="m", user_id="u"
    )
    assert chat.send("/echo via tokens").text == "via tokens"
    cited = chat.send("/cite")
    assert cited.text.startswith("Jupyter notebooks [1]")
    assert cited.sources == [
        Source("https://jupyter.org/", "Project Jupyter"),
        Source("https://ipython.org/", "IPython"),
    ]
    with pytest.raises(StreamError) as caught:
        chat.send("/fail")
    assert caught.value.reply.error == nbchat.Error(
        "model_error", "the demo model failed on purpose (/fail)"
    )


def test_agents_variant_text_and_tokens_used(variant: ServerHandle) -> None:
    chat = nbchat.Chat(variant.url, dialect="agents", agent_id="ag_demo")
    reply = chat.send("/echo two words")
    assert reply.text == "two words"
    assert reply.usage == nbchat.Usage(total_tokens=5)
    assert "**Turn 2.**" in chat.send("and?").text  # the session is remembered


@pytest.mark.parametrize("stream", [True, False])
def test_openai_citations_become_sources(server: ServerHandle, stream: bool) -> None:
    cited = openai(server).send("/cite", stream=stream)
    assert cited.text.startswith("Jupyter notebooks [1]")
    assert cited.sources == [
        Source("https://jupyter.org/", "Project Jupyter"),
        Source("https://ipython.org/", "IPython"),
    ]
