"""gateway.store.streams.consume against a real redis-server: entries handed over in order, and
none stranded when a read's answer is lost after Redis handed its entries over."""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.store.streams import Entry, consume

STREAM, GROUP = "in", "workers"


class AnswerLostOnce:
    """A client whose first XREADGROUP that hands entries over runs on Redis, and whose answer
    then never arrives (the connection dropped): the entries are pending, the caller gets an
    error."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def xreadgroup(self, *args: Any, **kwargs: Any) -> Any:
        reply = await self._client.xreadgroup(*args, **kwargs)
        if reply and reply[0][1] and not self.lost:
            self.lost += 1
            raise RedisConnectionError("connection lost before the answer")
        return reply


async def test_entries_of_a_lost_answer_are_read_again_from_the_pending_list(
    redis_client: redis.asyncio.Redis,
) -> None:
    client = AnswerLostOnce(redis_client)
    stopping, wake = asyncio.Event(), asyncio.Event()
    handled: list[str] = []
    all_in = asyncio.Event()

    async def handle(entry: Entry) -> None:
        handled.append(entry[1]["n"])
        await redis_client.xack(STREAM, GROUP, entry[0])
        if len(handled) == 3:
            all_in.set()

    reader: Any = client  # the client's stand-in, as consume types it
    task = asyncio.create_task(consume(reader, STREAM, GROUP, handle, lambda entry: "one", stopping,
                                       block_ms=50, wake=wake))
    for n in "123":
        await redis_client.xadd(STREAM, {"n": n})
    wake.set()
    await asyncio.wait_for(all_in.wait(), 10)
    stopping.set()
    await asyncio.wait_for(task, 10)
    assert client.lost == 1
    assert handled == ["1", "2", "3"]  # each once, in order: none stranded in the pending list
    assert (await redis_client.xpending(STREAM, GROUP))["pending"] == 0
