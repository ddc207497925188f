"""`EitherEvent`: set as soon as any of its events is set (a process stop or a partition
handed over), with the `is_set`/`wait` of an `asyncio.Event`, so loops watch one thing.
`exit_by`: the last resort that holds a stop to its deadline."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from typing import Protocol

log = logging.getLogger("gateway.stopping")


class Stopping(Protocol):
    """What a long-running loop watches to know it should finish."""

    def is_set(self) -> bool: ...

    async def wait(self) -> bool: ...


class EitherEvent:
    def __init__(self, *events: asyncio.Event) -> None:
        self._events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self._events)

    async def wait(self) -> bool:
        waiters = [asyncio.ensure_future(event.wait()) for event in self._events]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return True


def exit_by(seconds: float, code: int = 1) -> threading.Timer:
    """End the process `seconds` from now whatever it is doing (a daemon thread, so a blocked
    event loop cannot hold it up). Every wait of a graceful stop is bounded to end before;
    this only holds the promise (SIGTERM: out within service.shutdown_seconds) if one is not."""
    def overrun() -> None:
        # No logging.shutdown(): it takes the handlers' locks, which a stuck thread may hold.
        log.error("stop overran its %.1fs budget; exiting now", seconds)
        os._exit(code)

    timer = threading.Timer(seconds, overrun)
    timer.daemon = True
    timer.start()
    return timer
