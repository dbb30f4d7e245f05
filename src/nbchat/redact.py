"""Keep secrets out of text nbchat shows: tokens, URL passwords, cookie values.

nbchat builds its own messages without secrets (URLs without userinfo, no header values, no
quoted exceptions). Text that comes from elsewhere (a server's error message, an unexpected
exception) passes through a `Redactor` before it reaches an error, a log line or an output.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

#: Shorter values are not treated as secrets: replacing them would mangle ordinary words.
MIN_SECRET_LENGTH = 4

MASK = "***"


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can appear in text: raw, escaped (repr, JSON), URL-encoded, base64."""
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        base64.b64encode(secret.encode()).decode().rstrip("="),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """`redactor(text)` is `text` with every form of every secret replaced by `***`."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                forms |= secret_forms(secret)
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __repr__(self) -> str:
        return f"<Redactor of {len(self._forms)} forms>"
