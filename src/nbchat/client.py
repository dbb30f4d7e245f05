"""HTTP for nbchat: auth, timeouts, retries before the first byte, and typed errors.

`Client` and `AsyncClient` are thin twins around httpx; every decision (what to retry, how long
to wait, which error to raise) lives in the shared functions below so the two cannot drift.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import ipaddress
import json
import logging
import random
import re
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import httpx

from . import errors
from .cookies import CookieFile, CookiesArg, load_cookies
from .dialects import HttpRequest
from .dialects.base import replace_lone_surrogates
from .redact import Redactor

log = logging.getLogger("nbchat")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# SSE is always UTF-8; the "-sig" codec also drops the byte-order mark a stream may start with.
SSE_ENCODING = "utf-8-sig"


#: The proxy variables, by the URL scheme they serve ("all" serves every scheme).
PROXY_VARIABLES = {"http": "HTTP_PROXY", "https": "HTTPS_PROXY", "all": "ALL_PROXY"}


@dataclass(frozen=True)
class ClientConfig:
    """How to reach one server. The token is stripped of surrounding whitespace (a token read
    from a file often ends with a newline); one with a space or control character inside it
    raises ConfigurationError, without showing it."""

    base_url: str
    token: str | None = None
    cookies: CookiesArg = None
    timeout: float = 60.0
    max_retries: int = 2
    max_retry_wait: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "token", clean_token(self.token))

    def __getstate__(self) -> dict[str, Any]:
        """Pickles (a batch's Chat sent to Dask workers) carry the settings only; what is read
        or built from them (the cookie jar, the masker, the proxy) is made again on arrival."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        # Never show the token or cookie values.
        return f"ClientConfig(base_url={safe_url(self.base_url)!r}, timeout={self.timeout})"

    @functools.cached_property
    def proxy(self) -> Proxy | None:
        return proxy_for(self.base_url)

    @functools.cached_property
    def redact(self) -> Redactor:
        """Masks the token, the URL's and the proxy's credentials (a password, or a username
        given alone: `https://KEY@host`), the URL's secret-named query values (`?api-key=`)
        and the cookie values."""
        url = _parse_url(self.base_url)
        try:
            cookies = self.cookie_source
        except errors.ConfigurationError:  # unreadable: then no request carried its values
            cookies = httpx.Cookies()
        secrets = [self.token, *cookie_secrets(cookies, url)]
        for part in (url, _parse_url(self.proxy.url) if self.proxy else None):
            if part is not None:
                secrets += url_secrets(part)
        return Redactor(secrets)

    def httpx_options(self, transport: Callable[..., Any]) -> dict[str, Any]:
        """Client arguments; `transport` is httpx.HTTPTransport or its async twin."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        proxy = self.proxy.url if self.proxy else None
        cookies = self.cookie_source
        url = httpx.URL(self.base_url)
        return {
            # The query goes with every request as written (`build_request`): httpx would
            # take it for a part of the path.
            "base_url": url.copy_with(query=None),
            "headers": headers,
            "cookies": cookies if isinstance(cookies, httpx.Cookies) else None,
            "timeout": httpx.Timeout(self.timeout),
            # Our own transport: the proxy is the one decided above (or none), not httpx's.
            "transport": transport(proxy=proxy, verify=tls_context()),
        }

    @functools.cached_property
    def cookie_source(self) -> httpx.Cookies | CookieFile:
        """Cookies for every request, or a cookies.txt file matched to each (read once)."""
        return load_cookies(self.cookies)

    def build_request(
        self, http: httpx.Client | httpx.AsyncClient, request: HttpRequest
    ) -> httpx.Request:
        """The httpx request, with the base URL's query as written (`?api-version=…&api-key=…`)
        and the cookies a cookies.txt file has for its URL.

        A string with a lone UTF-16 half (a tool's result read with `surrogateescape`, say)
        cannot be encoded as UTF-8: such halves go as U+FFFD instead of failing the request.
        """
        try:
            built = http.build_request(
                request.method, request.path, json=request.json, headers=request.headers
            )
        except UnicodeEncodeError:
            body = replace_lone_surrogates(request.json)
            built = http.build_request(
                request.method, request.path, json=body, headers=request.headers
            )
        query = httpx.URL(self.base_url).query
        if query and not built.url.query:
            built.url = built.url.copy_with(query=query)
        source = self.cookie_source
        if isinstance(source, CookieFile):
            from_file = "; ".join(f"{c.name}={c.value}" for c in source.for_url(built.url))
            from_server = built.headers.get("Cookie")  # what the server set meanwhile
            if from_file:
                built.headers["Cookie"] = "; ".join(filter(None, [from_file, from_server]))
        return built


def clean_token(token: str | None) -> str | None:
    """The token without surrounding whitespace; None if nothing is left."""
    if token is None:
        return None
    token = token.strip()
    if any(not " " < char < "\x7f" for char in token):
        raise errors.ConfigurationError(
            "the token has a space, a line break or a non-ASCII character inside it, which an "
            "HTTP header cannot carry (the token is not shown): check where it is set"
        )
    return token or None


@dataclass(frozen=True)
class Proxy:
    """The proxy a URL is reached through, and the environment variable that named it."""

    url: str
    variable: str

    def __str__(self) -> str:
        return f"the proxy {safe_url(self.url)} (from {self.variable})"

    def __repr__(self) -> str:  # the URL may carry the proxy's password
        return f"Proxy({safe_url(self.url)!r}, variable={self.variable!r})"


def proxy_for(url: str) -> Proxy | None:
    """The proxy for `url` from HTTP_PROXY / HTTPS_PROXY / ALL_PROXY and NO_PROXY, as Python's
    urllib reads them (lower-case names win), or None to connect directly.

    Loopback hosts (localhost, 127.0.0.0/8, ::1) are always reached directly, as browsers do:
    a proxy elsewhere cannot reach this machine's loopback, and the reference server that
    `%chat_connect --demo` and `start_server` run listens there.
    """
    parsed = _parse_url(url)
    if parsed is None or is_loopback(parsed.host):
        return None
    proxies = urllib.request.getproxies()
    for scheme in (parsed.scheme, "all"):
        proxy = proxies.get(scheme)
        if proxy and scheme in PROXY_VARIABLES:
            if urllib.request.proxy_bypass(parsed.host):
                return None
            return Proxy(proxy if "://" in proxy else f"http://{proxy}", PROXY_VARIABLES[scheme])
    return None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default TLS context, built once: building one reads the CA bundle (~40 ms of
    CPU), and every async stream (so every row of a batch) opens a client of its own."""
    return httpx.create_ssl_context()


#: Query parameter names whose values are credentials (`?api-key=`, `?access_token=`, `?sig=`).
#: (`?code=` is Azure Functions' key.)
SECRET_PARAMETER = re.compile(
    r"key|token|secret|auth|sig|pass|pwd|credential|session|jwt|hmac|^code$", re.I
)


def safe_url(url: str) -> str:
    """The URL for messages: without userinfo, path parameters (`;key=…`) or fragment, and
    with every query value shown as `***`."""
    parsed = _parse_url(url)
    if parsed is None:
        return "<invalid URL>"
    parsed = parsed.copy_with(username=None, password=None, fragment=None)
    if ";" in parsed.path:
        parsed = parsed.copy_with(path=re.sub(r";[^/]*", "", parsed.path))
    if parsed.query:
        masked = "&".join(
            f"{name}=***" if value else "***" for name, value in parsed.params.multi_items()
        )
        parsed = parsed.copy_with(query=masked.encode())
    return str(parsed)


def cookie_secrets(source: httpx.Cookies | CookieFile, url: httpx.URL | None) -> list[str]:
    """The values of the cookies sent to `url`'s host (all given ones, for a dict or a jar) that
    look like credentials: named like one (`session`, `auth_token`, `connect.sid`), or 16
    characters or more (session ids). Shorter ones (`theme=dark`, `consent=accepted`) are
    preferences: masking them would mangle ordinary words in replies."""
    if isinstance(source, CookieFile):
        jar: Any = source.for_host(url) if url is not None else source.cookies
    else:
        jar = source.jar
    return [
        c.value for c in jar if c.value and (len(c.value) >= 16 or _CREDENTIAL_NAME.search(c.name))
    ]


#: A cookie name with a credential word in it, as a whole word (`api_key`, not `keyboard`).
_CREDENTIAL_NAME = re.compile(
    r"(^|[._-])(key|token|secret|auth|sig|pass|password|pwd|credentials?|sess|session|sid|jwt)"
    r"($|[._-]|id$)",
    re.I,
)


def url_secrets(url: httpx.URL) -> list[str]:
    """What in a URL is a credential: the password (and user:password), a username given
    without a password, the values of secret-named query parameters."""
    found = []
    if url.password:
        found += [url.password, f"{url.username}:{url.password}"]
    elif url.username:
        found.append(url.username)
    for name, value in url.params.multi_items():
        if not value:
            found.append(name)  # `?KEY`: the name is the value
        elif SECRET_PARAMETER.search(name):
            found.append(value)
    for parameter in re.findall(r";([^/;]*)", url.path):  # path parameters: `/v1;key=…`
        name, _, value = parameter.partition("=")
        if not value:
            found.append(name)
        elif SECRET_PARAMETER.search(name):
            found.append(value)
    return found


def _parse_url(url: str) -> httpx.URL | None:
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None


def origin(url: str) -> str:
    """scheme://host[:port] of a URL: where a reply came from, with nothing that could be
    secret (no credentials, path or query)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port is not None else ""
    return f"{parsed.scheme}://{host}{port}"


class Silence(Exception):
    """No event for longer than the timeout, even if keep-alive comments kept the socket busy."""


class Deadline:
    """The time by which the next event must arrive.

    The stream's reader calls `waiting()` each time it is about to read more bytes and
    `check()` when they came. `events()` counts the events handed out so far (e.g.
    `len(reply.events)`); when it moved since the last read, the clock restarts then. So the
    deadline measures the server's silence, not the time a reader spent on events it already
    had, and costs nothing per event (one clock read per network read).
    """

    def __init__(self, seconds: float, events: Callable[[], int] = lambda: 0) -> None:
        self.seconds = seconds
        self._events = events
        self._seen = events()
        self.reset()

    def reset(self) -> None:
        self._at = time.monotonic() + self.seconds

    def waiting(self) -> None:
        seen = self._events()
        if seen != self._seen:
            self._seen = seen
            self.reset()

    def check(self) -> None:
        if time.monotonic() > self._at:
            raise Silence(f"no event for {self.seconds:g} s")


class _WatchedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def __iter__(self) -> Iterator[bytes]:
        self._deadline.waiting()
        for chunk in self._inner:
            self._deadline.check()
            yield chunk
            self._deadline.waiting()  # asked for more: the reader is done with what it had

    def close(self) -> None:
        self._inner.close()


class _AsyncWatchedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._deadline.waiting()
        async for chunk in self._inner:
            self._deadline.check()
            yield chunk
            self._deadline.waiting()

    async def aclose(self) -> None:
        await self._inner.aclose()


#: Characters of a server's text body an error message quotes.
MESSAGE_CHARS = 500


def server_message(response: httpx.Response, redact: Redactor) -> str:
    """The server's own words for an error, secrets masked: JSON message/detail/error, else
    the start of the text body (masked before it is cut, and cut before anything that could
    start a secret, so no part of one shows)."""
    said = _server_words(response)
    if len(said) <= MESSAGE_CHARS:
        return redact(said)
    start = redact(said[: 4 * MESSAGE_CHARS])[:MESSAGE_CHARS]
    return start[: len(start) - redact.pending(start)] + " …"


def _server_words(response: httpx.Response) -> str:
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
    return text or response.reason_phrase or "no message"


def json_answer(response: httpx.Response) -> Any:
    """A whole JSON answer. Lone UTF-16 halves (legal JSON, but not text) become U+FFFD, as
    in streams: they could not be written to an output or a saved notebook."""
    try:
        body = response.json()
    except ValueError:
        raise errors.ServerError(response.status_code, "the answer is not JSON") from None
    return replace_lone_surrogates(body)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asks a client to wait: `retry-after-ms` (milliseconds, sent by
    OpenAI-compatible services and read by OpenAI's SDKs) or `Retry-After` (seconds or an
    HTTP date)."""
    milliseconds = response.headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def status_error(response: httpx.Response, redact: Redactor) -> errors.APIStatusError:
    message = server_message(response, redact)
    return errors.status_error(response.status_code, message, retry_after(response))


def transport_error(exc: httpx.TransportError, config: ClientConfig) -> errors.NbchatError:
    """nbchat's error for a failed request, worded from facts that hold no secret: the URL
    without userinfo, the proxy, the exception's type and the operating system's reason.

    httpx's own messages can quote a header (an invalid token, say) and are never used.
    """
    where = safe_url(config.base_url)
    if config.proxy is not None:
        where += f" through {config.proxy}"
    kind = type(exc).__name__
    if isinstance(exc, httpx.LocalProtocolError):
        return errors.ConfigurationError(
            f"the request to {where} could not be sent ({kind}): a header value, such as a "
            "cookie, has a character HTTP does not allow (the value is not shown)"
        )
    if isinstance(exc, httpx.TimeoutException):
        return errors.TimeoutError(f"no answer from {where} in time ({kind})")
    reason = _os_reason(exc)
    return errors.ConnectionError(f"cannot reach {where}: {reason + ' ' if reason else ''}({kind})")


def _os_reason(exc: BaseException) -> str:
    """The operating system's words for the failure under `exc` ("Connection refused")."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and isinstance(cause.strerror, str):
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return ""


def retry_wait(failure: errors.NbchatError, attempt: int, config: ClientConfig) -> float | None:
    """How long to wait before retrying `failure`, or None to give up and raise it."""
    if attempt >= config.max_retries:
        return None
    if isinstance(failure, errors.APIStatusError):
        if failure.status_code not in RETRY_STATUSES:
            return None
        asked = getattr(failure, "retry_after", None)
        if asked is not None:
            return asked if asked <= config.max_retry_wait else None
    elif not isinstance(failure, (errors.ConnectionError, errors.TimeoutError)):
        return None
    backoff = 0.5 * 2**attempt * (1 + random.random() / 4)
    return min(backoff, config.max_retry_wait)


def _log_retry(failure: Exception, wait: float, attempt: int) -> None:
    log.warning("retrying in %.2f s (attempt %d) after: %s", wait, attempt + 1, failure)


class Client:
    """Blocking HTTP, one pooled httpx.Client per Chat."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._http = httpx.Client(**config.httpx_options(httpx.HTTPTransport))

    def close(self) -> None:
        self._http.close()

    def open_stream(self, request: HttpRequest, deadline: Deadline) -> httpx.Response:
        """An open 200 response ready to stream, after any retries."""
        response = self._send(request, stream=True)
        response.stream = _WatchedStream(response.stream, deadline)  # type: ignore[arg-type]
        response.encoding = SSE_ENCODING
        return response

    def post_json(self, request: HttpRequest) -> Any:
        return json_answer(self._send(request, stream=False))

    def _send(self, request: HttpRequest, *, stream: bool) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return self._send_once(request, stream=stream)
            except (errors.APIStatusError, errors.ConnectionError, errors.TimeoutError) as failure:
                wait = retry_wait(failure, attempt, self.config)
                if wait is None:
                    raise
                _log_retry(failure, wait, attempt)
                time.sleep(wait)
                attempt += 1

    def _send_once(self, request: HttpRequest, *, stream: bool) -> httpx.Response:
        built = self.config.build_request(self._http, request)
        try:
            response = self._http.send(built, stream=stream)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config) from None
        if response.is_success:
            return response
        try:
            response.read()
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config) from None
        finally:
            response.close()
        raise status_error(response, self.config.redact)


class AsyncClient:
    """The asyncio twin of Client; one httpx.AsyncClient per stream, so any event loop works."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self.config.httpx_options(httpx.AsyncHTTPTransport))

    async def open_stream(
        self, http: httpx.AsyncClient, request: HttpRequest, deadline: Deadline
    ) -> httpx.Response:
        response = await self._send(http, request, stream=True)
        response.stream = _AsyncWatchedStream(response.stream, deadline)  # type: ignore[arg-type]
        response.encoding = SSE_ENCODING
        return response

    async def post_json(self, http: httpx.AsyncClient, request: HttpRequest) -> Any:
        return json_answer(await self._send(http, request, stream=False))

    async def _send(
        self, http: httpx.AsyncClient, request: HttpRequest, *, stream: bool
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return await self._send_once(http, request, stream=stream)
            except (errors.APIStatusError, errors.ConnectionError, errors.TimeoutError) as failure:
                wait = retry_wait(failure, attempt, self.config)
                if wait is None:
                    raise
                _log_retry(failure, wait, attempt)
                await asyncio.sleep(wait)
                attempt += 1

    async def _send_once(
        self, http: httpx.AsyncClient, request: HttpRequest, *, stream: bool
    ) -> httpx.Response:
        built = self.config.build_request(http, request)
        try:
            response = await http.send(built, stream=stream)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config) from None
        if response.is_success:
            return response
        try:
            await response.aread()
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config) from None
        finally:
            await response.aclose()
        raise status_error(response, self.config.redact)
