"""Partition leases: which gateway process works which partitions, with Redis keys with TTLs.

A process takes free partitions (SET NX PX) and renews its own (compare-and-expire) every third
of the lease; when it dies its leases expire and another process takes the partitions within
one lease period. Each owned partition gets a task from `start_partition`, cancelled on loss.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.keys import Keys

log = logging.getLogger("gateway.leases")

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

PartitionTask = Callable[[int], Coroutine[Any, Any, None]]


class PartitionLeases:
    def __init__(self, redis: Redis, keys: Keys, owner: str, lease_seconds: float) -> None:
        self._redis = redis
        self._keys = keys
        self.owner = owner
        self._lease_ms = int(lease_seconds * 1000)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self.changed = asyncio.Event()

    @property
    def owned(self) -> set[int]:
        return set(self._tasks)

    async def run(self, start_partition: PartitionTask, stopping: asyncio.Event) -> None:
        interval = self._lease_ms / 3000
        while not stopping.is_set():
            try:
                await self._tick(start_partition)
            except RedisError as exc:
                log.warning("lease renewal failed (%s)", type(exc).__name__)
            try:
                await asyncio.wait_for(stopping.wait(), interval)
            except TimeoutError:
                pass

    async def _tick(self, start_partition: PartitionTask) -> None:
        partitions = range(self._keys.partitions)
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in partitions:
                key = self._keys.lease(partition)
                if partition in self._tasks:
                    await self._renew(keys=[key], args=[self.owner, self._lease_ms], client=pipe)
                else:
                    pipe.set(key, self.owner, nx=True, px=self._lease_ms)
            results = await pipe.execute()
        for partition, held in zip(partitions, results):
            self._apply(partition, bool(held), start_partition)

    def _apply(self, partition: int, held: bool, start_partition: PartitionTask) -> None:
        task = self._tasks.get(partition)
        if held and task is not None and task.done():
            # A partition's work must never stop while we hold it: restart a crashed task.
            log.error("partition %d task ended (%r); restarting it", partition,
                      task.exception() if not task.cancelled() else "cancelled")
            del self._tasks[partition]
            task = None
        if held and task is None:
            self._tasks[partition] = asyncio.create_task(start_partition(partition))
            log.info("took partition %d", partition)
            self.changed.set()
        elif not held and task is not None:
            task.cancel()
            del self._tasks[partition]
            log.warning("lost partition %d", partition)
            self.changed.set()

    async def release_all(self, grace_seconds: float = 5.0) -> None:
        """Stop the partition tasks (they finish their current entry) and free the leases."""
        tasks = list(self._tasks.values())
        if tasks:
            _done, late = await asyncio.wait(tasks, timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            for partition in list(self._tasks):
                await self._release(keys=[self._keys.lease(partition)], args=[self.owner])
        except RedisError:
            log.warning("could not release leases; they expire by themselves")
        self._tasks.clear()
