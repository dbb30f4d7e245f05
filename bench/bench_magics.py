"""How much `%%chat` sends on IOPub while a reply streams into a cell.

Runs a real kernel against the reference server and counts every IOPub byte of the cell (a
plain ZMQ subscriber, envelopes included). Per scenario: IOPub bytes / reply bytes (target
<= 4) and IOPub messages in the busiest one-second window (target <= 30; Jupyter's own rate
limit averages over a window too).

Scenarios are DELTAS x SIZE @ MS between deltas (0 = as fast as the server sends).

    python bench/bench_magics.py [--scenarios 500x20@10,10000x10@1,10000x10@0]
"""

from __future__ import annotations

import argparse

from kernel import Kernel, busiest_second

from nbchat.server import start_server

DEFAULT = "500x20@10,10000x10@1,10000x10@0"


def parse(scenarios: str) -> list[tuple[int, int, int]]:
    out = []
    for item in scenarios.split(","):
        counts, _, delay = item.partition("@")
        deltas, _, size = counts.partition("x")
        out.append((int(deltas), int(size), int(delay or 0)))
    return out


def run(scenarios: list[tuple[int, int, int]]) -> list[str]:
    rows = []
    with start_server() as server, Kernel() as kernel:
        kernel.run("%load_ext nbchat")
        kernel.run(f"%chat_connect {server.url} --model demo --user-id bench")
        for deltas, size, delay in scenarios:
            messages = kernel.run(f"%%chat -o r\n/stream {deltas} {size} {delay}")
            assert kernel.eval("r.status") == "'complete'"
            reply_bytes = int(kernel.eval("len(r.text.encode())"))
            total = sum(m.size for m in messages)
            seconds = messages[-1].at - messages[0].at
            pace = "fast" if delay == 0 else f"{delay} ms apart"
            rows.append(
                f"%%chat: IOPub bytes / reply bytes, {reply_bytes / 1000:g} KB in {deltas:,} "
                f"deltas {pace} | {total / reply_bytes:.2f} ({len(messages)} messages in "
                f"{seconds:.1f} s, busiest second {busiest_second([m.at for m in messages])}) "
                "| <= 4, <= 30/s"
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=DEFAULT, help="DELTASxSIZE@MS, comma-separated")
    args = parser.parse_args()
    for row in run(parse(args.scenarios)):
        print(row)


if __name__ == "__main__":
    main()
