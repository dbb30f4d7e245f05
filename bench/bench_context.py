"""Cost of putting a kernel value into a message: it must not grow with the value's size.

Renders DataFrames, arrays, lists and strings of growing size through the formatter registry
(default cap, 4,000 characters) and prints the time per render and the rendered length. A
formatter reads only what it shows (the first rows, a sample), so the times should stay flat
while the values grow a thousandfold.

    python bench/bench_context.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from nbchat.context import Formatters


def values(scale: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((scale, 30)), columns=[f"c{i}" for i in range(30)])
    frame["label"] = [f"row {i}" for i in range(scale)]
    return {
        "DataFrame": frame,
        "Series": frame["c0"],
        "ndarray": rng.random((scale, 30)),
        "list": list(range(scale)),
        "str": "x" * scale,
    }


def timed(render: Callable[[], str], rounds: int) -> tuple[float, int]:
    best, text = float("inf"), ""
    for _ in range(rounds):
        started = time.perf_counter()
        text = render()
        best = min(best, time.perf_counter() - started)
    return best, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    formatters = Formatters()
    print(f"{'value':<10} {'rows/items':>10} {'best ms':>9} {'chars':>6}")
    for scale in (1_000, 100_000, 1_000_000):
        for kind, value in values(scale).items():
            seconds, length = timed(lambda v=value: formatters.render(v), args.rounds)
            print(f"{kind:<10} {scale:>10,} {seconds * 1000:>9.2f} {length:>6,}")


if __name__ == "__main__":
    main()
