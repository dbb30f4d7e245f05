"""The API pages' own examples, sent as printed (only host and port differ), get the documented
responses. The server runs with a token here, so the examples' credentials are really checked."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nbchat.server import ServerHandle, start_server
from nbchat.server.store import EXAMPLE_CHAT_ID

TOKEN = "YOUR_TOKEN"  # the placeholder the agents page uses

CURL_STREAM = """curl -X POST "http://localhost:3026/api/chats/550e8400-e29b-41d4-a716-446655440000/messages/stream" \\
  -H "Accept: text/event-stream" \\
  -H "Content-Type: application/json" \\
  -b cookies.txt \\
  --data '{
    "content": "Explain quantum computing",
    "modelId": "gpt-4",
    "userId": "user-123"
  }'"""  # noqa: E501

CURL_MESSAGE = """curl -X POST "http://localhost:3026/api/chats/550e8400-e29b-41d4-a716-446655440000/messages" \\
  -H "Accept: application/json" \\
  -H "Content-Type: application/json" \\
  -b cookies.txt \\
  --data '{
    "content": "How can I automate my research workflow?",
    "modelId": "gpt-4",
    "userId": "user-123"
  }'"""  # noqa: E501

JS_EXAMPLE = """const response = await fetch('https://api.thinnest.ai/chat/stream', {
method: 'POST',
headers: {
'Authorization': 'Bearer YOUR_TOKEN',
'Content-Type': 'application/json',
},
body: JSON.stringify({
agent_id: 'ag_c47e7c97_b2f2',
message: 'Hello',
}),
});
const reader = response.body.getReader();
const decoder = new TextDecoder();
while (true) {
const { done, value } = await reader.read();
if (done) break;
const text = decoder.decode(value);
for (const line of text.split('\\n')) {
if (line.startsWith('data: ')) {
const event = JSON.parse(line.slice(6));
if (event.type === 'text') {
process.stdout.write(event.content);
}
}
}
}"""


@pytest.fixture(scope="module")
def secured() -> Iterator[ServerHandle]:
    with start_server(token=TOKEN) as handle:
        yield handle


@pytest.fixture
def cookies_txt(tmp_path: Path) -> Path:
    """A Netscape cookie file, as curl's `-b cookies.txt` reads, holding the session cookie."""
    path = tmp_path / "cookies.txt"
    path.write_text(
        f"# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t{TOKEN}\n"
    )
    return path


def run_curl(example: str, url: str, cwd: Path) -> tuple[str, dict[str, str], str]:
    """Run a documented curl command in a shell, against `url`; returns status line, headers
    and body. Only output flags are added."""
    command = example.replace("http://localhost:3026", url) + " --silent --show-error --include"
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        capture_output=True,
        timeout=30,
        check=True,
    )
    head, _, body = result.stdout.decode().partition("\r\n\r\n")
    status, *lines = head.split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return status, {k.lower(): v for k, v in headers.items()}, body


def test_curl_stream_example_gets_the_documented_sse_stream(
    secured: ServerHandle, cookies_txt: Path
) -> None:
    status, headers, body = run_curl(CURL_STREAM, secured.url, cookies_txt.parent)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-type"] == "text/event-stream"
    assert headers["cache-control"] == "no-cache"
    assert headers["connection"] == "keep-alive"
    events = body.split("\n\n")
    assert events.pop() == ""  # the body ends with a blank line
    payloads = []
    for event in events:
        assert event.startswith("data: ") and "\n" not in event
        payload = json.loads(event.removeprefix("data: "))
        assert event == "data: " + json.dumps(payload, separators=(",", ":"))  # compact, as shown
        payloads.append(payload)
    start, *contents, end = payloads
    assert start == {"type": "start", "messageId": start["messageId"]}
    assert end == {"type": "end", "messageId": start["messageId"]}
    assert all(set(p) == {"type", "delta"} and p["type"] == "content" for p in contents)
    assert len(contents) > 10
    assert '"Explain quantum computing"' in "".join(p["delta"] for p in contents)


def test_curl_message_example_gets_the_documented_201(
    secured: ServerHandle, cookies_txt: Path
) -> None:
    status, headers, body = run_curl(CURL_MESSAGE, secured.url, cookies_txt.parent)
    assert status == "HTTP/1.1 201 Created"
    assert headers["content-type"] == "application/json"
    data = json.loads(body)["data"]
    assert set(data) == {"id", "chatId", "role", "content", "createdAt", "response"}
    assert data["chatId"] == EXAMPLE_CHAT_ID
    assert data["role"] == "user"
    assert data["content"] == "How can I automate my research workflow?"
    response = data["response"]
    assert set(response) == {"id", "chatId", "role", "content", "createdAt"}
    assert response["chatId"] == EXAMPLE_CHAT_ID and response["role"] == "assistant"
    assert '"How can I automate my research workflow?"' in response["content"]
    assert response["id"] != data["id"]
    for stamp in (data["createdAt"], response["createdAt"]):
        assert len(stamp) == len("2024-02-04T12:00:00.000Z") and stamp.endswith("Z")


@pytest.mark.parametrize("example", [CURL_STREAM, CURL_MESSAGE])
def test_curl_examples_without_the_session_cookie_get_401(
    secured: ServerHandle, tmp_path: Path, example: str
) -> None:
    (tmp_path / "cookies.txt").write_text("# Netscape HTTP Cookie File\n")
    status, _, body = run_curl(example, secured.url, tmp_path)
    assert status == "HTTP/1.1 401 Unauthorized"
    assert json.loads(body)["error"] == "Unauthorized"
    assert TOKEN not in body


def test_python_agents_example_prints_the_streamed_text(
    secured: ServerHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    # The page's Python example, verbatim but for the URL.
    with httpx.stream(
        "POST",
        f"{secured.url}/chat/stream",
        headers={"Authorization": "Bearer YOUR_TOKEN"},
        json={"agent_id": "ag_c47e7c97_b2f2", "message": "Hello"},
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                if event["type"] == "text":
                    print(event["content"], end="", flush=True)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert capsys.readouterr().out.startswith('**Turn 1.** You said: "Hello".')


def test_javascript_agents_example_prints_the_streamed_text(
    secured: ServerHandle, tmp_path: Path
) -> None:
    script = tmp_path / "example.mjs"
    script.write_text(JS_EXAMPLE.replace("https://api.thinnest.ai", secured.url))
    result = subprocess.run(
        ["node", str(script)], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.startswith('**Turn 1.** You said: "Hello".')
    assert result.stdout.endswith("`/fail`.")


def test_agents_stream_matches_the_documented_event_shapes(secured: ServerHandle) -> None:
    with httpx.stream(
        "POST",
        f"{secured.url}/chat/stream",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"agent_id": "ag_c47e7c97_b2f2", "message": "calculate 2+3*4"},
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    assert response.headers["cache-control"] == "no-cache"
    assert all(line.startswith("data: ") for line in lines)
    payloads = [json.loads(line[6:]) for line in lines]
    # spaced JSON, like the page shows: data: {"type": "text", "content": "..."}
    assert all(line[6:] == json.dumps(p) for line, p in zip(lines, payloads, strict=True))
    kinds = [p["type"] for p in payloads]
    assert kinds[-1] == "done" and kinds.count("done") == 1
    call = payloads[kinds.index("tool_call")]
    assert call == {"type": "tool_call", "name": "calculator", "args": {"expression": "2+3*4"}}
    assert payloads[kinds.index("tool_call") + 1] == {
        "type": "tool_result",
        "name": "calculator",
        "result": "14",
    }
    assert all(set(p) == {"type", "content"} for p in payloads if p["type"] == "text")
    usage = payloads[-1]["usage"]
    assert set(usage) == {"input_tokens", "output_tokens", "total_tokens"}
    assert usage["input_tokens"] == 2  # "calculate 2+3*4" is two words
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 2


def test_curl_reaches_every_other_endpoint(secured: ServerHandle, cookies_txt: Path) -> None:
    """Creating and listing a chat with `-b cookies.txt`, and both agents endpoints with a
    bearer token, from curl as a user would type them."""
    create = """curl -X POST "http://localhost:3026/api/chats" \\
      -H "Content-Type: application/json" -b cookies.txt --data '{"userId": "user-123"}'"""
    status, _, body = run_curl(create, secured.url, cookies_txt.parent)
    assert status == "HTTP/1.1 201 Created"
    chat_id = json.loads(body)["data"]["id"]

    post = CURL_MESSAGE.replace(EXAMPLE_CHAT_ID, chat_id)
    assert run_curl(post, secured.url, cookies_txt.parent)[0] == "HTTP/1.1 201 Created"
    listing = f'curl "http://localhost:3026/api/chats/{chat_id}/messages" -b cookies.txt'
    status, _, body = run_curl(listing, secured.url, cookies_txt.parent)
    assert status == "HTTP/1.1 200 OK"
    assert [m["role"] for m in json.loads(body)["data"]] == ["user", "assistant"]

    send = """curl -X POST http://localhost:3026/chat \\
      -H "Authorization: Bearer YOUR_TOKEN" \\
      -H "Content-Type: application/json" \\
      -d '{"agent_id": "ag_c47e7c97_b2f2", "message": "/echo hi", "session_id": "sess_curl"}'"""
    status, _, body = run_curl(send, secured.url, cookies_txt.parent)
    assert status == "HTTP/1.1 200 OK"
    assert json.loads(body)["response"] == "hi"

    stream = send.replace("/chat ", "/chat/stream -N ")
    status, headers, body = run_curl(stream, secured.url, cookies_txt.parent)
    assert status == "HTTP/1.1 200 OK" and headers["content-type"] == "text/event-stream"
    assert body.startswith('data: {"type": "text", "content": "hi"}\n\ndata: {"type": "done"')
