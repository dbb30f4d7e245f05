"""HTTP for nbchat: auth, timeouts, retries before the first byte, and typed errors.

`Client` and `AsyncClient` are thin twins around httpx; every decision (what to retry, how long
to wait, which error to raise) lives in the shared functions below so the two cannot drift.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from . import errors
from .cookies import CookiesArg, load_cookies
from .dialects import HttpRequest

log = logging.getLogger("nbchat")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

# SSE is always UTF-8; the "-sig" codec also drops the byte-order mark a stream may start with.
SSE_ENCODING = "utf-8-sig"


@dataclass(frozen=True)
class ClientConfig:
    base_url: str
    token: str | None = None
    cookies: CookiesArg = None
    timeout: float = 60.0
    max_retries: int = 2
    max_retry_wait: float = 60.0

    def __repr__(self) -> str:
        # Never show the token or cookie values.
        return f"ClientConfig(base_url={safe_url(self.base_url)!r}, timeout={self.timeout})"

    def httpx_options(self) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return {
            "base_url": self.base_url,
            "headers": headers,
            "cookies": load_cookies(self.cookies),
            "timeout": httpx.Timeout(self.timeout),
        }


def safe_url(url: str) -> str:
    """The URL without any user:password part, for messages."""
    try:
        return str(httpx.URL(url).copy_with(username=None, password=None))
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"


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
    """The time by which the next event must arrive; the stream resets it on every event."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.reset()

    def reset(self) -> None:
        self._at = time.monotonic() + self.seconds

    def check(self) -> None:
        if time.monotonic() > self._at:
            raise Silence(f"no event for {self.seconds:g} s")


class _WatchedStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            self._deadline.check()
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _AsyncWatchedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, deadline: Deadline) -> None:
        self._inner, self._deadline = inner, deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            self._deadline.check()
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


def server_message(response: httpx.Response) -> str:
    """The server's own words for an error: JSON message/detail/error, else the text body."""
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
    return text[:500] or response.reason_phrase or "no message"


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date."""
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


def status_error(response: httpx.Response) -> errors.APIStatusError:
    return errors.status_error(
        response.status_code, server_message(response), retry_after(response)
    )


def transport_error(exc: httpx.TransportError, base_url: str) -> errors.NbchatError:
    where = safe_url(base_url)
    if isinstance(exc, httpx.TimeoutException):
        return errors.TimeoutError(f"no answer from {where} in time ({type(exc).__name__})")
    return errors.ConnectionError(f"cannot reach {where}: {exc or type(exc).__name__}")


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
        self._http = httpx.Client(**config.httpx_options())

    def close(self) -> None:
        self._http.close()

    def open_stream(self, request: HttpRequest, deadline: Deadline) -> httpx.Response:
        """An open 200 response ready to stream, after any retries."""
        response = self._send(request, stream=True)
        response.stream = _WatchedStream(response.stream, deadline)  # type: ignore[arg-type]
        response.encoding = SSE_ENCODING
        return response

    def post_json(self, request: HttpRequest) -> Any:
        response = self._send(request, stream=False)
        try:
            return response.json()
        except ValueError:
            raise errors.ServerError(response.status_code, "the answer is not JSON") from None

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
        built = self._http.build_request(
            request.method, request.path, json=request.json, headers=request.headers
        )
        try:
            response = self._http.send(built, stream=stream)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config.base_url) from None
        if response.is_success:
            return response
        try:
            response.read()
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config.base_url) from None
        finally:
            response.close()
        raise status_error(response)


class AsyncClient:
    """The asyncio twin of Client; one httpx.AsyncClient per stream, so any event loop works."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(**self.config.httpx_options())

    async def open_stream(
        self, http: httpx.AsyncClient, request: HttpRequest, deadline: Deadline
    ) -> httpx.Response:
        response = await self._send(http, request, stream=True)
        response.stream = _AsyncWatchedStream(response.stream, deadline)  # type: ignore[arg-type]
        response.encoding = SSE_ENCODING
        return response

    async def post_json(self, http: httpx.AsyncClient, request: HttpRequest) -> Any:
        response = await self._send(http, request, stream=False)
        try:
            return response.json()
        except ValueError:
            raise errors.ServerError(response.status_code, "the answer is not JSON") from None

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
        built = http.build_request(
            request.method, request.path, json=request.json, headers=request.headers
        )
        try:
            response = await http.send(built, stream=stream)
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config.base_url) from None
        if response.is_success:
            return response
        try:
            await response.aread()
        except httpx.TransportError as exc:
            raise transport_error(exc, self.config.base_url) from None
        finally:
            await response.aclose()
        raise status_error(response)
