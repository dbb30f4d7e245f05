"""Outside Jupyter the progress bar is tqdm's text bar, redrawn at a bounded rate."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from nbchat.server import ServerHandle

ROWS = 600
SCRIPT = """
import sys, nbchat
chat = nbchat.Chat(sys.argv[1], dialect="agents", agent_id="ag_demo")
results = nbchat.batch(chat, "{text}", ["/fail"] + [f"/echo {i}" for i in range(599)])
print(results)
"""


def test_a_terminal_gets_a_text_bar_with_done_failed_rate_and_eta(server: ServerHandle) -> None:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, server.url], capture_output=True, text=True, timeout=300
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    summary = f"<BatchResults {ROWS} rows: {ROWS - 1} ok, 1 failed, 0 pending (done)>"
    assert done.stdout.strip() == summary
    # tqdm redraws with "\r"; the last draw ends with a newline.
    redraws = [line for line in re.split(r"[\r\n]+", done.stderr) if line.strip()]
    final = redraws[-1].strip()
    assert final.startswith("nbchat batch: 100%") and f"{ROWS}/{ROWS}" in final, final
    assert "row/s" in final and "failed=1" in final
    assert any("<" in line and "row/s" in line for line in redraws)  # elapsed<ETA, rate
    # Twice a second at most (and a few fixed draws), not once per row.
    assert len(redraws) <= 2 * took + 6, (len(redraws), took)
