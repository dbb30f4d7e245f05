"""Every streaming-cost figure in one run: widget (soak and paced), `%%chat`, client, browser.

Each row prints as `measurement | figure | target`. The parts run one after another, so they
do not load the machine for each other.

    python bench/run_all.py [--turns 1000] [--paces 0,5,10]
        [--magics 500x20@10,10000x10@1,10000x10@0] [--client-rounds 9] [--browser-rounds 10]
        [--skip browser,client,...]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_client
import bench_magics
import bench_widget_browser
import bench_widget_comm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000, help="widget soak: conversation length")
    parser.add_argument("--paces", default="0,5,10", help="widget: ms between deltas")
    parser.add_argument("--magics", default=bench_magics.DEFAULT, help="DELTASxSIZE@MS,...")
    parser.add_argument("--client-deltas", type=int, default=100_000)
    parser.add_argument("--client-rounds", type=int, default=9)
    parser.add_argument("--browser-rounds", type=int, default=10)
    parser.add_argument("--browser-delay-ms", type=int, default=0)
    parser.add_argument("--skip", default="", help="leave out: widget,magics,client,browser")
    args = parser.parse_args()
    skip = set(args.skip.split(","))

    parts = {
        "widget": lambda: bench_widget_comm.run(
            args.turns, [int(p) for p in args.paces.split(",") if p]
        ),
        "magics": lambda: bench_magics.run(bench_magics.parse(args.magics)),
        "client": lambda: bench_client.run(args.client_deltas, args.client_rounds),
        "browser": lambda: bench_widget_browser.run(
            args.browser_rounds, delay_ms=args.browser_delay_ms
        ),
    }
    print("measurement | figure | target")
    for name, part in parts.items():
        if name in skip:
            continue
        started = time.monotonic()
        for row in part():
            print(row, flush=True)
        print(f"  ({name}: {time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
