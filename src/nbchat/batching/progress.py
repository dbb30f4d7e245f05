"""A batch's progress bar: tqdm's notebook bar in Jupyter, its text bar in a terminal.

The bar redraws at most once per `interval` seconds whatever the row rate, so a 100,000-row
batch sends Jupyter a handful of messages a second, far below its IOPub rate limit.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigurationError

#: Seconds between redraws of the bar.
REDRAW_INTERVAL = 0.5


class ProgressBar:
    """Counts finished rows: done (ok + failed), failed, rate and ETA."""

    def __init__(self, total: int, done: int, failed: int, interval: float = REDRAW_INTERVAL):
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ConfigurationError(
                "the progress bar needs tqdm: pip install 'nbchat[batch]', or pass progress=False"
            ) from None
        self.failed = failed
        self._bar: Any = tqdm(
            total=total,
            initial=done,
            desc="nbchat batch",
            unit="row",
            mininterval=interval,
            maxinterval=max(interval, 10.0),
            smoothing=0.1,
            dynamic_ncols=True,
        )
        self._show_failed(refresh=True)

    def row_done(self, failed: bool) -> None:
        if failed:
            self.failed += 1
            self._show_failed(refresh=False)  # shown at the next redraw
        self._bar.update(1)

    def close(self, stopped: bool) -> None:
        if stopped:
            self._bar.set_description("nbchat batch (stopped)", refresh=False)
        self._bar.close()

    def _show_failed(self, refresh: bool) -> None:
        self._bar.set_postfix_str(f"failed={self.failed}", refresh=refresh)
