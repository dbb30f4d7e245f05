"""Session cookies from a dict, an httpx.Cookies, or a Netscape cookies.txt file (as `curl -b`).

A cookies.txt file is matched to each request the way curl 7.x/8.x does for `curl -b FILE
URL` (lib/cookie.c): the stdlib cookiejar's domain rules differ (a cookie for `localhost`
is never sent), so the file is read and matched here, and the matching cookies join the
request beside any the server set.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .errors import ConfigurationError

log = logging.getLogger("nbchat")

CookiesArg = dict[str, str] | httpx.Cookies | str | os.PathLike | None

_HTTP_ONLY = "#HttpOnly_"


@dataclass(frozen=True)
class FileCookie:
    """One line of a cookies.txt file: domain (without a leading dot), whether subdomains
    match too, path, secure, expiry (Unix seconds, 0 for a session cookie), name, value."""

    domain: str
    subdomains: bool
    path: str
    secure: bool
    expires: int
    name: str
    value: str = field(repr=False)

    def matches(self, host: str, path: str, secure_context: bool, now: float) -> bool:
        if self.expires and self.expires <= now:
            return False
        if self.secure and not secure_context:
            return False
        if not _domain_matches(self.domain, self.subdomains, host):
            return False
        return _path_matches(_cookie_path(self.path), path)


class CookieFile:
    """The cookies of a Netscape cookies.txt file, and which of them a request gets."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigurationError(f"cannot read cookies file {self.path}: {reason}") from None
        cookies: dict[tuple[str, str, str], FileCookie] = {}
        skipped: list[int] = []
        for number, line in enumerate(text.splitlines(), 1):
            cookie = _parse_line(line)
            if cookie is None:
                if line.strip() and not _is_comment(line):
                    skipped.append(number)
                continue
            cookies[cookie.domain.lower(), cookie.path, cookie.name] = cookie  # later lines win
        if skipped and not cookies:
            # Never quote the lines: they hold the cookie values.
            raise ConfigurationError(
                f"{self.path} is not a Netscape cookies.txt file: each cookie line has seven "
                "tab-separated fields (domain, subdomains, path, secure, expiry, name, value)"
            )
        if skipped:
            log.warning("cookies file %s: lines %s are not cookies, skipped", self.path, skipped)
        self.cookies = list(cookies.values())

    def __repr__(self) -> str:
        return f"CookieFile({str(self.path)!r}, {len(self.cookies)} cookies)"

    def for_host(self, url: httpx.URL) -> list[FileCookie]:
        """The cookies curl would send to some path of `url`'s host (any path)."""
        host = url.host.lower()
        secure_context = url.scheme == "https" or host in ("localhost", "127.0.0.1", "::1")
        now = time.time()
        return [c for c in self.cookies if c.matches(host, c.path, secure_context, now)]

    def for_url(self, url: httpx.URL) -> list[FileCookie]:
        """The cookies curl would send to `url`, in curl's order (longest path, then longest
        domain, then longest name first; then file order)."""
        host = url.host.lower()
        path = url.raw_path.decode("ascii").split("?", 1)[0] or "/"
        secure_context = url.scheme == "https" or host in ("localhost", "127.0.0.1", "::1")
        now = time.time()
        found = [c for c in self.cookies if c.matches(host, path, secure_context, now)]
        return sorted(found, key=lambda c: (-len(c.path), -len(c.domain), -len(c.name)))


def load_cookies(cookies: CookiesArg) -> httpx.Cookies | CookieFile:
    """What the user passed: cookies for every request, or a file matched per request."""
    if cookies is None:
        return httpx.Cookies()
    if isinstance(cookies, (dict, httpx.Cookies)):
        return httpx.Cookies(cookies)
    return CookieFile(cookies)


def _is_comment(line: str) -> bool:
    stripped = line.lstrip(" \t")
    return stripped.startswith("#") and not stripped.startswith(_HTTP_ONLY)


def _parse_line(line: str) -> FileCookie | None:
    line = line.lstrip(" \t").rstrip("\r\n")
    if line.startswith(_HTTP_ONLY):
        line = line[len(_HTTP_ONLY) :]
    elif line.startswith("#"):
        return None
    fields = line.split("\t")
    if len(fields) == 6 and fields[2].upper() in ("TRUE", "FALSE"):
        fields.insert(2, "/")  # an old file without the path field
    if len(fields) == 6:  # a cookie with an empty value
        fields.append("")
    if len(fields) != 7:
        return None
    domain, subdomains, path, secure, expires, name, value = fields
    try:
        expiry = int(expires)
    except ValueError:
        return None
    if not domain or not name:
        return None
    return FileCookie(
        domain=domain.removeprefix("."),
        subdomains=subdomains.upper() == "TRUE",
        path=path,
        secure=secure.upper() == "TRUE",
        expires=expiry,
        name=name,
        value=value,
    )


def _domain_matches(domain: str, subdomains: bool, host: str) -> bool:
    """curl: a cookie for subdomains matches the host and hosts ending in "." + domain (never
    for an IP address); otherwise only the same host, case-insensitively."""
    domain = domain.lower()
    if subdomains and not _is_ip(host):
        return host == domain or host.endswith("." + domain)
    return host == domain


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _cookie_path(path: str) -> str:
    """curl's sanitized cookie path: quotes dropped, "/" if not absolute, no trailing "/"."""
    path = path.strip('"')
    if not path.startswith("/"):
        return "/"
    return path.rstrip("/") or "/"


def _path_matches(cookie_path: str, request_path: str) -> bool:
    """RFC 6265 5.1.4, as curl's pathmatch()."""
    if cookie_path == "/":
        return True
    if not request_path.startswith("/"):
        request_path = "/"
    if not request_path.startswith(cookie_path):
        return False
    return len(request_path) == len(cookie_path) or request_path[len(cookie_path)] == "/"
