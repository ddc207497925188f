"""`EitherEvent`: set as soon as any of its events is set (a process stop or a partition
handed over), with the `is_set`/`wait` of an `asyncio.Event`, so loops watch one thing."""

from __future__ import annotations

import asyncio
from typing import Protocol


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
