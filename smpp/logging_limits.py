"""Rate-limited log lines for repeated peer misbehaviour: at most one line per kind per window.

An SMSC that misbehaves tends to do it thousands of times (a generic_nack storm, a stream of
undecodable PDUs). Each kind gets one line at once, then silence for ``interval`` seconds; when
the window ends a summary of what was held back is written (by a timer, when an event loop is
running; else by the first occurrence after it, before its own line), and `flush` (at stop)
writes the summaries still owed:

    limits = RateLimitedLog(logging.getLogger("smpp.client"), interval=60.0)
    limits.warning("generic_nack", "SMPP generic_nack for unknown sequence %d ignored", 7)
    ...                                     # 9,999 more within the minute: no lines
    limits.flush()                          # "generic_nack: 9,999 more in the last 60 s"

``counts`` counts every occurrence per kind (logged or not), for tests and metrics.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(slots=True)
class _Window:
    started: float
    level: int
    held_back: int = 0
    timer: asyncio.TimerHandle | None = None


class RateLimitedLog:
    def __init__(
        self, logger: logging.Logger, interval: float = 60.0, clock: Clock = time.monotonic
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0, got {interval}")
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self.counts: Counter[str] = Counter()

    def warning(self, kind: str, message: str, *args: object) -> None:
        self.log(logging.WARNING, kind, message, *args)

    def log(self, level: int, kind: str, message: str, *args: object) -> None:
        """Count one ``kind``; write the line unless one of that kind was written this window."""
        self.counts[kind] += 1
        now = self._clock()
        window = self._windows.get(kind)
        if window is not None and now - window.started < self._interval:
            window.held_back += 1
            if window.timer is None:
                window.timer = _later(self._interval - (now - window.started), self._due, kind)
            return
        if window is not None:
            self._summarise(kind, window, now)
        self._windows[kind] = _Window(now, level)
        self._logger.log(level, message, *args)

    def flush(self) -> None:
        """Write the summary of every kind that has lines held back, and start afresh."""
        now = self._clock()
        for kind, window in self._windows.items():
            self._summarise(kind, window, now)
        self._windows.clear()

    def _due(self, kind: str) -> None:
        """The window of ``kind`` is over: its summary now; its next occurrence is written."""
        window = self._windows.pop(kind, None)
        if window is not None:
            self._summarise(kind, window, self._clock())

    def _summarise(self, kind: str, window: _Window, now: float) -> None:
        if window.timer is not None:
            window.timer.cancel()
        if window.held_back:
            self._logger.log(window.level, "%s: %s more in the last %.0f s",
                             kind, f"{window.held_back:,}", now - window.started)


def _later(seconds: float, callback: Callable[[str], None], kind: str) -> asyncio.TimerHandle | None:
    """``callback(kind)`` in ``seconds`` on the running loop; None (no timer) outside one."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop.call_later(max(seconds, 0.0), callback, kind)
