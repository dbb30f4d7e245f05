"""Session cookies from a dict, an httpx.Cookies, or a Netscape cookies.txt file (as `curl -b`)."""

from __future__ import annotations

import http.cookiejar
import os
import tempfile
import time
import warnings
from pathlib import Path

import httpx

from .errors import ConfigurationError

CookiesArg = dict[str, str] | httpx.Cookies | str | os.PathLike | None

_MAGIC = "# Netscape HTTP Cookie File\n"


def load_cookies(cookies: CookiesArg) -> httpx.Cookies:
    """Normalize what the user passed into cookies httpx sends."""
    if cookies is None:
        return httpx.Cookies()
    if isinstance(cookies, (dict, httpx.Cookies)):
        return httpx.Cookies(cookies)
    return httpx.Cookies(_read_cookies_file(Path(cookies)))


def _read_cookies_file(path: Path) -> http.cookiejar.MozillaCookieJar:
    # curl accepts files without the magic first line; the stdlib parser does not, so add it.
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read cookies file {path}: {exc.strerror}") from None
    if not text.startswith(("# Netscape HTTP Cookie File", "# HTTP Cookie File")):
        text = _MAGIC + text
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as tmp:
        tmp.write(text)
    jar = http.cookiejar.MozillaCookieJar()
    try:
        with warnings.catch_warnings():  # the stdlib also warns, with a traceback, on bad lines
            warnings.simplefilter("ignore")
            jar.load(tmp.name, ignore_discard=True, ignore_expires=True)
    except (http.cookiejar.LoadError, ValueError):
        # The stdlib message quotes the offending line, cookie value included: never show it.
        raise ConfigurationError(f"{path} is not a Netscape cookies.txt file") from None
    finally:
        os.unlink(tmp.name)
    _apply_curl_expiry(jar)
    return jar


def _apply_curl_expiry(jar: http.cookiejar.CookieJar) -> None:
    """Expiry 0 means a session cookie to curl (keep it); a past expiry means gone."""
    now = time.time()
    for cookie in list(jar):
        if cookie.expires == 0:
            cookie.expires, cookie.discard = None, True
        elif cookie.is_expired(int(now)):
            jar.clear(cookie.domain, cookie.path, cookie.name)
