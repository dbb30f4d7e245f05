"""A 10,000-row `nbchat.batch` in a real kernel against the reference server.

Prints rows per second against the ideal (`concurrency` / one row's latency on an idle
server), the kernel's memory growth, and the IOPub messages the progress bar sent (busiest
one-second window, and the average). The server runs in this process, the batch in the
kernel, so the two do not share an interpreter.

    .venv/bin/python bench/bench_batch.py [--rows 10000] [--concurrency 8] [--delay 0.05]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import Counter
from datetime import datetime
from typing import Any

import psutil
from jupyter_client.manager import KernelManager

import nbchat
from nbchat.server import start_server

PROMPT = "/echo row {n}"  # two words: two streamed steps, each `delay` apart


def row_latency(url: str, samples: int = 20) -> float:
    """Median seconds for one row alone: a fresh conversation, one streamed reply."""
    chat = nbchat.Chat(url, dialect="agents", agent_id="ag_demo")
    times = []
    for n in range(samples):
        began = time.perf_counter()
        chat.fork().send(PROMPT.format(n=n))
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def run(kc: Any, code: str, timeout: float = 1800) -> list[dict[str, Any]]:
    """Execute `code`; its IOPub messages, once the kernel is idle again."""
    msg_id = kc.execute(code)
    messages = []
    while True:
        message = kc.get_iopub_msg(timeout=timeout)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(message)
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    assert reply["content"]["status"] == "ok", reply["content"]
    return messages


def seconds(date: datetime | str) -> float:
    if isinstance(date, str):
        date = datetime.fromisoformat(date.replace("Z", "+00:00"))
    return date.timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.05, help="server seconds per step")
    args = parser.parse_args()

    with start_server(delay=args.delay) as server:
        latency = row_latency(server.url)
        ideal = args.concurrency / latency
        km = KernelManager(kernel_name="python3")
        km.start_kernel(env={k: v for k, v in os.environ.items() if not k.startswith("NBCHAT_")})
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            kernel = psutil.Process(km.provisioner.pid)  # type: ignore[union-attr]
            run(kc, "import nbchat\n")
            run(
                kc,
                f"chat = nbchat.Chat({server.url!r}, dialect='agents', agent_id='ag_demo')\n"
                f"rows = [{{'n': i}} for i in range({args.rows})]\n"
                "warm = nbchat.batch(chat, 'hello {n}', rows[:20], progress=False)",
            )
            before = kernel.memory_info().rss
            cpu_before = sum(kernel.cpu_times()[:2])
            began = time.perf_counter()
            messages = run(
                kc,
                f"results = nbchat.batch(chat, {PROMPT!r}, rows, concurrency={args.concurrency})",
            )
            took = time.perf_counter() - began
            after = kernel.memory_info().rss
            cpu = sum(kernel.cpu_times()[:2]) - cpu_before
            run(kc, "assert results.state == 'done' and results.progress.failed == 0, results")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)

    times = [seconds(m["header"]["date"]) for m in messages]
    span = times[-1] - times[0]
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    kinds = dict(Counter(m["msg_type"] for m in messages))
    rate = args.rows / took
    print(f"{args.rows:,} rows, concurrency {args.concurrency}, server delay {args.delay} s/step")
    print(f"  one row alone (median)       {latency * 1000:>10.1f} ms")
    print(f"  ideal (concurrency/latency)  {ideal:>10.1f} rows/s")
    print(f"  measured                     {rate:>10.1f} rows/s  ({rate / ideal:.0%} of ideal)")
    print(f"  cell time                    {took:>10.1f} s")
    print(f"  kernel CPU per row           {cpu / args.rows * 1000:>10.2f} ms")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  machine load average         {load:>10}  ({os.cpu_count()} cores)")
    grown = (after - before) / 2**20
    per_row = (after - before) / args.rows
    print(f"  kernel memory growth         {grown:>10.1f} MiB  ({per_row:,.0f} B/row, rows kept)")
    print(f"  IOPub messages               {len(messages):>10}  {kinds}")
    print(f"  IOPub messages, busiest 1 s  {busiest:>10}  (Jupyter's limit: 1000/s)")
    print(f"  IOPub messages / second      {len(messages) / span:>10.1f}")


if __name__ == "__main__":
    main()
