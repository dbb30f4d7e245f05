"""What a ChatWidget costs in a real kernel: per turn over a long conversation, and per byte.

Soak: one ChatWidget in a real kernel sends `--turns` short turns (`/echo`, 114 bytes each) to
the reference server; every comm message on IOPub is counted and split per turn, and the
kernel's CPU time (all its threads) is read every 100 turns. Targets: turn N costs the same as
turn 1 (±10%), CPU per 100 turns flat (±20%).

Paced: a 100 KB reply in 10,000 deltas at each `--paces` (ms between deltas; 0 = as fast as the
server sends). Comm bytes (the comm data as Jupyter packs it; envelopes are the kernel's fixed
cost per message and are shown apart) ÷ reply bytes, target <= 1.2; messages in the busiest
second, target <= 30.

    python bench/bench_widget_comm.py [--turns 1000] [--paces 0,5,10]
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

from kernel import Kernel, Message, busiest_second

from nbchat.server import start_server

#: A short reply: the demo server echoes it back.
SHORT = "/echo " + "The quick brown fox jumps over the lazy dog. " * 2 + "Pack my box with jugs."

_SETUP = """
import time, nbchat
from nbchat.widget import ChatWidget
_bench_widget = ChatWidget(nbchat.Chat({url!r}, dialect="chats", user_id="bench", model="demo"))
# A view opens, as in JupyterLab: its first message asks for a sync (js/src/widget.ts). Until
# one has, the widget sends the transcript as state (what a headless run saves).
_bench_widget._on_view_message(None, {{"type": "sync", "have": 0, "last": None}}, None)
_bench_cpu = []
"""
_SOAK = """
_t = time.process_time()
for _i in range({turns}):
    _bench_widget.ask({prompt!r})
    assert _bench_widget.wait().status == "complete"
    if (_i + 1) % 100 == 0:
        _bench_cpu.append(time.process_time() - _t)
        _t = time.process_time()
"""
_ONE = """
_bench_widget.new()
_bench_widget.ask({prompt!r})
_bench_reply = _bench_widget.wait()
assert _bench_reply.status == "complete", _bench_reply
"""


@dataclass
class TurnCost:
    data_bytes: int  # comm data as Jupyter packs it
    wire_bytes: int  # the whole IOPub message, envelope included
    messages: int
    busiest: int  # messages in the busiest second


def turn_costs(messages: list[Message]) -> list[TurnCost]:
    """Split comm traffic into turns: each starts with the widget's status -> "streaming"."""
    turns: list[list[Message]] = []
    for m in messages:
        if m.kind != "comm_msg" or m.summary is None:
            continue
        if m.summary["method"] == "update" and m.summary["status"] == "streaming":
            turns.append([])
        if turns:
            turns[-1].append(m)
    return [
        TurnCost(
            sum(m.data_size for m in turn),
            sum(m.size for m in turn),
            len(turn),
            busiest_second([m.at for m in turn]),
        )
        for turn in turns
    ]


def soak(kernel: Kernel, turns: int) -> tuple[list[TurnCost], list[float]]:
    messages = kernel.run(_SOAK.format(turns=turns, prompt=SHORT))
    cpu = [float(x) for x in kernel.eval("_bench_cpu")[1:-1].split(",") if x.strip()]
    return turn_costs(messages), cpu


def paced(kernel: Kernel, delay_ms: int, deltas: int = 10_000, size: int = 10) -> TurnCost:
    messages = kernel.run(_ONE.format(prompt=f"/stream {deltas} {size} {delay_ms}"))
    (cost,) = turn_costs(messages)
    return cost


def run(turns: int, paces: list[int]) -> list[str]:
    """The table rows: (measurement, figure, target) as printable lines."""
    rows = []
    with start_server() as server, Kernel() as kernel:
        kernel.run(_SETUP.format(url=server.url))
        costs, cpu = soak(kernel, turns)
        first, last = costs[0], costs[-1]
        growth = last.data_bytes / first.data_bytes
        rows.append(
            f"widget: comm bytes of turn 1 / turn {turns} (short replies) | "
            f"{first.data_bytes:,} / {last.data_bytes:,} B (x{growth:.2f}"
            f"; wire {first.wire_bytes:,} / {last.wire_bytes:,} B) | same (±10%)"
        )
        total = sum(c.data_bytes for c in costs)
        rows.append(f"widget: comm bytes over {turns} turns | {total / 1e6:.2f} MB | O(turns)")
        if cpu:
            shown = " ".join(f"{c:.2f}" for c in cpu)
            k = min(3, len(cpu))
            trend = statistics.mean(cpu[-k:]) / statistics.mean(cpu[:k])
            rows.append(
                f"widget: kernel CPU per 100 turns | {shown} s (last {k} / first {k}: "
                f"{trend:.2f}; max/min {max(cpu) / min(cpu):.2f}) | flat (±20%)"
            )
        for delay in paces:
            cost = paced(kernel, delay)
            label = "fast" if delay == 0 else f"{delay} ms apart"
            rows.append(
                f"widget: comm bytes / reply bytes, 100 KB {label} | "
                f"{cost.data_bytes / 100_000:.2f} ({cost.messages} messages, busiest second "
                f"{cost.busiest}; wire incl. envelopes {cost.wire_bytes / 100_000:.2f}) | <= 1.2"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--paces", default="0,5,10", help="ms between deltas, comma-separated")
    args = parser.parse_args()
    for row in run(args.turns, [int(p) for p in args.paces.split(",") if p]):
        print(row)


if __name__ == "__main__":
    main()
