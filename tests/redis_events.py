"""Waiting on what a gateway process does in Redis, through keyspace notifications.

    async with keyspace(db, keys.outbound(0), "xdel") as outbound:
        ...                                           # something makes the gateway reply
        await outbound.until(emptied(db, keys.outbound(0)))   # every reply acknowledged

The simulator sees a reply as soon as the SMSC accepts it; the gateway acknowledges it in
Redis a moment later. A test that must know the acknowledgement happened (before it kills
the process, say) waits on it here instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio

from gateway.store.keys import Keys
from smpp.receipts import canonical_id

KEYS = Keys()


class KeyEvents:
    """Wakes a test up each time the gateway runs a command on a key (see `keyspace`)."""

    def __init__(self) -> None:
        self._arrived = asyncio.Event()

    def notify(self) -> None:
        self._arrived.set()

    async def until(self, check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
        """Until `check()` holds, looking again after each command on the key."""
        async with asyncio.timeout(timeout):
            while True:
                self._arrived.clear()  # before the check: a command during it is not missed
                if await check():
                    return
                await self._arrived.wait()


@contextlib.asynccontextmanager
async def keyspace(db: redis.asyncio.Redis, key: str, command: str) -> AsyncIterator[KeyEvents]:
    """Redis keyspace notifications for `command` on `key`: "xdel" on an outbound stream is a
    reply acknowledged, "set" on a receipt key an accepted part remembered. Tests wait on
    what the gateway did, not on time."""
    await db.config_set("notify-keyspace-events", "K$tg")  # string, stream and generic (del)
    events = KeyEvents()
    pubsub = db.pubsub()
    await pubsub.subscribe(f"__keyspace@0__:{key}")

    async def listen() -> None:
        async for message in pubsub.listen():
            if message["type"] == "message" and message["data"] == command:
                events.notify()

    listener = asyncio.create_task(listen())
    try:
        yield events
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
        await pubsub.aclose()
        await db.config_set("notify-keyspace-events", "")


def emptied(db: redis.asyncio.Redis, stream: str) -> Callable[[], Awaitable[bool]]:
    """Whether every entry of `stream` is acknowledged (and deleted)."""
    async def check() -> bool:
        return await db.xlen(stream) == 0
    return check


async def remembered(db: redis.asyncio.Redis, message_id: str) -> bool:
    """Whether the receipt correlation of an accepted part is stored."""
    return bool(await db.exists(KEYS.receipt(canonical_id(message_id))))


def gone(db: redis.asyncio.Redis, key: str) -> Callable[[], Awaitable[bool]]:
    """Whether `key` no longer exists."""
    async def check() -> bool:
        return not await db.exists(key)

    return check
