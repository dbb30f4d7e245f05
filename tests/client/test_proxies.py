"""HTTP_PROXY / HTTPS_PROXY / ALL_PROXY: loopback servers are reached directly, other hosts
through the proxy, and a connection error says which proxy it was."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from leaks import assert_no_secret

import nbchat
from nbchat import errors
from nbchat.client import proxy_for
from nbchat.server import start_server

from .faultserver import FaultServer, Script, sse
from .test_http_errors import free_port

PATH = "/chat/stream"
OK = Script(body=sse({"type": "text", "content": "ok"}, {"type": "done", "usage": {}}))
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*PROXY_VARIABLES, "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


class ForwardProxy:
    """A tiny HTTP forward proxy on 127.0.0.1 that sends every request to one upstream server,
    whatever host the request names, and records the targets it was asked for."""

    def __init__(self, upstream: str) -> None:
        self.targets: list[str] = []
        self.proxy_authorizations: list[str | None] = []
        upstream_host, upstream_port = urlsplit(upstream).hostname, urlsplit(upstream).port
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                proxy.targets.append(self.path)  # absolute-form: http://host:port/path
                proxy.proxy_authorizations.append(self.headers.get("Proxy-Authorization"))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if not k.startswith("Proxy-")}
                upstream = http.client.HTTPConnection(upstream_host, upstream_port, timeout=10)
                upstream.request("POST", urlsplit(self.path).path, body, headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def proxy(fault: FaultServer) -> Iterator[ForwardProxy]:
    forward = ForwardProxy(fault.url)
    yield forward
    forward.close()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"])
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_servers_are_reached_directly(
    fault: FaultServer, monkeypatch: pytest.MonkeyPatch, variable: str, host: str
) -> None:
    monkeypatch.setenv(variable, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    fault.script(PATH, OK)
    url = fault.url.replace("127.0.0.1", host)
    assert nbchat.Chat(url, dialect="agents", agent_id="ag", max_retries=0).send("hi").text == "ok"


def test_the_reference_server_is_reached_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "example.org")
    with start_server(delay=0.0) as server:
        chat = nbchat.Chat(server.url, dialect="agents", agent_id="ag_demo", max_retries=0)
        assert chat.send("hello").status == "complete"


async def test_the_async_client_also_goes_direct(
    fault: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{free_port()}")
    fault.script(PATH, OK)
    chat = nbchat.Chat(fault.url, dialect="agents", agent_id="ag", max_retries=0)
    assert (await chat.asend("hi")).text == "ok"


def test_other_hosts_go_through_the_proxy(
    fault: FaultServer, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://puser:ppass-secret@127.0.0.1:{proxy.port}")
    fault.script(PATH, OK)
    # "backend.invalid" resolves nowhere: only the proxy can take the request on.
    chat = nbchat.Chat("http://backend.invalid:8000", dialect="agents", agent_id="ag")
    assert chat.send("hi").text == "ok"
    assert proxy.targets == ["http://backend.invalid:8000/chat/stream"]
    assert proxy.proxy_authorizations[0] is not None  # the proxy's credentials went to it
    assert fault.requests[0].json()["agent_id"] == "ag"


def test_no_proxy_keeps_a_host_direct(fault: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "backend.invalid")
    chat = nbchat.Chat(
        "http://backend.invalid:8000", dialect="agents", agent_id="ag", max_retries=0
    )
    with pytest.raises(errors.ConnectionError) as caught:
        chat.send("hi")
    assert "proxy" not in str(caught.value)  # a name lookup failure, not the proxy's


@pytest.mark.parametrize(("scheme", "variable"), [("http", "HTTP_PROXY"), ("https", "HTTPS_PROXY")])
def test_a_refusing_proxy_is_named_without_its_credentials(
    monkeypatch: pytest.MonkeyPatch, scheme: str, variable: str
) -> None:
    port = free_port()
    monkeypatch.setenv(variable, f"http://puser:ppass-secret@127.0.0.1:{port}")
    url = f"{scheme}://backend.invalid:8000"
    chat = nbchat.Chat(url, dialect="agents", agent_id="ag", max_retries=0)
    with pytest.raises(errors.ConnectionError) as caught:
        chat.send("hi")
    message = str(caught.value)
    assert message == (
        f"cannot reach {url} through the proxy http://127.0.0.1:{port} (from {variable}): "
        "Connection refused (ConnectError)"
    )
    reply = chat.history[-1].reply
    assert_no_secret(
        f"{message} {caught.value!r} {reply.to_dict()}", "ppass-secret", "puser:ppass-secret"
    )


def test_the_proxy_password_stays_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://puser:ppass-secret@proxy.invalid:3128")
    proxy = proxy_for("https://api.example.com/v1")
    assert proxy is not None and proxy.url.startswith("http://puser:")  # httpx gets it whole
    assert_no_secret(f"{proxy!r} {proxy}", "ppass-secret")
    assert str(proxy) == "the proxy http://proxy.invalid:3128 (from HTTPS_PROXY)"
