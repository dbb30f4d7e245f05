"""How much `%%chat` sends on IOPub while a reply streams into a cell.

Runs a real kernel against the reference server, listens to the kernel's IOPub socket with a
plain ZMQ subscriber (so every byte on the wire is counted), and prints, per scenario:
IOPub bytes / reply bytes (target <= 4) and IOPub messages per second (target <= 30), counted
in the busiest one-second window (Jupyter's own rate limit averages over a window too) and
also averaged over the cell, whose few fixed messages dominate when the cell is short.

    .venv/bin/python bench/bench_magics.py
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field

import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

from nbchat.server import start_server

#: (title, prompt, whether the issue's targets apply). The slower ones show the other side of
#: the trade-off: a reply that streams for seconds gets smooth updates, so its IOPub bytes grow
#: with its duration (at most ~32 KB/s of updates) rather than with its size alone.
SCENARIOS = [
    ("100 KB in 10,000 deltas, as fast as the server sends", "/stream 10000 10", True),
    ("10 KB in 200 deltas, 20 ms apart (~4 s)", "/stream 200 50 20", False),
    ("100 KB in 10,000 deltas, 1 ms apart (~10+ s)", "/stream 10000 10 1", False),
]


@dataclass
class Capture:
    """Raw IOPub traffic: (time, bytes, msg_type, parent msg_id) per message."""

    messages: list[tuple[float, int, str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


def listen(address: str, session: Session, capture: Capture) -> None:
    context = zmq.Context.instance()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.SUBSCRIBE, b"")
    socket.connect(address)
    poller = zmq.Poller()
    poller.register(socket, zmq.POLLIN)
    while not capture.stop.is_set():
        if not poller.poll(50):
            continue
        frames = socket.recv_multipart(copy=True)
        size = sum(len(frame) for frame in frames)
        _, parts = session.feed_identities(frames)
        message = session.deserialize(parts, content=False)
        parent = message["parent_header"].get("msg_id", "")
        capture.messages.append((time.monotonic(), size, message["msg_type"], parent))
    socket.close(linger=0)


def run_cell(kc, capture: Capture, code: str) -> list:  # type: ignore[no-untyped-def]
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=300)
    assert reply["content"]["status"] == "ok", reply["content"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait for the idle status of this cell on our socket
        mine = [m for m in capture.messages if m[3] == msg_id]
        if mine and mine[-1][2] == "status":
            return mine
        time.sleep(0.02)
    raise RuntimeError("idle status never seen")


def main() -> None:
    with start_server() as server:
        km = KernelManager(kernel_name="python3")
        km.start_kernel(env={k: v for k, v in os.environ.items() if not k.startswith("NBCHAT_")})
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        info = km.get_connection_info()
        session = Session(key=info["key"], signature_scheme=info["signature_scheme"])
        capture = Capture()
        address = f"{info['transport']}://{info['ip']}:{info['iopub_port']}"
        listener = threading.Thread(target=listen, args=(address, session, capture), daemon=True)
        listener.start()
        time.sleep(0.5)  # let the subscription settle before anything is measured
        try:
            run_cell(kc, capture, "%load_ext nbchat")
            run_cell(kc, capture, f"%chat_connect {server.url} --model demo --user-id bench")
            for title, prompt, targeted in SCENARIOS:
                messages = run_cell(kc, capture, f"%%chat -o r\n{prompt}")
                report(title, messages, kc, targeted)
        finally:
            capture.stop.set()
            kc.stop_channels()
            km.shutdown_kernel(now=True)


def report(title: str, messages: list, kc, targeted: bool) -> None:  # type: ignore[no-untyped-def]
    kc.execute("", user_expressions={"n": "len(r.text.encode())", "s": "r.status"})
    reply = kc.get_shell_msg(timeout=60)["content"]["user_expressions"]
    assert reply["n"]["status"] == "ok"
    assert reply["s"]["data"]["text/plain"] == "'complete'", reply
    reply_bytes = int(reply["n"]["data"]["text/plain"])
    total = sum(size for _, size, _, _ in messages)
    seconds = messages[-1][0] - messages[0][0]
    kinds: dict[str, int] = {}
    for _, _, kind, _ in messages:
        kinds[kind] = kinds.get(kind, 0) + 1
    print(f"{title}:")
    print(f"  reply bytes              {reply_bytes:>10,}")
    print(f"  IOPub bytes              {total:>10,}")
    target = "   (target <= 4)" if targeted else ""
    print(f"  IOPub bytes / reply      {total / reply_bytes:>10.2f}{target}")
    print(f"  IOPub messages           {len(messages):>10}   {kinds}")
    print(f"  cell time                {seconds:>10.2f} s")
    times = [at for at, _, _, _ in messages]
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    target = "   (target <= 30)" if targeted else ""
    print(f"  IOPub messages, busiest 1 s  {busiest:>8}{target}")
    print(f"  IOPub messages / cell second {len(messages) / seconds:>8.1f}")


if __name__ == "__main__":
    main()
