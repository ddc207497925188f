"""The SMSC simulator's MT side: parts put together, and complete MTs kept for `await_mt`."""

from __future__ import annotations

import asyncio
import collections
import itertools
from typing import TypeAlias

from smpp.sim.pdus import MtMessage, Part

Entry: TypeAlias = tuple[int, MtMessage]  # (arrival number, the MT)


class MtInbox:
    """Complete MTs not yet returned by `await_mt`, per destination and in arrival order.

    A waiter for one number wakes only when that number gets an MT, so a load of subscribers
    each awaiting their own replies costs O(1) per MT, not a wake-up of every waiter.
    """

    def __init__(self) -> None:
        self._next = itertools.count()
        self._by_destination: collections.defaultdict[str | None, collections.deque[Entry]] = (
            collections.defaultdict(collections.deque)
        )
        self._arrived: collections.defaultdict[str | None, asyncio.Event] = (
            collections.defaultdict(asyncio.Event)
        )
        self._returned: set[int] = set()

    def put(self, message: MtMessage) -> None:
        entry = (next(self._next), message)
        for key in (message.destination, None):
            self._by_destination[key].append(entry)
            event = self._arrived.get(key)  # only a key someone waited on has one
            if event is not None:
                event.set()

    async def take(self, destination: str | None, timeout: float) -> MtMessage:
        async with asyncio.timeout(timeout):
            while (message := self._pop(destination)) is None:
                self._arrived[destination].clear()
                await self._arrived[destination].wait()
        return message

    def _pop(self, key: str | None) -> MtMessage | None:
        """Each MT sits in two queues, its destination's and everyone's (None): taken from one,
        it leaves the other too, at once when it is first there (the usual case, both being in
        arrival order), else when that queue reaches it. Nothing stays once taken."""
        queue = self._by_destination.get(key)
        message: MtMessage | None = None
        while queue and message is None:
            number, candidate = queue.popleft()
            if number in self._returned:
                self._returned.discard(number)  # taken from the other queue already
            else:
                message = candidate
                self._leave(None if key is not None else candidate.destination, number)
        while queue and queue[0][0] in self._returned:  # what the other queue took meanwhile
            self._returned.discard(queue.popleft()[0])
        if key is not None and not queue:
            self._by_destination.pop(key, None)
        return message

    def _leave(self, key: str | None, number: int) -> None:
        queue = self._by_destination.get(key)
        if queue and queue[0][0] == number:
            queue.popleft()
            if key is not None and not queue:
                del self._by_destination[key]
        else:
            self._returned.add(number)


class PartCollector:
    """Parts of concatenated MTs, per (source, destination, reference), until all are in."""

    def __init__(self) -> None:
        self._partial: dict[tuple[str, str, int], dict[int, Part]] = {}

    def add(self, part: Part) -> list[Part] | None:
        """Every part of the message once ``part`` completes it, in order; else None."""
        if part.concat is None or part.concat.total <= 1:
            return [part]
        key = (part.message.source.number, part.message.destination.number, part.concat.ref)
        received = self._partial.setdefault(key, {})
        received[part.concat.seq] = part
        if len(received) < part.concat.total:
            return None
        del self._partial[key]
        return [received[seq] for seq in sorted(received)]
