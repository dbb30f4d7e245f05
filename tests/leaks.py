"""Find a secret in text in any form it could take: raw, escaped, URL-encoded, HTML character
references, hex or base64, or a mix that a decoder (a browser, a Markdown renderer) resolves.

Independent of nbchat's own `Redactor`, so a form the library forgets is still found here.
"""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import quote, quote_plus, unquote


def _base64_cores(secret: bytes) -> set[str]:
    """The part of base64(prefix + secret) that is the same whatever the prefix, for each of
    the three alignments a secret can have inside a longer encoded text."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret).decode()
        start = (offset * 4 + 2) // 3 + (1 if offset else 0)
        end = len(encoded) - 4  # the last group depends on what follows
        cores.add(encoded[start:end])
    for encoding in (base64.urlsafe_b64encode, base64.b64encode):
        cores.add(encoding(secret).decode().rstrip("="))
    return {core for core in cores if len(core) >= 8}


def forms(secret: str) -> set[str]:
    """Every form of `secret` to look for."""
    found = {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(json.dumps(secret))[1:-1],  # JSON inside JSON (an error inside an output)
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        html.escape(secret),
        secret.encode().hex(),
        secret.encode().hex().upper(),
        *_base64_cores(secret.encode()),
    }
    return {form for form in found if form}


def _unescaped(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def views(text: str) -> list[str]:
    """`text` and what decoders make of it: HTML references, percent-encoding (any case),
    `\\uXXXX` escapes, each once and all in turn, then without what no reader sees (line
    breaks, zero-width characters, soft hyphens)."""
    decoded = [html.unescape(text), unquote(text), _unescaped(text)]
    everything = _unescaped(unquote(html.unescape(text)))
    return [
        text,
        *decoded,
        everything,
        re.sub("[\u00ad\u200b-\u200f\u2060\ufeff\r\n]", "", everything),
    ]


def leaks(text: str, secrets: list[str]) -> list[str]:
    """The forms of `secrets` present in `text` or a decoded view of it (empty if none)."""
    seen = views(text)
    return sorted(
        {form for secret in secrets for form in forms(secret) for view in seen if form in view}
    )


def assert_no_secret(text: str, *secrets: str) -> None:
    __tracebackhide__ = True
    found = leaks(text, list(secrets))
    assert not found, f"secret forms found: {found}"
