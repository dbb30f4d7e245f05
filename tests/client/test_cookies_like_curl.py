"""A cookies.txt file sends what `curl -b cookies.txt URL` sends: same file, same URL, and the
server compares the Cookie header it receives from curl and from nbchat."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import nbchat

from .faultserver import FaultServer, Script, sse

FUTURE, PAST = 4102444800, 1  # 2100-01-01, 1970

COOKIES = [
    ("localhost", "FALSE", "/", "FALSE", 0, "host_localhost", "a1"),
    (".localhost", "TRUE", "/", "FALSE", 0, "dot_localhost", "a2"),
    ("LocalHost", "FALSE", "/", "FALSE", 0, "upper_localhost", "a3"),
    ("127.0.0.1", "FALSE", "/", "FALSE", 0, "ip", "b1"),
    ("127.0.0.1", "TRUE", "/", "FALSE", FUTURE, "ip_subdomains", "b2"),
    (".0.0.1", "TRUE", "/", "FALSE", 0, "ip_suffix", "b3"),
    ("other.example", "FALSE", "/", "FALSE", 0, "other_host", "c1"),
    ("calhost", "TRUE", "/", "FALSE", 0, "partial_label", "c2"),
    ("localhost", "FALSE", "/api", "FALSE", 0, "path_api", "d1"),
    ("127.0.0.1", "FALSE", "/api/chats/", "FALSE", 0, "path_chats_slash", "d2"),
    ("localhost", "FALSE", "/apix", "FALSE", 0, "path_apix", "d3"),
    ("127.0.0.1", "FALSE", "/chat", "FALSE", 0, "path_chat", "d4"),
    ("localhost", "FALSE", "/chat/stream/deeper", "FALSE", 0, "path_deeper", "d5"),
    ("localhost", "FALSE", "/", "TRUE", 0, "secure_localhost", "e1"),
    ("127.0.0.1", "FALSE", "/", "TRUE", FUTURE, "secure_ip", "e2"),
    ("localhost", "FALSE", "/", "FALSE", PAST, "expired", "f1"),
    ("127.0.0.1", "FALSE", "/", "FALSE", FUTURE, "long_lived", "f2"),
    ("#HttpOnly_localhost", "FALSE", "/", "FALSE", 0, "http_only", "g1"),
    ("#HttpOnly_127.0.0.1", "FALSE", "/", "FALSE", 0, "http_only_ip", "g2"),
]

COOKIES_TXT = "# Netscape HTTP Cookie File\n# a comment line\n\n" + "".join(
    "\t".join(str(part) for part in cookie) + "\n" for cookie in COOKIES
)
# curl accepts a cookie with an empty value (six fields)
COOKIES_TXT += "localhost\tFALSE\t/\tFALSE\t0\tempty_value\n"

PATHS = {"agents": "/chat/stream", "chats": "/api/chats/c1/messages/stream"}
EVENTS = {
    "agents": sse({"type": "text", "content": "ok"}, {"type": "done", "usage": {}}),
    "chats": sse({"type": "start", "messageId": "m"}, {"type": "end", "messageId": "m"}),
}


def curl_cookie_header(server: FaultServer, cookies: Path, url: str) -> str | None:
    before = len(server.requests)
    subprocess.run(
        # curl is the reference (scripts/test installs it); without it this fails, not skips.
        ["curl", "--silent", "--noproxy", "*", "-b", str(cookies), "-X", "POST", "-d", "{}", url],
        check=True,
        capture_output=True,
        timeout=30,
    )
    (request,) = server.requests[before:]
    return request.headers.get("Cookie")


def nbchat_cookie_header(server: FaultServer, cookies: Path, base: str, dialect: str) -> str | None:
    before = len(server.requests)
    target = (
        {"agent_id": "ag"}
        if dialect == "agents"
        else {"chat_id": "c1", "model": "m", "user_id": "u"}
    )
    chat = nbchat.Chat(base, dialect=dialect, cookies=cookies, **target)
    assert chat.send("hi").status == "complete"
    (request,) = server.requests[before:]
    return request.headers.get("Cookie")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
@pytest.mark.parametrize("dialect", ["agents", "chats"])
def test_the_same_cookies_as_curl(
    fault: FaultServer, tmp_path: Path, host: str, dialect: str
) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(COOKIES_TXT)
    path = PATHS[dialect]
    fault.script(path, Script(body=EVENTS[dialect]))
    base = fault.url.replace("127.0.0.1", host)
    expected = curl_cookie_header(fault, cookies, base + path)
    assert expected, "curl sent no cookie: the comparison would prove nothing"
    assert nbchat_cookie_header(fault, cookies, base, dialect) == expected
