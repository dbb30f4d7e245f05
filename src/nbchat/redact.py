"""Keep secrets out of text nbchat shows: tokens, URL credentials, query values, cookie values.

nbchat builds its own messages without secrets (URLs without userinfo, no header values, no
quoted exceptions). Text that comes from elsewhere passes through a `Redactor` before it reaches
an error, a log line, an output or the conversation: a server's error message, an unexpected
exception, and the reply itself (a gateway may echo the request's headers into the text).
`StreamMask` does the same for text that arrives in pieces, where a secret can be split.
"""

from __future__ import annotations

import base64
import bisect
import html
import json
import re
import string
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

__all__ = ["MASK", "PLACEHOLDER_KEYS", "Redactor", "StreamMask", "secret_forms"]

#: Shorter values are not treated as secrets: replacing them would mangle ordinary words.
MIN_SECRET_LENGTH = 4

MASK = "***"

#: How a secret may be written in a header a server quotes back (base64 of "Bearer sk-…" in a
#: Basic-like header, say): the base64 forms cover every offset, so this only adds the prefix.
_BASE64_PREFIXES = (b"Bearer ", b":")


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 letters that stand for `secret` whatever bytes come before and after it,
    for its three possible alignments in a longer encoded text, in both alphabets."""
    cores = set()
    for offset in range(3):
        bits_before = 8 * offset
        start = -(-bits_before // 6)  # the first letter made of the secret's bits only
        end = (bits_before + 8 * len(secret)) // 6  # past the last such letter
        padded = b"\0" * offset + secret
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            cores.add(encode(padded).decode()[start:end])
    for prefix in _BASE64_PREFIXES:
        cores.add(base64.b64encode(prefix + secret).decode().rstrip("="))
    return cores


def secret_forms(secret: str) -> set[str]:
    """The fixed ways a secret can appear in text: raw, escaped (repr, JSON, JSON in JSON),
    URL-encoded, hex bytes (either case), base64 at any alignment. (Forms written one
    character at a time, as `\\uXXXX`, `%XX` or HTML character references, are found by
    decoding: see `Redactor`.)"""
    data = secret.encode()
    forms = {
        secret,
        repr(secret)[1:-1],
        repr(data)[2:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(json.dumps(secret))[1:-1],  # JSON inside JSON: an error inside an error
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        data.hex(),
        data.hex().upper(),
        *_base64_cores(data),
    }
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


#: Characters no reader sees: format characters, joiners, variation selectors, bidirectional
#: controls, the soft hyphen.
_INVISIBLE_CHARS = "".join(
    chr(code)
    for first, last in [
        (0x00AD, 0x00AD),
        (0x034F, 0x034F),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x2069),
        (0xFE00, 0xFE0F),
        (0xFEFF, 0xFEFF),
    ]
    for code in range(first, last + 1)
)
_INVISIBLE_CLASS = _INVISIBLE_CHARS  # as the body of a regex class: none is special there
#: One character written as a character reference, a percent-encoded ASCII byte, a
#: backslash escape (`\\u0073`, `\\x73`, or Markdown's and JSON's `\\-`, `\\/`): a renderer or
#: a decoder turns it back into the character. Also what no reader sees: a line break (base64
#: wrapped at 76 columns; two in a row are a paragraph break, which no secret crosses),
#: zero-width characters and soft hyphens.
_UNIT = re.compile(
    r"&#(?:[0-9]{1,7}|[xX][0-9a-fA-F]{1,6});?|&[A-Za-z][A-Za-z0-9]{1,31};"
    r"|%[0-7][0-9a-fA-F]|\\u[0-9a-fA-F]{4}|\\x[0-7][0-9a-fA-F]|\\[!-/:-@\[-`{-~]"
    r"|(?:\r\n?|\n)(?![\r\n])|[" + _INVISIBLE_CLASS + "]"
)
#: The start of such a unit at the end of a piece of text: the next piece may complete it.
_UNIT_START = re.compile(
    r"(?:&#?[xX]?[0-9a-fA-F]{0,7}|&[A-Za-z][A-Za-z0-9]{0,31}|%[0-7]?"
    r"|\\(?:u[0-9a-fA-F]{0,3}|x[0-7]?)?)\Z"
)
_INVISIBLE = re.compile(f"[\r\n{_INVISIBLE_CLASS}]|\r\n")
#: Whether a text may hold a unit at all (cheaper than looking for one).
_ENCODED = re.compile(f"[&%\\\\\r\n{_INVISIBLE_CLASS}]")
#: Invisible units in a row that end a possible secret, as a paragraph break does: padding a
#: secret with more would be deliberate, and holding them would cost more with every piece.
INVISIBLE_RUN = 8

#: Keys that servers document as placeholders, not secrets (compared ignoring case): masking
#: them would only mangle replies that name the tool (vLLM's "EMPTY" and "token-abc123",
#: Ollama's "ollama", LM Studio's "lm-studio", llama.cpp's "sk-no-key-required").
PLACEHOLDER_KEYS = frozenset(
    {"empty", "ollama", "lm-studio", "sk-no-key-required", "token-abc123", "none", "dummy"}
    | {"not-needed", "no-key", "local"}
)
#: Secrets shorter than this are masked only as whole words: a short token such as "test"
#: must not turn "latest tests" into "la*** ***s".
WORD_SECRET_LENGTH = 12


def _unit_char(unit: str) -> str:
    if unit[0] == "&":
        char = html.unescape(unit)
    elif unit[0] == "%":
        char = chr(int(unit[1:], 16))
    elif unit[0] == "\\":
        char = unit[1] if len(unit) == 2 else chr(int(unit[2:], 16))
    else:
        char = unit  # a line break or an invisible character
    return "" if _INVISIBLE.fullmatch(char) else char


def _decoded(text: str) -> tuple[str, list[int], list[int]]:
    """`text` with every unit decoded (any mix of references, percent-encoding and escapes;
    what no reader sees dropped), and where each decoded character starts and ends in `text`."""
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    done = run = 0
    for unit in _UNIT.finditer(text):
        parts.append(text[done : unit.start()])
        starts.extend(range(done, unit.start()))
        ends.extend(range(done + 1, unit.start() + 1))
        char = _unit_char(unit[0])
        run = run + 1 if not char and done == unit.start() else int(not char)
        if run == INVISIBLE_RUN + 1:
            char = "\n"  # a break no form crosses
        parts.append(char)
        starts.extend([unit.start()] * len(char))
        ends.extend([unit.end()] * len(char))
        done = unit.end()
    parts.append(text[done:])
    starts.extend(range(done, len(text)))
    ends.extend(range(done + 1, len(text) + 1))
    return "".join(parts), starts, ends


_WORD_CHARS = frozenset(string.ascii_letters + string.digits)


def _pattern(form: str) -> str:
    """A form as a regex: a short one only where no letter or digit touches it."""
    if len(form) >= WORD_SECRET_LENGTH:
        return re.escape(form)
    return rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])"


class Redactor:
    """`redactor(text)` is `text` with every form of every secret replaced by `***`.

    Besides the fixed forms (`secret_forms`), a form written in a mix of encodings, one
    character at a time (`s&#107;-%61…`, which a Markdown renderer or a browser shows as the
    secret), or broken by line breaks or invisible characters, is found in the decoded text
    and masked where it stands. Values shorter than `MIN_SECRET_LENGTH` and documented
    placeholder keys (`PLACEHOLDER_KEYS`) are not secrets.
    """

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        raw = {
            secret
            for secret in secrets
            if secret
            and len(secret) >= MIN_SECRET_LENGTH
            and secret.lower() not in PLACEHOLDER_KEYS
        }
        forms: set[str] = set()
        for secret in raw:
            forms |= secret_forms(secret)
        self._forms = sorted(forms, key=len, reverse=True)  # longest first: no partial leftovers
        self._sorted = sorted(forms)  # for "does any form start with this?" (bisect)
        self._sorted_long = sorted(f for f in forms if len(f) >= WORD_SECRET_LENGTH)
        forms_pattern = "|".join(map(_pattern, self._forms))
        self._pattern = re.compile(forms_pattern)
        # A text with none of these needs no work (the common case, on the streaming path).
        self._suspect = re.compile(f"{forms_pattern}|{_ENCODED.pattern}") if forms else None
        # What the last character of a secret's start can be: a form's, or a unit's.
        self._alphabet = (
            set("".join(self._forms))
            | set(string.ascii_letters + string.digits + string.punctuation + "\r\n")
            | set(_INVISIBLE_CHARS)
        )
        firsts = re.escape("".join({form[0] for form in self._forms}))
        self._firsts = re.compile(f"[{firsts}]" if firsts else "(?!)")
        self._longest = len(self._forms[0]) if self._forms else 0
        #: What the end of a text may show of a secret's start when the text ends there.
        self.revealing = max(MIN_SECRET_LENGTH, min(map(len, raw), default=0) // 2)
        # A form's start at the end of a text ends with the form's first character, or with
        # two characters that stand side by side in the form: a text ending with neither holds
        # no start (`settled`, once per streamed delta, checks this with two set lookups).
        self._first_chars = {form[0] for form in self._forms}
        self._pairs = {form[i : i + 2] for form in self._forms for i in range(len(form) - 1)}

    def __call__(self, text: str, context: int = 0) -> str:
        """`text` masked. Its first `context` characters were shown already and stay as they
        are: they only tell whether a short form starts a word."""
        if self._suspect is None or not self._suspect.search(text):
            return text
        text = self._pattern.sub(lambda m: MASK if m.start() >= context else m[0], text)
        if _ENCODED.search(text):
            decoded, starts, ends = _decoded(text)
            for found in reversed(list(self._pattern.finditer(decoded))):
                start, end = starts[found.start()], ends[found.end() - 1]
                if start >= context:
                    text = text[:start] + MASK + text[end:]
        return text

    def settled(self, text: str) -> bool:
        """Whether `text` certainly needs no masking and ends where no secret can start (so
        `self(text)` is `text` and `pending(text)` is 0): no form, no encoded character, and
        an end that begins no form (neither its last character nor its last two)."""
        suspect = self._suspect
        return (
            text[-1:] not in self._first_chars
            and text[-2:] not in self._pairs
            and (suspect is None or not suspect.search(text))
        )

    def pending(self, text: str) -> int:
        """How many characters at the end of `text` could be the start of a secret's form
        (masked `text`, from `__call__`): what a stream must hold back until the next piece
        shows whether it is one. Looks at `text` only: a stream passes what it held plus the
        new piece, since what it showed before could start no form."""
        if not self._forms or not text or text[-1] not in self._alphabet:
            return 0
        held = self._form_start(text)
        if _ENCODED.search(text):
            window = text
            if unit := _UNIT_START.search(text):  # an encoded character still coming
                held = max(held, len(text) - unit.start())
                window = text[: unit.start()]
            decoded, starts, _ = _decoded(window)
            if size := self._form_start(decoded):
                held = max(held, len(text) - starts[len(decoded) - size])
        # A unit that stands for a character is at most 34 characters (`&CounterClockwise…;`);
        # a longer start is padding, not a secret, and holding it costs more with every piece.
        return min(held, 34 * self._longest)

    def _form_start(self, text: str) -> int:
        """The length of the longest end of `text` that some form starts with (0: none); a
        short form only where no letter or digit comes before it (see `_pattern`)."""
        for first in self._firsts.finditer(text, max(0, len(text) - self._longest + 1)):
            at = first.start()
            end = text[at:]
            forms = self._sorted_long if at and text[at - 1] in _WORD_CHARS else self._sorted
            index = bisect.bisect_left(forms, end)
            if index < len(forms) and forms[index].startswith(end):
                return len(end)
        return 0

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __repr__(self) -> str:
        return f"<Redactor of {len(self._forms)} forms>"


class StreamMask:
    """Masks secrets in text that arrives in pieces (a reply's deltas): `feed(piece)` returns
    what can be shown now, holding back an end that could be the start of a secret.

    `flush()` returns what is held when the text stops there (the reply ends, or a tool call
    comes between two pieces of text): masked whole when it shows at least
    `Redactor.revealing` characters of a secret's start, else shown. What it showed stays
    in view: if the next piece completes a secret begun there, that piece's part is masked,
    so the text joined across the tool call never holds the secret either.
    """

    def __init__(self, redact: Redactor) -> None:
        self._redact = redact
        self._held = ""  # not shown yet: could start a secret
        self._shown = ""  # flushed (as itself, or as MASK), and could still start a secret
        self._shown_masked = False
        self._before = ""  # the last characters shown: whether a short form starts a word

    def passes(self, piece: str) -> bool:
        """Whether `piece` can be shown as it is (the common case, checked cheaply); if so, it
        counts as shown, as if `feed` had returned it."""
        if self._held or self._shown or not self._redact.settled(piece):
            return False
        self._before = piece[-2:] if len(piece) > 1 else (self._before + piece)[-2:]
        return True

    def feed(self, piece: str) -> str:
        before, shown, held = self._before, self._shown, self._held
        text = before + shown + held + piece if before or shown or held else piece
        if unit := _UNIT_START.search(text):  # masked once complete: `&#115` may get its `;`
            text = self._redact(text[: unit.start()], len(before)) + text[unit.start() :]
        else:
            text = self._redact(text, len(before))
        keep = self._redact.pending(text)
        new = self._after_shown(text[len(before) :])
        if keep > len(new) and self._shown:  # still the start of a secret begun in `shown`
            self._held = new
            return ""
        self._shown, self._shown_masked = "", False
        keep = min(keep, len(new))
        self._held = new[len(new) - keep :]
        out = new[: len(new) - keep]
        self._before = (before + out)[-2:]
        return out

    def _after_shown(self, text: str) -> str:
        """`text` (masked) past what was already shown. If a secret begun in what was shown
        was masked, from where it starts: its `***`, unless one is on screen already."""
        shown = self._shown
        if text.startswith(shown):
            return text[len(shown) :]
        same = 0
        while same < min(len(text), len(shown)) and text[same] == shown[same]:
            same += 1
        new = text[same:]
        if self._shown_masked and new.startswith(MASK):
            new = new[len(MASK) :]
        self._shown = ""
        return new

    def flush(self) -> str:
        held, self._held = self._held, ""
        # Nothing more comes: a unit cut short is what it is, and masking is final.
        before = self._before
        new = self._after_shown(
            self._redact(before + self._shown + held, len(before))[len(before) :]
        )
        if new != held:
            self._shown, self._shown_masked = "", False
            return new
        # An encoded character cut short shows nothing, but `&#115` shows "s" without its `;`.
        unit = _UNIT_START.search(held)
        cut = unit is not None and not _UNIT.fullmatch(held, unit.start())
        revealed = _decoded(held[: unit.start()] if unit and cut else held)[0]
        self._shown += held
        if len(self._shown) - len(held) + len(revealed) >= self._redact.revealing:
            self._shown_masked = True
            return MASK
        return held
