"""Redis commands from many concurrent turns sent as one pipeline per event-loop tick.

Under load dozens of turns are in flight in one process, each awaiting small commands (its
subscriber's records, a registry read, its commit). Sent one by one, each costs a connection
checkout, a write system call and a read wake-up: the profile of a loaded gateway is mostly
that. `BatchedRedis` queues every command issued during one turn of the event loop and sends
them together when the loop next gets to it (`call_soon`), so N concurrent turns cost one round
trip per step instead of N, and a lone turn waits one loop iteration more, nothing else.

The batches go over one pipelined connection of their own, packed and parsed by hiredis
(`gateway.store.resp_connection`); redis-py still builds each command's arguments and reads its
reply (the command methods and response callbacks of the client), so every caller sees what
redis-py would give it. A client configured for what that connection does not speak (TLS,
RESP3) sends the batches as redis-py pipelines instead.

Each caller still awaits its own command's result (or its own error: Redis's answer to one
command fails only that caller), so ordering and error handling are what they were: per
command, per caller. A script called through the facade goes as EVALSHA; its NOSCRIPT error
(a restarted Redis) makes redis-py load it and retry, as it does on the client.
`pipeline(transaction=False)` gives a pipeline whose commands join the tick's batch.

Blocking commands (BLPOP, XREADGROUP with BLOCK) must not hold up a batch: they go to the
client as they are, or, on a `dedicated` copy (one consumer loop's own connection), alone.
Redis Cluster clients are used as they are (a cluster pipeline cannot carry EVALSHA; see
gateway/store/scripts.py).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from redis._parsers.response_callbacks import get_response_callbacks
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncCoreCommands, AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.typing import EncodableT

from gateway.store.resp_connection import ClosedByClient, RespAddress, RespConnection

# A command's wire arguments and the options its response callback reads.
Wire = tuple[tuple[EncodableT, ...], dict[str, Any]]
Queued = tuple[tuple[EncodableT, ...], dict[str, Any], "asyncio.Future[Any]"]

# Commands that wait on the server: never in a shared batch.
BLOCKING = frozenset({
    "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
    "wait", "waitaof",
})
BLOCKING_WHEN_ASKED = frozenset({"xread", "xreadgroup"})  # with a `block` argument
EMPTY_RESPONSE = "EMPTY_RESPONSE"  # redis-py's option: the value a command's error stands for
# Batches on their way at once. Commands issued meanwhile wait for the answer and go together:
# under load a batch then holds what a round trip's worth of turns asked for (one write, one
# wake-up of Redis, instead of one per tick); a lone command goes at once, as before.
MAX_IN_FLIGHT = 1


class _Recorder(AsyncCoreCommands):
    """redis-py's command methods, giving the arguments they would send instead of sending."""

    _event_dispatcher: Any = None  # read by none of the commands recorded

    def execute_command(self, *args: EncodableT, **options: Any) -> Wire:
        return args, options


_RECORDER = _Recorder()


def is_command(name: str) -> bool:
    return not name.startswith("_") and callable(getattr(_Recorder, name, None)) and name not in (
        "execute_command", "register_script", "pipeline")


def blocks(name: str, kwargs: dict[str, Any]) -> bool:
    return name in BLOCKING or (name in BLOCKING_WHEN_ASKED and kwargs.get("block") is not None)


class BatchedRedis:
    """The command methods of a `Redis` client, coalesced per event-loop tick (see the module)."""

    def __init__(self, redis: Redis, max_batch: int = 512, blocking: bool = False) -> None:
        self._redis = redis
        self._max_batch = max_batch
        self._blocking = blocking  # a dedicated connection: blocking commands go on it
        address = RespAddress.of(redis.connection_pool)
        self._connection = RespConnection(address) if address is not None else None
        # The connection speaks RESP2: its replies are read with redis-py's RESP2 callbacks,
        # which give the shapes the client gives (legacy_responses, redis-py's default).
        # Under each name in upper and in lower case, as redis-py's command methods send it:
        # a plain dict lookup per reply (a CaseInsensitiveDict upper-cases each key asked for).
        self._callbacks: Mapping[EncodableT, Callable[..., Any]] = {
            spelling: callback
            for name, callback in get_response_callbacks(user_protocol=2, legacy_responses=True).items()
            for spelling in (name.upper(), name.lower())}
        self._queue: list[Queued] = []
        self._extra_timeout = 0.0
        self._scheduled = False
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._sending = 0  # batches written on the connection and not answered yet
        self.batches = 0
        self.commands = 0

    def dedicated(self) -> BatchedRedis:
        """A copy on a connection of its own, for one loop's blocking reads (one at a time)."""
        return BatchedRedis(self._redis, self._max_batch, blocking=True)

    async def aclose(self) -> None:
        """Closes this facade's own connection (the client stays open)."""
        if self._connection is not None:
            await self._connection.close()

    def pipeline(self, transaction: bool = True) -> Any:
        """A MULTI goes to the client as a real pipeline; without one, the commands join the
        tick's batch (`CoalescedPipeline`)."""
        if transaction:
            return self._redis.pipeline(transaction=True)
        return CoalescedPipeline(self)

    def register_script(self, script: str) -> AsyncScript:
        return AsyncScript(cast(Redis, self), script)

    def __getattr__(self, name: str) -> Any:
        if not is_command(name):
            return getattr(self._redis, name)
        record = getattr(_RECORDER, name)
        client_command = getattr(self._redis, name)
        may_block = name in BLOCKING or name in BLOCKING_WHEN_ASKED

        def command(*args: Any, **kwargs: Any) -> Awaitable[Any]:
            """The reply's future itself, not a coroutine awaiting it: a frame less per command,
            and `asyncio.gather` over commands makes no task for each."""
            extra_timeout = 0.0
            if may_block and blocks(name, kwargs):
                if not self._blocking:
                    awaitable: Awaitable[Any] = client_command(*args, **kwargs)
                    return awaitable
                extra_timeout = (kwargs.get("block") or 0) / 1000
            wire = record(*args, **kwargs)
            if type(wire) is not tuple:  # the few commands redis-py builds asynchronously
                return self._enqueue_built(wire, extra_timeout)
            return self.enqueue(wire[0], wire[1], extra_timeout)

        setattr(self, name, command)  # made once: later lookups find it without __getattr__
        return command

    async def _enqueue_built(self, wire: Awaitable[Wire], extra_timeout: float) -> Any:
        arguments, options = await wire
        return await self.enqueue(arguments, options, extra_timeout)

    def enqueue(self, args: tuple[EncodableT, ...], options: dict[str, Any],
                extra_timeout: float = 0.0) -> asyncio.Future[Any]:
        """Queue one command for the tick's batch; its future gets its reply."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append((args, options, future))
        if extra_timeout > self._extra_timeout:
            self._extra_timeout = extra_timeout
        if len(self._queue) >= self._max_batch:
            self._flush(force=True)
        elif not self._scheduled and self._sending < MAX_IN_FLIGHT:
            self._scheduled = True
            loop.call_soon(self._flush_after_this_tick)
        return future

    def _flush_after_this_tick(self) -> None:
        """A command is queued when called, which may be before the tasks that the same code
        goes on to start (`asyncio.gather` of a command and a coroutine) have run at all: the
        batch goes after them, so what they ask for on their first step goes with it."""
        asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self, force: bool = False) -> None:
        """Send what is queued; while a batch is on its way, what comes meanwhile waits for its
        answer and goes as the next batch (`MAX_IN_FLIGHT`), unless the queue is full."""
        self._scheduled = False
        if not self._queue:
            return
        if self._connection is not None and self._sending >= MAX_IN_FLIGHT and not force:
            return  # `_answer` sends it
        batch, self._queue = self._queue, []
        extra, self._extra_timeout = self._extra_timeout, 0.0
        self.batches += 1
        self.commands += len(batch)
        if self._connection is None:
            self._track(asyncio.ensure_future(self._by_pipeline(batch)))
            return
        # A blocking read is not sent again on a new connection behind its caller's back: its
        # caller must know the answer was lost (the entries it took are pending, see streams).
        self._send(batch, extra, retry=not self._blocking)

    def _send(self, batch: list[Queued], extra_timeout: float, retry: bool) -> None:
        assert self._connection is not None
        self._sending += 1
        replies = self._connection.send([args for args, _, _ in batch], extra_timeout)
        self._track(replies)
        replies.add_done_callback(functools.partial(self._answer, batch, extra_timeout, retry))

    def _answer(self, batch: list[Queued], extra_timeout: float, retry: bool,
                replies: asyncio.Future[list[Any]]) -> None:
        self._sending -= 1
        try:
            self._hand_out(batch, extra_timeout, retry, replies)
        finally:
            if self._queue:  # what waited for this batch's answer
                self._flush()

    def _hand_out(self, batch: list[Queued], extra_timeout: float, retry: bool,
                  replies: asyncio.Future[list[Any]]) -> None:
        if replies.cancelled():
            _fail(batch, RedisConnectionError("the batch was cancelled"))
            return
        error = replies.exception()
        waited = any(not future.done() for *_, future in batch)  # else every caller gave up
        if isinstance(error, RedisConnectionError) and not isinstance(error, ClosedByClient) \
                and retry and waited:
            # A connection Redis had closed (a restart) is found dead on first use: the batch
            # goes once more on a new one, as redis-py's own retry would send it.
            self._send(batch, extra_timeout, retry=False)
            return
        if error is not None:
            _fail(batch, error if isinstance(error, Exception) else RedisConnectionError(str(error)))
            return
        callbacks = self._callbacks
        for (args, options, future), reply in zip(batch, replies.result(), strict=True):
            if future.done():  # its caller was cancelled meanwhile
                continue
            # The reply as redis-py's client would return it (its `parse_response`).
            if isinstance(reply, Exception):
                if isinstance(reply, ResponseError) and EMPTY_RESPONSE in options:
                    future.set_result(options[EMPTY_RESPONSE])
                else:  # an error reply; LOADING (a Redis reading its AOF), MASTERDOWN, …
                    future.set_exception(reply)
                continue
            callback = callbacks.get(args[0])
            if callback is None:
                future.set_result(reply)
                continue
            try:
                future.set_result(callback(reply, **_callback_options(options)) if options
                                  else callback(reply))
            except Exception as exc:  # a reply redis-py's callback cannot read
                future.set_exception(exc)

    async def _by_pipeline(self, batch: list[Queued]) -> None:
        """The batch as a redis-py pipeline: for a client the hiredis connection cannot speak."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for args, options, _ in batch:
                    pipe.execute_command(*args, **options)
                results = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed: every caller gets the error
            _fail(batch, exc)
            return
        for (*_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)


def _callback_options(options: dict[str, Any]) -> dict[str, Any]:
    """What a command's response callback takes of its options (not the client's own)."""
    return {key: value for key, value in options.items() if key not in (EMPTY_RESPONSE, "keys")}


@functools.cache
def _pipeline_record(name: str) -> Callable[..., Wire | Awaitable[Wire]]:
    """The recorder's method for a command a coalesced pipeline can carry (looked up once)."""
    if not is_command(name) or name in BLOCKING:
        raise AttributeError(f"{name}: not a command a coalesced pipeline can carry")
    return cast(Callable[..., Wire | Awaitable[Wire]], getattr(_RECORDER, name))


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    """A caller's result: its value, or the error Redis (or its reply's parser) gave it;
    nothing for a caller that was cancelled meanwhile."""
    if future.done():
        return
    if isinstance(value, Exception):
        future.set_exception(value)
    else:
        future.set_result(value)


def _fail(batch: list[Queued], error: Exception) -> None:
    for *_, future in batch:
        if not future.done():
            future.set_exception(error)


class CoalescedPipeline:
    """A non-transactional pipeline of a `BatchedRedis`: its commands are queued as they are
    staged and sent with the tick's batch when `execute` is awaited; results in order."""

    def __init__(self, redis: BatchedRedis) -> None:
        self._redis = redis
        self._staged: list[Wire] = []

    async def __aenter__(self) -> CoalescedPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._staged.clear()

    def __len__(self) -> int:
        return len(self._staged)

    def execute_command(self, *args: EncodableT, **options: Any) -> CoalescedPipeline:
        self._staged.append((args, options))
        return self

    def __getattr__(self, name: str) -> Callable[..., CoalescedPipeline]:
        return functools.partial(self._stage, name, _pipeline_record(name))

    def _stage(self, name: str, record: Callable[..., Wire | Awaitable[Wire]], *args: Any,
               **kwargs: Any) -> CoalescedPipeline:
        wire = record(*args, **kwargs)
        if type(wire) is not tuple:
            raise TypeError(f"{name}: redis-py builds it asynchronously; not for a pipeline")
        self._staged.append(wire)
        return self

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        staged, self._staged = self._staged, []
        futures = [self._redis.enqueue(args, options) for args, options in staged]
        results: list[Any] = []
        for future in futures:  # all queued already: answered together, in this order
            try:
                results.append(await future)
            except Exception as exc:  # Redis's error for this command only
                results.append(exc)
        if raise_on_error:
            for result in results:
                if isinstance(result, Exception):
                    raise result
        return results


def batched(redis: Redis | RedisCluster) -> Redis:
    """`redis` with its commands coalesced per tick; a cluster client as it is."""
    if isinstance(redis, RedisCluster):
        return cast(Redis, redis)
    return cast(Redis, BatchedRedis(redis))


def dedicated(redis: Redis) -> Redis:
    """A client for one loop's blocking reads: a coalescing client's own connection, or the
    client itself (a cluster client, a plain client in tests)."""
    facade: object = redis
    if isinstance(facade, BatchedRedis):
        return cast(Redis, facade.dedicated())
    return redis
