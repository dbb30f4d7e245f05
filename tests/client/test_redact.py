"""The masker itself, on generated text: every form and mix is caught wherever a stream splits
it, and text without a secret passes through whole."""

from __future__ import annotations

import base64
import random
import secrets

import pytest
from leaks import assert_no_secret

from nbchat.events import Done, TextDelta
from nbchat.masking import ReplyMask
from nbchat.redact import Redactor, StreamMask

WORDS = ["the", "key", "sk", "-", "&", "&amp;", "%", "%2", "\\", "\\u00", "R&D", "100%", "a\\b"]
WORDS += ["\n", "\n\n", "a\r\nb", "\u200b", "C:\\Users\\sk", "\\frac{a}{b}", "s\\-k"]


def _one_char(char: str, rng: random.Random) -> str:
    """`char` as itself or as one of the encodings a renderer or a decoder resolves."""
    code = ord(char)
    encoded = [f"&#{code};", f"&#x{code:x};", f"&#X{code:X};", f"%{code:02x}", f"%{code:02X}"]
    return rng.choice([char, *encoded, f"\\u{code:04x}", f"\\x{code:02x}"])


INVISIBLE = ["\u200b", "\u00ad", "\ufeff", "\u2060", "\n", "\r\n", "\r", "&#8203;", "&shy;"]


def _hidden(secret: str, rng: random.Random) -> str:
    """The secret in one of its whole forms, or written in a random mix, char by char."""
    data = secret.encode()
    whole = [
        secret,
        data.hex(),
        base64.b64encode(b"Bearer " + data).decode(),
        base64.b64encode(b"x" * rng.randrange(3) + data).decode(),
        repr(secret),
    ]
    if rng.random() < 0.5:
        return rng.choice(whole)
    invisible = rng.random() < 0.3  # what no reader sees, between characters
    return "".join(
        _one_char(char, rng) + (rng.choice(INVISIBLE) if invisible and rng.random() < 0.3 else "")
        for char in secret
    )


def _text(rng: random.Random, secret: str | None) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randrange(1, 12))]
    if secret is not None:
        words.insert(rng.randrange(len(words) + 1), _hidden(secret, rng))
    return " ".join(words)


def _streamed(text: str, mask: StreamMask, rng: random.Random) -> str:
    pieces, at = [], 0
    while at < len(text):
        size = rng.choice([1, 1, 2, 3, 7, 40])
        piece = text[at : at + size]
        pieces.append(piece if mask.passes(piece) else mask.feed(piece))  # as ReplyMask does
        at += size
    return "".join(pieces) + mask.flush()


@pytest.mark.parametrize("seed", range(20))
def test_a_secret_in_any_form_or_mix_never_survives_a_stream(seed: int) -> None:
    rng = random.Random(seed)
    secret = f"sk-{secrets.token_urlsafe(18)}"
    redact = Redactor([secret])
    for _ in range(50):
        text = _text(rng, secret)
        shown = _streamed(text, StreamMask(redact), rng)
        assert_no_secret(shown, secret)
        assert_no_secret(redact(text), secret)
        assert "***" in shown


@pytest.mark.parametrize("seed", range(20))
def test_text_without_a_secret_passes_through_a_stream_unchanged(seed: int) -> None:
    rng = random.Random(seed)
    redact = Redactor([f"sk-{secrets.token_urlsafe(18)}"])
    for _ in range(50):
        text = _text(rng, None)
        assert _streamed(text, StreamMask(redact), rng) == text
        assert redact(text) == text


def _pieces(text: str, rng: random.Random) -> list[str]:
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randrange(8))))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize("seed", range(20))
def test_settled_pieces_are_ones_the_full_check_leaves_alone(seed: int) -> None:
    """`settled`, the cheap check a reply stream makes per delta, never passes a piece that
    masking would change or hold back."""
    rng = random.Random(seed)
    secret = f"sk-{secrets.token_urlsafe(18)}"
    redact = Redactor([secret])
    verdicts = set()
    for _ in range(100):
        for piece in _pieces(_text(rng, secret if rng.random() < 0.5 else None), rng):
            settled = redact.settled(piece)
            verdicts.add(settled)
            if settled:
                assert redact(piece) == piece
                assert redact.pending(piece) == 0
    assert verdicts == {True, False}  # both cases were met


@pytest.mark.parametrize("seed", range(10))
def test_a_secret_never_survives_a_reply_stream(seed: int) -> None:
    rng = random.Random(seed)
    secret = f"sk-{secrets.token_urlsafe(18)}"
    redact = Redactor([secret])
    for _ in range(50):
        text = _text(rng, secret)
        events = [*map(TextDelta, _pieces(text, rng)), Done()]
        shown = "".join(e.text for e in ReplyMask(redact).events(events) if type(e) is TextDelta)
        assert_no_secret(shown, secret)
        assert "***" in shown


def test_a_stream_holds_back_only_what_could_start_a_secret() -> None:
    mask = StreamMask(Redactor(["sk-live-0123"]))
    assert mask.feed("answer: s") == "answer: "
    assert mask.feed("k") == ""
    assert mask.feed("y is blue") == "sky is blue"
    assert mask.feed(" &#11") == " "  # a character reference may be coming
    assert mask.feed("5;k-live-01") == ""
    assert mask.feed("23!") == "***!"


def test_an_empty_redactor_changes_nothing() -> None:
    redact = Redactor([None, "", "abc"])  # too short to be a secret
    assert not redact
    assert redact("abc &#97;bc") == "abc &#97;bc"
    assert redact.pending("ab") == 0


def test_secrets_split_by_markdown_escapes_line_breaks_and_invisible_characters() -> None:
    secret = "sk-proj_0123/456789abcdef"
    redact = Redactor([secret])
    encoded = base64.b64encode(f"Authorization: Bearer {secret}".encode()).decode()
    for text in [
        "sk\\-proj\\_0123/456789abcdef",  # Markdown renders the escapes away
        "sk-proj_0123/\u200b456789\u00adabcdef",  # zero-width space, soft hyphen
        encoded[:20] + "\r\n" + encoded[20:],  # base64 wrapped as MIME does
        "sk-proj_0123\\/456789abcdef",  # JSON's escaped slash, as PHP writes it
    ]:
        assert "***" in redact(text)
        assert_no_secret(redact(text), secret)


def test_placeholder_keys_and_short_values_are_not_secrets() -> None:
    for value in ["EMPTY", "ollama", "lm-studio", "abc"]:
        assert not Redactor([value])
    assert Redactor(["ollama"])("ollama pull llama3") == "ollama pull llama3"


def test_a_long_secret_costs_little_memory_and_time() -> None:
    jwt = "eyJ" + secrets.token_urlsafe(3000)  # a 4 KB bearer token, as identity providers issue
    redact = Redactor([jwt])
    mask = StreamMask(redact)
    text = f"a reply that echoes {jwt} back, then goes on " * 3
    shown = "".join(mask.feed(text[i : i + 5]) for i in range(0, len(text), 5)) + mask.flush()
    assert shown == "a reply that echoes *** back, then goes on " * 3


def test_a_stream_shows_text_that_follows_a_possible_start_once_it_cannot_be_one() -> None:
    mask = StreamMask(Redactor(["sk-" + "9" * 24]))
    assert mask.feed("the files") == "the file"
    shown = [mask.feed("\n") for _ in range(1000)]  # a model looping on blank lines
    assert "".join(shown) + mask.flush() == "s" + "\n" * 1000
    assert sum(1 for piece in shown if piece) >= 999  # shown as it comes, not at the end


def test_short_tokens_are_masked_as_whole_words_only() -> None:
    redact = Redactor(["test"])
    assert redact("the latest tests, and test.") == "the latest tests, and ***."
    assert not Redactor(["Token-ABC123"]) and not Redactor(["None"])  # placeholders, any case


def test_a_reference_completed_by_the_next_piece_is_masked_whole() -> None:
    secret = "sk-0123456789abcdef"
    mask = StreamMask(Redactor([secret]))
    references = "".join(f"&#{ord(c)};" for c in secret)
    shown = mask.feed(f"key {references[:-1]}") + mask.feed("; done") + mask.flush()
    assert shown == "key *** done"


def _through_tool_calls(mask: StreamMask, pieces: list[str]) -> str:
    """What a reply shows when a tool call comes after each piece (each one flushes)."""
    return "".join(mask.feed(piece) + mask.flush() for piece in pieces)


@pytest.mark.parametrize("size", [1, 2, 5, 12, 20])
def test_a_secret_cut_by_tool_calls_never_shows_half_of_itself(size: int) -> None:
    secret = "sk-ABCDEFGHIJKLMNOPQRSTUV"
    redact = Redactor([secret])
    text = f"key {secret} end"
    shown = _through_tool_calls(
        StreamMask(redact), [text[i : i + size] for i in range(0, len(text), size)]
    )
    assert shown.startswith("key ") and shown.endswith(" end")
    for start in range(len(secret)):
        assert secret[start : start + redact.revealing] not in shown


def test_a_secret_after_an_ampersand_is_masked_when_the_reply_ends() -> None:
    secret = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    mask = StreamMask(Redactor([secret]))
    assert mask.feed(f"key: &{secret}") + mask.flush() == "key: &***"


def test_a_run_of_invisible_characters_ends_a_possible_secret() -> None:
    mask = StreamMask(Redactor(["sk-" + "9" * 24]))
    assert mask.feed("the files") == "the file"
    shown = [mask.feed("\u200b") for _ in range(100)]
    assert "".join(shown).startswith("s") and sum(1 for piece in shown if piece) > 80


def test_a_short_token_inside_a_word_is_not_held_back() -> None:
    mask = StreamMask(Redactor(["test18"]))
    assert mask.feed("the lat") + mask.feed("est tests") + mask.flush() == "the latest tests"
