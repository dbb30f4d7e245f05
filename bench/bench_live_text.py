"""Kernel-side cost of a long reply's text in the ChatWidget's bookkeeping of a live turn.

Folds N deltas into a Reply and the widget's live turn (as the Chat listener does, taking the
pending delta every 40 deltas as a flush would), then reads the whole text once (what a view's
sync or the commit does). Prints seconds per step and microseconds per delta; the work should
grow linearly with the reply (target: 1 MB in 100,000 deltas well under 1 s).

    python bench/bench_live_text.py [--deltas 100000] [--size 10]
"""

from __future__ import annotations

import argparse
import time

from nbchat.events import TextDelta
from nbchat.turn import Turn
from nbchat.widget import _LiveTurn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deltas", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=10)
    args = parser.parse_args()
    for deltas in (args.deltas // 10, args.deltas):
        turn = Turn("hi")
        live = _LiveTurn(turn, "t1")
        delta = TextDelta("x" * args.size)
        started = time.perf_counter()
        for index in range(deltas):
            turn.reply.add(delta)
            live.add(turn, delta)
            if index % 40 == 0:
                live.take()
        folded = time.perf_counter()
        live.take()  # as a sync does: the pending text counts as sent, then the snapshot
        text = live.snapshot()["text"]
        read = time.perf_counter()
        assert len(text) == deltas * args.size
        print(
            f"{deltas:>8,} deltas ({len(text) / 1e6:.2f} MB): fold {folded - started:.3f} s"
            f" ({(folded - started) / deltas * 1e6:.2f} us/delta), read {read - folded:.4f} s"
        )


if __name__ == "__main__":
    main()
