"""Event throughput of nbchat's stream against a bare httpx-sse loop over the same bytes.

A loopback server (in a process of its own) answers every request with the same prebuilt SSE
body, so the client side is what is measured: for the agents dialect N `text` deltas and a
`done`; for the openai dialect N `chat.completion.chunk`s with content deltas, a finishing
chunk, a usage chunk and `data: [DONE]`. Prints events/s for both loops and their ratio, best of
interleaved rounds (targets: agents >= 0.95, openai >= 0.9).

    python bench/bench_client.py [--deltas 100000] [--rounds 9] [--dialect agents|openai|all]
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


def openai_body(deltas: int) -> bytes:
    """Chunks shaped as OpenAI sends them (with `usage: null` when usage was asked for)."""

    def chunk(delta: dict, finish: str | None = None) -> dict:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": "bench",
            "system_fingerprint": None,
            "choices": [choice],
            "usage": None,
        }

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": f"w{i % 10} "}) for i in range(deltas)]
    events.append(chunk({}, "stop"))
    usage = {"prompt_tokens": 1, "completion_tokens": deltas, "total_tokens": deltas + 1}
    events.append({**chunk({}), "choices": [], "usage": usage})
    lines = [f"data: {json.dumps(e, separators=(',', ':'))}\n\n" for e in events]
    return "".join([*lines, "data: [DONE]\n\n"]).encode()


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


BODIES = {"agents": sse_body, "openai": openai_body}


def _serve(dialect: str, deltas: int, ports: multiprocessing.Queue) -> None:
    _Handler.body = BODIES[dialect](deltas)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    ports.put(server.server_address[1])
    server.serve_forever()


def serve(dialect: str, deltas: int) -> tuple[multiprocessing.Process, str]:
    """The server in a process of its own, so it does not share this process's GIL (a client
    that reads faster would otherwise wait on the server thread, and measure that)."""
    ports: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_serve, args=(dialect, deltas, ports), daemon=True)
    process.start()
    return process, f"http://127.0.0.1:{ports.get(timeout=30)}"


def bare_openai_loop(client: httpx.Client, url: str, loads=json.loads) -> tuple[int, str]:
    """The same by hand for Chat Completions chunks: content deltas, usage, [DONE]."""
    parts: list[str] = []
    count = 0
    body = {"model": "bench", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx_sse.connect_sse(client, "POST", f"{url}/chat/completions", json=body) as source:
        for sse in source.iter_sse():
            if sse.data == "[DONE]":
                count += 1
                break
            payload = loads(sse.data)
            for choice in payload["choices"]:
                content = choice["delta"].get("content")
                if content:
                    parts.append(content)
                    count += 1
    return count, "".join(parts)


def bare_loop(client: httpx.Client, url: str, loads=json.loads) -> tuple[int, str]:
    """What a careful user would write by hand with httpx-sse."""
    parts: list[str] = []
    count = 0
    body = {"agent_id": "ag", "message": "hi"}
    with httpx_sse.connect_sse(client, "POST", f"{url}/chat/stream", json=body) as source:
        for sse in source.iter_sse():
            payload = loads(sse.data)
            count += 1
            if payload["type"] == "text":
                parts.append(payload["content"])
            elif payload["type"] == "done":
                break
    return count, "".join(parts)


def new_chat(url: str, dialect: str) -> nbchat.Chat:
    if dialect == "openai":
        return nbchat.Chat(url, dialect="openai", model="bench", token="bench")
    return nbchat.Chat(url, dialect="agents", agent_id="ag")


def nbchat_loop(chat: nbchat.Chat) -> tuple[int, str]:
    chat.new()  # each round starts a conversation, as the bare loop keeps nothing either
    count = 0
    with chat.stream("hi") as events:
        for event in events:
            # Count what the bare loop counts: text deltas and the end (the openai dialect
            # also yields a start event, which the bare loop has no equivalent of).
            count += event.type in ("text", "done")
    return count, events.reply.text


def rate(loop) -> tuple[float, float, int, str]:
    """Events per second of wall time, and per second of this thread's CPU time (the loop runs
    here, the server in another process: CPU time leaves out waits and other processes' load)."""
    started, cpu = time.perf_counter(), time.thread_time()
    count, text = loop()
    return count / (time.perf_counter() - started), count / (time.thread_time() - cpu), count, text


def run(deltas: int, rounds: int, dialect: str = "agents") -> list[str]:
    """Interleaved rounds (bare, nbchat, bare with orjson), so load on the machine hits all
    three alike; the best of each is compared. Each side makes its HTTP client once, before
    the rounds: building one costs ~20 ms of CPU (httpx reads the CA bundle), which nbchat
    does once per process, and which a per-round client would charge the bare loop alone."""
    server, url = serve(dialect, deltas)
    bare_ = bare_openai_loop if dialect == "openai" else bare_loop
    best = {"bare": [0.0, 0.0], "ours": [0.0, 0.0], "fast": [0.0, 0.0]}  # [wall, cpu]
    client, chat = httpx.Client(timeout=60), new_chat(url, dialect)
    loops = {
        "bare": lambda: bare_(client, url),
        "ours": lambda: nbchat_loop(chat),
        "fast": lambda: bare_(client, url, orjson.loads),
    }
    try:
        for _ in range(rounds):
            results = {name: rate(loop) for name, loop in loops.items()}
            assert results["ours"][2:] == results["bare"][2:], "the loops disagree"
            for name, (wall, cpu, _, _) in results.items():
                best[name] = [max(best[name][0], wall), max(best[name][1], cpu)]
    finally:
        client.close()
        chat.close()
        server.terminate()
    (bare, bare_cpu), (ours, ours_cpu), (fast, _) = best["bare"], best["ours"], best["fast"]
    target = ">= 0.9" if dialect == "openai" else ">= 0.95"
    return [
        f"client ({dialect}): events/s, nbchat / bare httpx-sse loop, best of {rounds} "
        f"interleaved | {ours / bare:.2f} ({ours:,.0f} vs {bare:,.0f} events/s; per CPU second "
        f"of the loop's thread {ours_cpu / bare_cpu:.2f}; vs a bare loop with orjson "
        f"{ours / fast:.2f}) | {target}"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--dialect", choices=["agents", "openai", "all"], default="all")
    args = parser.parse_args()
    for dialect in ("agents", "openai") if args.dialect == "all" else (args.dialect,):
        for row in run(args.deltas, args.rounds, dialect):
            print(row)


if __name__ == "__main__":
    main()
