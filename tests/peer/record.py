"""Record real streams of the llama-cpp-python peer as fixtures for the fast unit tests.

    .venv/bin/python -m tests.peer.record

Writes the raw response bodies (SSE bytes, or JSON) to tests/client/fixtures/llama-cpp-python/,
one file per request in `REQUESTS`. Replies are deterministic (temperature 0, fixed seed), so
recording again gives the same files unless llama-cpp-python or the model changes.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx

from .llama import FORCE_WEATHER, MODEL, SEED, WEATHER, running_peer

FIXTURES = Path(__file__).resolve().parents[1] / "client" / "fixtures" / "llama-cpp-python"


def body(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": text}],
        "temperature": 0,
        "seed": SEED,
        **extra,
    }


STREAM = {"stream": True, "stream_options": {"include_usage": True}}

#: fixture file name -> request body
REQUESTS: dict[str, dict[str, Any]] = {
    "reply.sse": body("Name three colors.", max_tokens=24, **STREAM),
    "reply.json": body("Name three colors.", max_tokens=24),
    "length.sse": body("Tell me a story about a cat.", max_tokens=5, **STREAM),
    "tool_call.sse": body(
        "What is the weather in Paris?",
        tools=[WEATHER],
        tool_choice=FORCE_WEATHER,
        max_tokens=40,
        **STREAM,
    ),
}


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_peer(Path(scratch) / "server.log") as peer,
        httpx.Client(timeout=120) as client,
    ):
        for name, request in REQUESTS.items():
            with client.stream("POST", f"{peer.base_url}/chat/completions", json=request) as got:
                got.raise_for_status()
                (FIXTURES / name).write_bytes(got.read())
            print(f"recorded {name}")


if __name__ == "__main__":
    main()
