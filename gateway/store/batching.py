"""Redis commands from many concurrent turns sent as one pipeline per event-loop tick.

Under load dozens of turns are in flight in one process, each awaiting small commands (its
subscriber's records, a registry read, its commit). Sent one by one, each costs a connection
checkout, a write system call and a read wake-up: the profile of a loaded gateway is mostly
that. `BatchedRedis` queues every command issued during one turn of the event loop and sends
them together when the loop next gets to it (`call_soon`), so N concurrent turns cost one round
trip per step instead of N, and a lone turn waits one loop iteration more, nothing else.

Each caller still awaits its own command's result (or its own error: a pipeline sent without
`raise_on_error` hands each command its exception), so ordering and error handling are what
they were: per command, per caller. A script called through the facade goes as EVALSHA; its
NOSCRIPT error (a restarted Redis) makes redis-py load it and retry, as it does on the client.

Blocking commands (XREADGROUP with BLOCK, BLPOP) must not go through it: they would hold up
the batch they travel in. Redis Cluster clients are used as they are (a cluster pipeline cannot
carry EVALSHA; see gateway/store/scripts.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

Queued = tuple[str, tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]
# The commands coalesced: small reads and writes, none of them blocking. Anything else (a
# pipeline, BLPOP, XREADGROUP with BLOCK, the client's own methods) goes to the client as it is.
COALESCED = frozenset({
    "get", "mget", "set", "getdel", "delete", "exists", "expire", "pexpire", "ttl", "pttl", "incr",
    "hget", "hgetall", "hmget", "hset", "smembers", "sismember", "scard", "zscore", "zadd",
    "xadd", "xack", "xdel", "xlen", "evalsha", "script_load",
})


class BatchedRedis:
    """The command methods of a `Redis` client, coalesced per event-loop tick (see the module)."""

    def __init__(self, redis: Redis, max_batch: int = 512) -> None:
        self._redis = redis
        self._max_batch = max_batch
        self._queue: list[Queued] = []
        self._scheduled = False
        self._in_flight: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.commands = 0

    def pipeline(self, transaction: bool = True) -> Any:
        """Callers that build their own pipeline (a MULTI, a batch of their own) get a real one."""
        return self._redis.pipeline(transaction=transaction)

    def register_script(self, script: str) -> AsyncScript:
        return AsyncScript(cast(Redis, self), script)

    def __getattr__(self, name: str) -> Any:
        if name not in COALESCED:
            return getattr(self._redis, name)

        async def command(*args: Any, **kwargs: Any) -> Any:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._queue.append((name, args, kwargs, future))
            if len(self._queue) >= self._max_batch:
                self._flush()
            elif not self._scheduled:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
            return await future

        setattr(self, name, command)  # made once: later lookups find it without __getattr__
        return command

    def _flush(self) -> None:
        self._scheduled = False
        if not self._queue:
            return
        batch, self._queue = self._queue, []
        task = asyncio.get_running_loop().create_task(self._execute(batch))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def _execute(self, batch: list[Queued]) -> None:
        self.batches += 1
        self.commands += len(batch)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for name, args, kwargs, _ in batch:
                    getattr(pipe, name)(*args, **kwargs)
                results = await pipe.execute(raise_on_error=False)
        except BaseException as exc:  # the connection failed: every caller gets the error
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
            if not isinstance(exc, Exception):
                raise
            return
        for (*_, future), result in zip(batch, results, strict=True):
            if future.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


def batched(redis: Redis | RedisCluster) -> Redis:
    """`redis` with its commands coalesced per tick; a cluster client as it is."""
    if isinstance(redis, RedisCluster):
        return cast(Redis, redis)
    return cast(Redis, BatchedRedis(redis))
