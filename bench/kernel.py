"""A real IPython kernel whose IOPub traffic is counted byte for byte (shared by the benchmarks).

A plain ZMQ subscriber listens to the kernel's IOPub socket, so every frame on the wire is
counted, message envelopes included. `comm_msg` contents are decoded so widget traffic can be
split per turn.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session, json_packer


@dataclass
class Message:
    """One IOPub message: arrival time, bytes on the wire, type, parent msg_id, and for a
    comm_msg the bytes of its data as Jupyter packs it and a summary (`summarize`)."""

    at: float
    size: int
    kind: str
    parent: str
    data_size: int = 0
    summary: dict[str, Any] | None = None


@dataclass
class _Capture:
    messages: list[Message] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)


class Kernel:
    """`with Kernel() as k: k.run("code")` → the IOPub messages of that cell."""

    def __init__(self) -> None:
        self._km = KernelManager(kernel_name="python3")
        self._capture = _Capture()
        self._listener: threading.Thread | None = None

    def __enter__(self) -> Kernel:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NBCHAT_")}
        self._km.start_kernel(env=env)
        self.client = self._km.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        info = self._km.get_connection_info()
        session = Session(key=info["key"], signature_scheme=info["signature_scheme"])
        address = f"{info['transport']}://{info['ip']}:{info['iopub_port']}"
        self._listener = threading.Thread(target=self._listen, args=(address, session), daemon=True)
        self._listener.start()
        time.sleep(0.5)  # let the subscription settle before anything is measured
        return self

    def __exit__(self, *exc: object) -> None:
        self._capture.stop.set()
        self.client.stop_channels()
        self._km.shutdown_kernel(now=True)

    def _listen(self, address: str, session: Session) -> None:
        socket = zmq.Context.instance().socket(zmq.SUB)
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        socket.connect(address)
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        while not self._capture.stop.is_set():
            if not poller.poll(50):
                continue
            frames = socket.recv_multipart(copy=True)
            size = sum(len(frame) for frame in frames)
            _, parts = session.feed_identities(frames)
            message = session.deserialize(parts, content=False)
            kind = message["msg_type"]
            at, parent = time.monotonic(), message["parent_header"].get("msg_id", "")
            entry = Message(at, size, kind, parent)
            if kind == "comm_msg":
                data = session.unpack(message["content"]).get("data") or {}
                entry.data_size, entry.summary = len(json_packer(data)), summarize(data)
            self._capture.messages.append(entry)
        socket.close(linger=0)

    def run(self, code: str, timeout: float = 900) -> list[Message]:
        """Run a cell; its IOPub messages, up to and including its idle status."""
        msg_id = self.client.execute(code)
        reply = self._reply(msg_id, timeout)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"cell failed: {reply['content']}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # wait for this cell's idle status on our socket
            mine = [m for m in self._capture.messages if m.parent == msg_id]
            if mine and mine[-1].kind == "status":
                return mine
            time.sleep(0.02)
        raise RuntimeError("idle status never seen")

    def _reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        while True:
            reply = self.client.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply

    def eval(self, expression: str) -> str:
        """repr() of an expression in the kernel."""
        msg_id = self.client.execute("", user_expressions={"x": expression})
        result = self._reply(msg_id, 60)["content"]["user_expressions"]["x"]
        if result["status"] != "ok":
            raise RuntimeError(f"{expression}: {result}")
        return str(result["data"]["text/plain"])


def summarize(data: dict[str, Any]) -> dict[str, Any]:
    """What the benchmarks look at in a comm message, without keeping its (maybe large) text:
    the method, the `status` of a state update, the type of a custom message."""
    content = data.get("content")
    kind = content[0] if isinstance(content, list) and content else None
    if isinstance(content, dict):
        kind = content.get("type")
    return {
        "method": data.get("method"),
        "status": (data.get("state") or {}).get("status"),
        "type": kind,
    }


def busiest_second(times: list[float]) -> int:
    """The most messages in any one-second window starting at a message."""
    return max((sum(1 for t in times if start <= t < start + 1.0) for start in times), default=0)
