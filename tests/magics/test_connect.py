"""%chat_connect options, environment-only setup, --demo, and secrets kept out of the notebook."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from client.faultserver import FaultServer, Script, sse
from client.test_http_errors import free_port
from leaks import assert_no_secret

from nbchat.server import ServerHandle, start_server

from .conftest import Execution, Kernel, text_of

TOKEN = "tok-5f3c9e0d-magics-secret"
TOKEN_ENV = "NBCHAT_TEST_SECRET"


@pytest.fixture(scope="module")
def token_server() -> Iterator[ServerHandle]:
    with start_server(token=TOKEN) as handle:
        yield handle


@pytest.fixture(scope="module")
def token_kernel() -> Iterator[Kernel]:
    """A kernel whose environment holds the token; no cell ever contains it."""
    kernel = Kernel(env={TOKEN_ENV: TOKEN})
    kernel.ok("%load_ext nbchat")
    yield kernel
    kernel.shutdown()


@pytest.fixture
def recorder() -> Iterator[FaultServer]:
    """A server that records requests and answers every chat stream with one short reply."""
    with FaultServer() as fake:
        body = sse(
            {"type": "start", "messageId": "m1"},
            {"type": "content", "delta": "recorded"},
            {"type": "end", "messageId": "m1"},
        )
        fake.script("/api/chats/c-1/messages/stream", Script(body=body))
        agent_body = sse({"type": "text", "content": "agent says"}, {"type": "done"})
        fake.script("/chat/stream", Script(body=agent_body))
        yield fake


def test_chats_target_options_reach_the_wire(module_kernel: Kernel, recorder: FaultServer) -> None:
    module_kernel.ok(
        f"%chat_connect {recorder.url} --dialect chats --chat-id c-1 --model m-1 "
        "--user-id u-1 --workflow-id wf-1 --timeout 5"
    )
    module_kernel.ok("%%chat\nfirst")
    module_kernel.ok("%%chat --model m-2\nsecond")
    first, second = (request.json() for request in recorder.requests)
    assert first == {"content": "first", "modelId": "m-1", "userId": "u-1", "workflowId": "wf-1"}
    assert second["modelId"] == "m-2"  # --model is for that message only
    assert module_kernel.current("timeout") == 5.0


def test_agents_options_and_token_from_the_environment(
    token_kernel: Kernel, recorder: FaultServer
) -> None:
    token_kernel.ok(
        f"%chat_connect {recorder.url} --dialect agents --agent ag-7 --session-id s-7 "
        f"--token-env {TOKEN_ENV}"
    )
    assert text_of(token_kernel.ok("%%chat\nhello agent")) == "agent says"
    [request] = recorder.requests
    assert request.path == "/chat/stream"
    assert request.json() == {"agent_id": "ag-7", "message": "hello agent", "session_id": "s-7"}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_token_and_cookies_never_reach_cells_outputs_or_history(
    token_kernel: Kernel, token_server: ServerHandle, tmp_path: Path
) -> None:
    cookies = tmp_path / "cookies.txt"
    line = "\t".join(["127.0.0.1", "FALSE", "/", "FALSE", "0", "session", TOKEN])
    cookies.write_text(f"# Netscape HTTP Cookie File\n{line}\n")
    executions = [
        token_kernel.ok(
            f"%chat_connect {token_server.url} --dialect agents --agent ag_demo "
            f"--token-env {TOKEN_ENV}"
        ),
        token_kernel.ok("%%chat -o a\ncalculate 2*21"),
        token_kernel.ok("%chat_connect"),
        token_kernel.ok(
            f"%chat_connect {token_server.url} --cookies {cookies} --model demo --user-id u-2"
        ),
        token_kernel.ok("%%chat -o c\n/echo cookie auth works"),
        token_kernel.ok("%chat_history"),
        token_kernel.ok("a"),
    ]
    assert token_kernel.eval("(a.status, c.text)") == ("complete", "cookie auth works")
    # A wrong server answers 401: the error says so without any secret.
    executions.append(
        token_kernel.run(f"%chat_connect {token_server.url} --dialect agents --agent ag_demo\n")
    )
    failed = token_kernel.run("%%chat\nno token")
    assert failed.error["ename"] == "AuthenticationError"
    executions.append(failed)
    executions.append(token_kernel.ok("print(repr(list(_ih)), repr(dict(Out)), repr(a), repr(c))"))
    for execution in executions:
        assert TOKEN not in execution.raw()


def test_missing_token_variable_is_a_usage_error(token_kernel: Kernel) -> None:
    execution = token_kernel.run("%chat_connect http://127.0.0.1:9 --token-env NBCHAT_NOT_SET")
    assert execution.reply["status"] == "error"
    assert "NBCHAT_NOT_SET is not set" in execution.raw()


def test_environment_variables_work_without_any_magic(server: ServerHandle) -> None:
    env = {
        "NBCHAT_BASE_URL": server.url,
        "NBCHAT_DIALECT": "agents",
        "NBCHAT_AGENT_ID": "ag_demo",
    }
    kernel = Kernel(env=env)
    try:
        kernel.ok("%load_ext nbchat")
        assert "`3*3` = **9**." in text_of(kernel.ok("%%chat\ncalculate 3*3"))
        assert kernel.current("dialect") == "agents"
    finally:
        kernel.shutdown()


def test_without_any_configuration_the_error_says_what_to_do() -> None:
    kernel = Kernel()
    try:
        kernel.ok("%load_ext nbchat")
        execution = kernel.run("%%chat\nhello")
        assert execution.reply["status"] == "error"
        assert execution.reply["ename"] == "UsageError"
        assert "%chat_connect" in execution.raw()
        assert kernel.ok("1 + 1").ok  # the kernel is fine
    finally:
        kernel.shutdown()


def test_demo_starts_a_server_in_the_kernel(module_kernel: Kernel) -> None:
    assert module_kernel.ok("%chat_connect --demo").outputs == []
    threads = module_kernel.eval("[t.name for t in __import__('threading').enumerate()]")
    assert "nbchat-server" in threads
    assert module_kernel.current("base_url").startswith("http://127.0.0.1:")
    assert "`2+2` = **4**." in text_of(module_kernel.ok("%%chat\ncalculate 2+2"))
    # Connecting again reuses the same server, here with the agents dialect.
    module_kernel.ok("%chat_connect --demo --dialect agents")
    assert module_kernel.current("target.agent_id") == ("ag_demo")
    assert text_of(module_kernel.ok("%%chat\n/echo via agents")) == "via agents"
    refused = module_kernel.run("%chat_connect http://127.0.0.1:9 --demo")
    assert refused.reply["ename"] == "UsageError"


def test_demo_uses_the_server_nbchat_demo_runs(server: ServerHandle) -> None:
    kernel = Kernel(env={"NBCHAT_DEMO_URL": server.url})
    try:
        kernel.ok("%load_ext nbchat\n%chat_connect --demo")
        assert kernel.current("base_url") == server.url
        threads = kernel.eval("[t.name for t in __import__('threading').enumerate()]")
        assert "nbchat-server" not in threads  # no server of its own in the kernel
        assert text_of(kernel.ok("%%chat\n/echo shared server")) == "shared server"
    finally:
        kernel.shutdown()


TYPED_SECRET = "sk-typed-8c1f0e9b7a6d5c4b"


def said_about(execution: Execution) -> str:
    """Everything the kernel answered to a cell, without the echo of the cell's own code."""
    messages = [m for m in execution.messages if m["msg_type"] != "execute_input"]
    return json.dumps([execution.reply, *messages], default=str)


@pytest.mark.parametrize(
    "options",
    [
        f"--token {TYPED_SECRET}",
        f"--token={TYPED_SECRET}",
        f"--dialect agents --agent a --token {TYPED_SECRET} --timeout 5",
        f"--tok {TYPED_SECRET}",  # an abbreviation of --token-env, once
        f"--token-e {TYPED_SECRET}",
        f"--token-env {TYPED_SECRET}",  # the token where its variable's name belongs
        f"--token-env {TYPED_SECRET.upper().replace('-', '')}",  # an all-upper-case token
        f"{TYPED_SECRET}",  # a second positional argument
        f"--timeout {TYPED_SECRET}",
        f"--dialect {TYPED_SECRET}",
        f"--timeout={TYPED_SECRET}",
        f"--dialect={TYPED_SECRET}",
        f"--dialect='{TYPED_SECRET}'",
        f'--system "{TYPED_SECRET}',  # a quote left open
    ],
)
def test_a_token_typed_into_chat_connect_is_refused_and_never_echoed(
    module_kernel: Kernel, options: str
) -> None:
    execution = module_kernel.run(f"%chat_connect http://127.0.0.1:9 {options}")
    assert execution.reply["status"] == "error"
    assert execution.reply["ename"] == "UsageError"
    assert_no_secret(said_about(execution), TYPED_SECRET, TYPED_SECRET.upper().replace("-", ""))


@pytest.mark.parametrize(
    "line",
    ['%chat_connect --system "Be terse.', "%chat --model 'm hi", "%%chat --model 'm\nhi"],
)
def test_a_quote_left_open_is_a_usage_error_that_says_so(module_kernel: Kernel, line: str) -> None:
    execution = module_kernel.run(line)
    assert execution.reply["ename"] == "UsageError"
    assert "close the quote" in execution.reply["evalue"]


def test_the_token_flag_says_what_to_do(module_kernel: Kernel) -> None:
    execution = module_kernel.run(f"%chat_connect http://127.0.0.1:9 --token {TYPED_SECRET}")
    assert "use --token-env NAME" in execution.reply["evalue"]


@pytest.mark.parametrize(
    "line",
    ["%chat_connect http://127.0.0.1:9 --dia agents", "%chat_history --la 1", "%chat --mod m hi"],
)
def test_options_are_never_abbreviated(module_kernel: Kernel, line: str) -> None:
    execution = module_kernel.run(line)
    assert execution.reply["ename"] == "UsageError"
    assert "unrecognized arguments" in execution.reply["evalue"]


def test_demo_is_reached_directly_whatever_the_proxy_settings() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    proxies = {"HTTP_PROXY": closed, "HTTPS_PROXY": closed, "ALL_PROXY": closed}
    kernel = Kernel(env={**proxies, "NO_PROXY": "localhost"})
    try:
        kernel.ok("%load_ext nbchat\n%chat_connect --demo")
        assert "`2+2` = **4**." in text_of(kernel.ok("%%chat\ncalculate 2+2"))
    finally:
        kernel.shutdown()


def test_help_lists_every_dialects_flags(module_kernel: Kernel) -> None:
    text = module_kernel.ok("%chat_connect --help").stdout
    for flag in ("--dialect", "--token-env NAME", "--model", "--chat-id", "--agent", "--timeout"):
        assert flag in text
    assert "NBCHAT_AGENT_ID" in text
    assert "\n  %chat_connect [-h]" in text  # the usage names the line magic, once
    assert "[chats]" in text and "; ]" not in text  # a flag of one dialect with no variable
    refused = module_kernel.run("%chat_connect http://127.0.0.1:9 --dialect agents --model m")
    assert refused.reply["ename"] == "UsageError"
    assert "--model is not a setting of the agents dialect" in refused.raw()
