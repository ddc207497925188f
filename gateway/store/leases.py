"""Partition leases: which gateway process works which partitions, with Redis keys with TTLs.

Every process heartbeats in a members set and aims at its fair share of the partitions
(ceil(partitions / live members)). It takes free partitions up to that share (SET NX PX),
renews its own (compare-and-expire) every third of the lease, and hands back what is over
its share when another process joins: the partition's work is told to stop, finishes what
it is doing, and only then is the lease deleted. A process that dies stops renewing; its
leases expire and the others take its partitions within one lease period.

A process works partitions only while it can send their replies (`ready`: its transmitting
SMPP bind is up). Not ready, it leaves the members (so the others' fair share grows to cover
its part), takes nothing, keeps what it holds through a short outage (a reconnect), and hands
it all back once it has been unready for a whole lease; it joins again as soon as it is ready
(`wait_ready` wakes the loop). A process pointed at a wrong SMSC port thus holds nothing.

Unless no process is ready at all: after a lease with no ready member anywhere (the SMSC is
down for everyone), the unready processes share the partitions among themselves (the
standby set), so turns still run and HTTP USSD screens are still answered while SMS replies
queue; the first process to bind again takes over within a third of a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.errors import FOREIGN_RETRYABLE
from gateway.store.keys import Keys
from gateway.store.scripts import load_script, queue_script

log = logging.getLogger("gateway.store.leases")

# Runs a partition's work until its event is set (the partition is being handed over).
PartitionTask = Callable[[int, asyncio.Event], Coroutine[Any, Any, None]]


def _always() -> bool:
    return True


class PartitionLeases:
    def __init__(
        self, redis: Redis, keys: Keys, owner: str, lease_seconds: float,
        ready: Callable[[], bool] = _always, wait_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self.owner = owner
        self._lease_ms = int(lease_seconds * 1000)
        self._ready = ready
        self._wait_ready = wait_ready
        self._unready_since: float | None = None
        self._joined: str | None = None  # the members set we are in: ready or standby
        self._renew = load_script(redis, "renew_lease.lua")
        self._release = load_script(redis, "release_lease.lua")
        self._tasks: dict[int, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self.changed = asyncio.Event()
        self.release_grace_seconds = 5.0  # at the end of `run`: how long partitions may finish

    @property
    def owned(self) -> set[int]:
        return set(self._tasks)

    async def run(self, start_partition: PartitionTask, stopping: asyncio.Event) -> None:
        """Keep our share until `stopping`; then hand every partition back and return."""
        interval = self._lease_ms / 3000
        while not stopping.is_set():
            try:
                await self._tick(start_partition)
            except FOREIGN_RETRYABLE as exc:
                log.warning("lease renewal failed (%s)", type(exc).__name__)
            await self._pause(stopping, interval)
        await self._release_all(self.release_grace_seconds)

    async def _pause(self, stopping: asyncio.Event, seconds: float) -> None:
        """Until the next look: `seconds`, or sooner on a stop or, while not ready, on becoming
        ready (so a fresh bind takes its share at once)."""
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(stopping.wait())]
        if self._wait_ready is not None and not self._ready():
            waiters.append(asyncio.ensure_future(self._wait_ready()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _tick(self, start_partition: PartitionTask) -> None:
        if self._ready():
            self._unready_since = None
            share = await self._fair_share()
        else:
            share = await self._while_unready()
        mine = sorted(self._tasks)
        free = [p for p in range(self._keys.partitions) if p not in self._tasks]
        room = share - len(mine)
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in mine:
                key = self._keys.lease(partition)
                await queue_script(self._renew, pipe, [key], [self.owner, self._lease_ms])
            asked = free if room > 0 else []
            for partition in asked:
                pipe.set(self._keys.lease(partition), self.owner, nx=True, px=self._lease_ms)
            results = await pipe.execute()
        for partition, held in zip(mine, results[:len(mine)], strict=True):
            self._keep(partition, bool(held), start_partition)
        taken = [p for p, won in zip(asked, results[len(mine):], strict=True) if won]
        for partition in taken[:room]:
            self._start(partition, start_partition)
        for partition in taken[room:]:  # won more than our share in one go: give them back
            await self._release(keys=[self._keys.lease(partition)], args=[self.owner])
        await self._hand_back_extra(share)

    async def _while_unready(self) -> int:
        """Out of the ready members; after a lease unready, every partition handed back, or,
        when no process is ready anywhere, a share of them worked from the standby set. The
        share otherwise: what is still held (renewed, nothing taken)."""
        now = time.monotonic()
        if self._unready_since is None:
            self._unready_since = now
            log.log(logging.WARNING if self._tasks else logging.INFO,
                    "SMPP bind down: taking no partitions until it is up (holding %d)", len(self._tasks))
        if self._joined == self._keys.members():
            await self._leave()
        down_long = now - self._unready_since >= self._lease_ms / 1000
        if down_long and not await self._live(self._keys.members()):
            if self._joined is None:
                log.warning("no process has an SMPP bind: working partitions anyway (SMS replies "
                            "queue until a bind is up)")
            return await self._fair_share(self._keys.standby_members())
        if self._joined is not None:
            await self._leave()
        if self._tasks and down_long:
            log.warning("SMPP bind down for over a lease: handing back %d partitions", len(self._tasks))
            await asyncio.gather(*(self._hand_back(p) for p in sorted(self._tasks)))
        return len(self._tasks)

    async def _live(self, members: str) -> int:
        return int(await self._redis.zcount(members, int(time.time() * 1000), "+inf"))

    async def _leave(self) -> None:
        if self._joined is not None:
            await self._redis.zrem(self._joined, self.owner)
            self._joined = None

    async def _fair_share(self, members: str | None = None) -> int:
        """Heartbeat in `members` (the ready ones by default); ceil(partitions / live ones)."""
        members = members or self._keys.members()
        if self._joined not in (None, members):
            await self._leave()
        self._joined = members
        now_ms = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(members, {self.owner: now_ms + self._lease_ms})
            pipe.zremrangebyscore(members, "-inf", now_ms)
            pipe.zcard(members)
            pipe.pexpire(members, self._lease_ms * 10)
            _, _, live, _ = await pipe.execute()
        return math.ceil(self._keys.partitions / max(int(live), 1))

    def _keep(self, partition: int, held: bool, start_partition: PartitionTask) -> None:
        task, handed_over = self._tasks[partition]
        if not held:
            handed_over.set()
            task.cancel()  # the lease is gone: another process may already work it
            del self._tasks[partition]
            log.warning("lost partition %d", partition)
            self.changed.set()
        elif task.done():
            # A partition's work must never stop while we hold it: restart a crashed task.
            log.error("partition %d task ended (%r); restarting it", partition,
                      task.exception() if not task.cancelled() else "cancelled")
            del self._tasks[partition]
            self._start(partition, start_partition)

    def _start(self, partition: int, start_partition: PartitionTask) -> None:
        handed_over = asyncio.Event()
        task = asyncio.create_task(start_partition(partition, handed_over))
        self._tasks[partition] = (task, handed_over)
        log.info("took partition %d", partition)
        self.changed.set()

    async def _hand_back_extra(self, share: int) -> None:
        """All at once, each within its grace (shorter than a lease), so the leases we keep are
        renewed again before they could expire."""
        extra = sorted(self._tasks)[share:]
        await asyncio.gather(*(self._hand_back(partition) for partition in extra))
        for partition in extra:
            log.info("handed partition %d back (fair share %d)", partition, share)

    async def _hand_back(self, partition: int, grace_seconds: float | None = None) -> None:
        grace_seconds = grace_seconds if grace_seconds is not None else self._lease_ms / 3000
        task, handed_over = self._tasks.pop(partition)
        handed_over.set()
        _done, late = await asyncio.wait([task], timeout=grace_seconds)
        for straggler in late:
            straggler.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await self._release(keys=[self._keys.lease(partition)], args=[self.owner])
        self.changed.set()

    def abandon(self) -> None:
        """Cancel every partition's work at once and forget it (a stop out of time)."""
        for task, handed_over in self._tasks.values():
            handed_over.set()
            task.cancel()
        self._tasks.clear()

    async def _release_all(self, grace_seconds: float = 5.0) -> None:
        """Stop the partition tasks (they finish their current entry) and free the leases."""
        try:
            await asyncio.gather(*(self._hand_back(p, grace_seconds) for p in list(self._tasks)))
        except RedisError:
            log.warning("could not release leases; they expire by themselves")
        with contextlib.suppress(RedisError):
            await self._leave()
        self._tasks.clear()
