"""Partition leases between processes: fair shares, hand-over on join, take-over on death."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from gateway.store.keys import Keys
from gateway.store.leases import PartitionLeases

KEYS = Keys(partitions=6)
LEASE = 0.6


class Member:
    def __init__(self, redis: Redis, name: str) -> None:
        self.leases = PartitionLeases(redis, KEYS, name, LEASE)
        self.working: set[int] = set()
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _work(self, partition: int, handed_over: asyncio.Event) -> None:
        self.working.add(partition)
        try:
            await handed_over.wait()
        finally:
            self.working.discard(partition)

    def start(self) -> None:
        self.task = asyncio.create_task(self.leases.run(self._work, self.stop))

    async def until(self, count: int) -> None:
        """Wait on the lease changes until this member holds `count` partitions."""
        while len(self.leases.owned) != count:
            self.leases.changed.clear()
            await asyncio.wait_for(self.leases.changed.wait(), LEASE * 10)

    async def leave(self, politely: bool) -> None:
        assert self.task is not None
        if politely:
            self.stop.set()
            await self.task
        else:  # a crash: nothing is released, the leases just stop being renewed
            self.task.cancel()
            for task, _handed_over in self.leases._tasks.values():
                task.cancel()
            self.stop.set()


@contextlib.asynccontextmanager
async def members(redis_url: str, *names: str) -> AsyncIterator[list[Member]]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    group = [Member(redis, name) for name in names]
    try:
        yield group
    finally:
        for member in group:
            if not member.stop.is_set():
                await member.leave(politely=True)
        await redis.aclose()


async def test_one_process_takes_every_partition(redis_url: str) -> None:
    async with members(redis_url, "a") as (a,):
        a.start()
        await a.until(6)
        assert a.working == set(range(6))


async def test_a_joining_process_gets_its_fair_share(redis_url: str) -> None:
    async with members(redis_url, "a", "b") as (a, b):
        a.start()
        await a.until(6)
        b.start()
        await asyncio.gather(a.until(3), b.until(3))
        assert a.leases.owned.isdisjoint(b.leases.owned)
        assert a.working == a.leases.owned  # handed-back partitions stopped their work


async def test_a_dead_process_partitions_are_taken_over(redis_url: str) -> None:
    async with members(redis_url, "a", "b") as (a, b):
        a.start()
        b.start()
        await asyncio.gather(a.until(3), b.until(3))
        await a.leave(politely=False)
        await b.until(6)


async def test_a_leaving_process_hands_its_partitions_over(redis_url: str) -> None:
    async with members(redis_url, "a", "b") as (a, b):
        a.start()
        b.start()
        await asyncio.gather(a.until(3), b.until(3))
        await a.leave(politely=True)
        assert a.working == set()
        await b.until(6)
