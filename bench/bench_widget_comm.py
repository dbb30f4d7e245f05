"""What the ChatWidget sends over its comm while a long reply streams.

A 100 KB reply in 10,000 deltas (`/stream 10000 10` on the reference server, over loopback) is
streamed by a ChatWidget whose comm records every message it would publish to the front end.
Prints bytes sent over the comm (the comm data as Jupyter serializes it, message envelopes not
counted) / reply bytes (target <= 1.5), split into the streamed deltas and the one-time commit to
`messages`, and comm messages per second (target <= 30).

    python bench/bench_widget_comm.py [--deltas 10000] [--size 10] [--delay-ms 0]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import comm
from comm.base_comm import BaseComm
from jupyter_client.session import json_packer

import nbchat
from nbchat.server import start_server
from nbchat.widget import ChatWidget


class CountingComm(BaseComm):
    """Counts what the widget publishes: (time, method, bytes as Jupyter packs them)."""

    def __init__(self, **kwargs: Any) -> None:
        self.log: list[tuple[float, str, int]] = []
        super().__init__(**kwargs)

    def publish_msg(
        self,
        msg_type: str,
        data: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        buffers: list[bytes] | None = None,
        **keys: Any,
    ) -> None:
        size = len(json_packer(data or {}))
        size += sum(len(b) for b in buffers or [])
        self.log.append((time.monotonic(), (data or {}).get("method", msg_type), size))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deltas", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--delay-ms", type=int, default=0, help="server pause per delta")
    args = parser.parse_args()

    comm.create_comm = CountingComm  # type: ignore[assignment]
    with start_server() as server:
        chat = nbchat.Chat(server.url, dialect="chats", user_id="bench", model="gpt-4")
        widget = ChatWidget(chat)
        recorder = widget.comm
        assert isinstance(recorder, CountingComm)
        opened = len(recorder.log)
        started = time.monotonic()
        widget.ask(f"/stream {args.deltas} {args.size} {args.delay_ms}")
        reply = widget.wait()
        elapsed = time.monotonic() - started
        log = recorder.log[opened:]
        widget.close()
        chat.close()

    assert reply is not None and reply.status == "complete", reply
    reply_bytes = len(reply.text.encode())
    custom = [entry for entry in log if entry[1] == "custom"]
    updates = [entry for entry in log if entry[1] == "update"]
    custom_bytes = sum(size for _, _, size in custom)
    update_bytes = sum(size for _, _, size in updates)
    span = max(log[-1][0] - log[0][0], 1e-9)

    print(f"reply: {reply_bytes:,} bytes in {args.deltas:,} deltas, streamed in {elapsed:.2f} s")
    print(f"comm messages: {len(log)} ({len(custom)} custom, {len(updates)} state updates)")
    times = [t for t, _, _ in log]
    busiest = max(sum(1 for u in times if t <= u < t + 1) for t in times)
    print(f"comm messages in the busiest second: {busiest} (target <= 30)")
    average, average_custom = len(log) / span, len(custom) / span
    print(f"  average over the stream: {average:.1f}/s, custom only {average_custom:.1f}/s")
    print(f"bytes over the comm / reply bytes: {(custom_bytes + update_bytes) / reply_bytes:.3f}")
    print(f"  streamed deltas: {custom_bytes / reply_bytes:.3f}")
    print(f"  commit to `messages` + status: {update_bytes / reply_bytes:.3f}")


if __name__ == "__main__":
    main()
