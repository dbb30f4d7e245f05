"""Event throughput of nbchat's stream against a bare httpx-sse loop over the same bytes.

A loopback server answers every request with the same prebuilt SSE body (N agents `text`
deltas and a `done`), so the client side is what is measured. Prints events/s for both and
their ratio (target >= 0.95), best of interleaved rounds.

    python bench/bench_client.py [--deltas 100000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import httpx_sse
import orjson

import nbchat


def sse_body(deltas: int) -> bytes:
    events = [{"type": "text", "content": f"w{i % 10} "} for i in range(deltas)]
    events.append({"type": "done", "usage": {"input_tokens": 1, "output_tokens": deltas}})
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)


class _Handler(BaseHTTPRequestHandler):
    body = b""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


def _serve(deltas: int, ports: multiprocessing.Queue) -> None:
    _Handler.body = sse_body(deltas)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ports.put(server.server_address[1])
    server.serve_forever()


def serve(deltas: int) -> tuple[multiprocessing.Process, str]:
    """The server in a process of its own, so it does not share this process's GIL (a client
    that reads faster would otherwise wait on the server thread, and measure that)."""
    ports: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_serve, args=(deltas, ports), daemon=True)
    process.start()
    return process, f"http://127.0.0.1:{ports.get(timeout=30)}"


def bare_loop(url: str, loads=json.loads) -> tuple[int, str]:
    """What a careful user would write by hand with httpx-sse."""
    parts: list[str] = []
    count = 0
    with (
        httpx.Client(timeout=60) as client,
        httpx_sse.connect_sse(
            client, "POST", f"{url}/chat/stream", json={"agent_id": "ag", "message": "hi"}
        ) as source,
    ):
        for sse in source.iter_sse():
            payload = loads(sse.data)
            count += 1
            if payload["type"] == "text":
                parts.append(payload["content"])
            elif payload["type"] == "done":
                break
    return count, "".join(parts)


def nbchat_loop(url: str) -> tuple[int, str]:
    chat = nbchat.Chat(url, dialect="agents", agent_id="ag")
    count = 0
    with chat.stream("hi") as events:
        for _ in events:
            count += 1
    return count, events.reply.text


def rate(loop, url: str) -> tuple[float, float, int, str]:
    """Events per second of wall time, and per second of this thread's CPU time (the loop runs
    here, the server in another thread: CPU time leaves out waits and other processes' load)."""
    started, cpu = time.perf_counter(), time.thread_time()
    count, text = loop(url)
    return count / (time.perf_counter() - started), count / (time.thread_time() - cpu), count, text


def run(deltas: int, rounds: int) -> list[str]:
    """Interleaved rounds (bare, nbchat, bare with orjson), so load on the machine hits all
    three alike; the best of each is compared."""
    server, url = serve(deltas)
    best = {"bare": [0.0, 0.0], "ours": [0.0, 0.0], "fast": [0.0, 0.0]}  # [wall, cpu]
    loops = {"bare": bare_loop, "ours": nbchat_loop, "fast": lambda u: bare_loop(u, orjson.loads)}
    try:
        for _ in range(rounds):
            results = {name: rate(loop, url) for name, loop in loops.items()}
            assert results["ours"][2:] == results["bare"][2:], "the loops disagree"
            for name, (wall, cpu, _, _) in results.items():
                best[name] = [max(best[name][0], wall), max(best[name][1], cpu)]
    finally:
        server.terminate()
    (bare, bare_cpu), (ours, ours_cpu), (fast, _) = best["bare"], best["ours"], best["fast"]
    return [
        f"client: events/s, nbchat / bare httpx-sse loop, best of {rounds} interleaved | "
        f"{ours / bare:.2f} ({ours:,.0f} vs {bare:,.0f} events/s; per CPU second of the loop's "
        f"thread {ours_cpu / bare_cpu:.2f}; vs a bare loop with orjson {ours / fast:.2f}) | >= 0.95"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    for row in run(args.deltas, args.rounds):
        print(row)


if __name__ == "__main__":
    main()
