"""The openai dialect from a real kernel: `%chat_connect --demo --dialect openai`, a real URL
with a token from the environment and a system message, reasoning, and cut-off replies."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from client.faultserver import FaultServer, Script, sse

from .conftest import Kernel, html_of, text_of

KEY = "sk-magics-openai-secret"


@pytest.fixture(scope="module")
def openai_kernel() -> Iterator[Kernel]:
    kernel = Kernel(env={"OPENAI_API_KEY": KEY})
    kernel.ok("%load_ext nbchat")
    yield kernel
    kernel.shutdown()


def test_demo_speaks_openai(openai_kernel: Kernel) -> None:
    assert openai_kernel.ok("%chat_connect --demo --dialect openai").outputs == []
    assert openai_kernel.current("dialect") == "openai"
    assert openai_kernel.current("base_url").endswith("/v1")
    assert openai_kernel.current("target.model") == "demo"
    assert text_of(openai_kernel.ok("%%chat\n/echo hello there")) == "hello there"
    # The backend is stateless: the second turn knows the first because the request said so.
    second = text_of(openai_kernel.ok("%%chat\nWhat did I say?"))
    assert 'Before this you said: "/echo hello there"' in second
    assert text_of(openai_kernel.ok("%%chat --no-stream\n/echo whole")) == "whole"


def test_reasoning_is_kept_but_shown_only_when_asked(openai_kernel: Kernel) -> None:
    openai_kernel.ok("%chat_connect --demo --dialect openai")
    assert text_of(openai_kernel.ok("%%chat -o thought\n/think /echo done")) == "done"
    assert openai_kernel.eval("thought.reasoning").startswith("The user asks me to think")
    shown = openai_kernel.ok("%%chat --reasoning\n/think /echo done")
    assert text_of(shown).startswith("[thinking]\nThe user asks me to think")
    assert text_of(shown).endswith("[/thinking]\n\ndone")
    assert "<em>Thinking:</em>" in html_of(shown)


def test_a_cut_off_reply_says_so(openai_kernel: Kernel) -> None:
    openai_kernel.ok("%chat_connect --demo --dialect openai --params '{\"max_tokens\": 2}'")
    shown = text_of(openai_kernel.ok("%%chat -o cut\n/echo one two three four"))
    assert shown == "one two \n\n[cut off: the reply reached the token limit]"
    assert openai_kernel.eval("(cut.status, cut.finish_reason)") == ("complete", "length")


def test_connect_with_token_env_and_system(openai_kernel: Kernel) -> None:
    chunk = {
        "id": "c1",
        "choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}],
    }
    with FaultServer() as fake:
        fake.script("/v1/chat/completions", Script(body=sse(json.dumps(chunk), "[DONE]")))
        run = openai_kernel.ok(
            f"%chat_connect {fake.url}/v1 --dialect openai --model gpt-4o-mini "
            "--token-env OPENAI_API_KEY --system 'Be terse.'"
        )
        assert KEY not in run.raw()
        assert text_of(openai_kernel.ok("%%chat\nhi")) == "ok"
        sent = fake.requests[0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.json()["model"] == "gpt-4o-mini"
    assert sent.json()["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "hi"},
    ]
    assert KEY not in openai_kernel.ok("%chat_connect").raw()
