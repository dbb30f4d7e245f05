"""The size of a message before it is sent, and the limit it must stay under.

Tokens are counted with tiktoken's `o200k_base` encoding when tiktoken is installed *and* its
encoding file can be loaded (tiktoken downloads it on first use and caches it; offline, point
TIKTOKEN_CACHE_DIR at a cached copy). Otherwise tokens are estimated as characters / 4, the
usual rule of thumb for English text and code; the estimate says which method it used.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import ContextTooLargeError

__all__ = ["DEFAULT_MAX_TOKENS", "Budget", "Estimate", "Part"]

#: Tokens a message may take unless told otherwise: far below today's context windows, well
#: above what a typed question with a few capped values needs.
DEFAULT_MAX_TOKENS = 32_000
CHARS_PER_TOKEN = 4
ENCODING = "o200k_base"


@dataclass(frozen=True)
class Part:
    """A named piece of a message: an interpolated `{field}`, or the text written around them."""

    name: str
    text: str


@dataclass(frozen=True)
class Estimate:
    """How big a text is: characters, tokens, and how the tokens were counted."""

    chars: int
    tokens: int
    method: str  # "tiktoken o200k_base" or "characters / 4"


class Budget:
    """A token limit for one message (None: no limit) and the counter used to check it."""

    def __init__(self, max_tokens: int | None = DEFAULT_MAX_TOKENS) -> None:
        self.max_tokens = max_tokens
        self._lock = threading.Lock()
        self._counter: Callable[[str], int] | None = None
        self._method = ""

    def estimate(self, text: str) -> Estimate:
        count, method = self._count()
        return Estimate(len(text), count(text), method)

    def check(self, text: str, parts: Sequence[Part] = ()) -> Estimate:
        """The message's size; over the limit, ContextTooLargeError naming its largest part."""
        size = self.estimate(text)
        if self.max_tokens is None or size.tokens <= self.max_tokens:
            return size
        message = (
            f"the message is about {size.tokens:,} tokens ({size.chars:,} characters; "
            f"counted by {size.method}), over the limit of {self.max_tokens:,}"
        )
        if parts:
            sizes = [(self.estimate(part.text), part) for part in parts]
            largest, part = max(sizes, key=lambda pair: pair[0].tokens)
            message += f"; the largest part is {part.name} at about {largest.tokens:,} tokens"
        message += (
            ". Send less (a smaller --max-context N caps each {value}), "
            "or raise the limit with %chat_context --max-tokens N"
        )
        raise ContextTooLargeError(message, size.tokens, self.max_tokens)

    def _count(self) -> tuple[Callable[[str], int], str]:
        with self._lock:
            if self._counter is None:
                self._counter, self._method = _tokenizer()
            return self._counter, self._method


def _tokenizer() -> tuple[Callable[[str], int], str]:
    """tiktoken's counter when it can load its encoding, else characters / 4."""
    try:
        import tiktoken  # type: ignore[import-not-found,unused-ignore]

        encoding = tiktoken.get_encoding(ENCODING)
    except Exception:  # not installed, or the encoding cannot be downloaded
        return _by_characters, f"characters / {CHARS_PER_TOKEN}"
    return (lambda text: len(encoding.encode(text, disallowed_special=()))), f"tiktoken {ENCODING}"


def _by_characters(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)
