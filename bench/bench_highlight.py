"""Worst-case time of the kernel's code highlighting on hostile code blocks.

A reply names a language and the kernel highlights its code with that Pygments lexer; some
lexers take exponential or quadratic time on crafted text. This prints, for every language in
`safe_html.HIGHLIGHT_LANGUAGES`, the slowest of a few hundred hostile blocks of N characters
(runs of one or two punctuation characters, after a quote, between words), so a change to the
list or to Pygments can be checked. A case that takes over a second is cut off and shown as
"> 1 s".

    python bench/bench_highlight.py [--chars 2000] [--languages python,json,...]
"""

from __future__ import annotations

import argparse
import signal
import time

from nbchat.safe_html import HIGHLIGHT_LANGUAGES, markdown_html

CHARS = list(" \t\"'\\/*(){}[]<>$#`-.,:=@%!?|&;\n0xe_")


class _Slow(Exception):
    pass


def _stop(*_: object) -> None:
    raise _Slow


def hostile(n: int) -> list[str]:
    blocks = []
    for c in CHARS:
        blocks += [c * n, "a" + c * n + "b(", '"' + c * n, "r'" + c * n]
        blocks += [(c + d) * (n // 2) for d in CHARS[:12]]
    return blocks


def worst(language: str, n: int) -> float:
    slowest = 0.0
    for block in hostile(n):
        fence = "~~~~" if "~" not in block else "````"
        source = f"{fence}{language}\n{block}\n{fence}"
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        try:
            markdown_html(source)
        except _Slow:
            return float("inf")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        slowest = max(slowest, time.perf_counter() - started)
    return slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=2000)
    parser.add_argument("--languages", default=",".join(sorted(HIGHLIGHT_LANGUAGES)))
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _stop)
    rows = [(worst(name, args.chars), name) for name in args.languages.split(",")]
    for seconds, name in sorted(rows, reverse=True):
        shown = "> 1 s" if seconds == float("inf") else f"{seconds * 1000:.0f} ms"
        print(f"{name:12} slowest hostile {args.chars}-character block: {shown}")


if __name__ == "__main__":
    main()
