"""BatchedRedis over its hiredis connection, against a real redis-server: the replies are what
redis-py's client gives, errors stay per command, a tick's commands are one batch, and the
connection survives a Redis restart and gives up on a Redis that does not answer."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any, cast

import hiredis
import pytest
import pytest_asyncio
import redis.asyncio
from redis.exceptions import AuthenticationError, BusyLoadingError, NoScriptError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from devtools.redis_server import RedisServer
from gateway.store.batching import BatchedRedis, CoalescedPipeline
from gateway.store.resp_connection import RespAddress
from gateway.store.scripts import load_script


@pytest_asyncio.fixture
async def batched(redis_client: redis.asyncio.Redis) -> AsyncIterator[BatchedRedis]:
    facade = BatchedRedis(redis_client)
    try:
        yield facade
    finally:
        await facade.aclose()


def _as_client(facade: BatchedRedis) -> redis.asyncio.Redis:
    return cast(redis.asyncio.Redis, facade)


async def _both(client: redis.asyncio.Redis, facade: BatchedRedis, name: str, *args: Any,
                **kwargs: Any) -> tuple[Any, Any]:
    """The same read through redis-py's client and through the facade."""
    return (await getattr(client, name)(*args, **kwargs),
            await getattr(facade, name)(*args, **kwargs))


async def test_replies_are_what_redis_py_gives(redis_client: redis.asyncio.Redis,
                                               batched: BatchedRedis) -> None:
    facade = _as_client(batched)
    assert await facade.set("k", "v", ex=60) is True
    assert await facade.set("k", "w", nx=True) is None
    await redis_client.hset("h", mapping={"a": "1", "b": "ب"})
    await redis_client.sadd("s", "x", "y")
    entry = await facade.xadd("st", {"f": "ی"}, maxlen=10, approximate=True)
    await redis_client.xgroup_create("st", "g", id="0")
    reads = [("get", ("k",)), ("mget", (["k", "missing"],)), ("hgetall", ("h",)),
             ("hmget", ("h", ["a", "b", "c"])), ("smembers", ("s",)), ("sismember", ("s", "x")),
             ("exists", ("k", "h")), ("ttl", ("k",)), ("xlen", ("st",)),
             ("xrange", ("st",)), ("hget", ("h", "missing"))]
    for name, args in reads:
        ours, theirs = await _both(redis_client, batched, name, *args)
        assert (name, ours) == (name, theirs)
    read = await facade.xreadgroup("g", "c", {"st": ">"}, count=5)
    assert read == [["st", [(entry, {"f": "ی"})]]]
    assert await facade.expire("k", 30) is True
    assert await facade.getdel("k") == "v"


async def test_a_scripts_noscript_is_loaded_and_retried(batched: BatchedRedis) -> None:
    facade = _as_client(batched)
    with pytest.raises(NoScriptError):
        await facade.evalsha("0" * 40, 0)
    script = facade.register_script("return {KEYS[1], ARGV[1]}")
    assert await script(keys=["a"], args=[7]) == ["a", "7"]


async def test_a_package_script_is_loaded_again_after_redis_lost_its_scripts(
    redis_client: redis.asyncio.Redis, batched: BatchedRedis,
) -> None:
    script = load_script(_as_client(batched), "ack_entry.lua")
    await redis_client.xgroup_create("st", "g", id="0", mkstream=True)
    entry = await redis_client.xadd("st", {"f": "v"})
    await redis_client.xreadgroup("g", "c", {"st": ">"})
    await redis_client.script_flush()  # as after a restart: the next EVALSHA is NOSCRIPT
    await script(keys=["st"], args=["g", entry])
    assert await redis_client.xlen("st") == 0
    assert (await redis_client.xpending("st", "g"))["pending"] == 0


async def test_an_error_fails_only_its_own_command(redis_client: redis.asyncio.Redis,
                                                   batched: BatchedRedis) -> None:
    await redis_client.set("text", "x")
    facade = _as_client(batched)
    results = await asyncio.gather(facade.incr("counter"), facade.hgetall("text"),
                                   facade.get("text"), return_exceptions=True)
    assert results[0] == 1 and results[2] == "x"
    assert isinstance(results[1], ResponseError) and "WRONGTYPE" in str(results[1])
    assert batched.batches == 1  # the three went together


async def test_a_ticks_commands_are_one_batch(batched: BatchedRedis) -> None:
    facade = _as_client(batched)
    await asyncio.gather(*(facade.set(f"k{n}", n) for n in range(100)))
    values = await asyncio.gather(*(facade.get(f"k{n}") for n in range(100)))
    assert values == [str(n) for n in range(100)]
    assert (batched.batches, batched.commands) == (2, 200)


async def test_a_coalesced_pipeline_joins_the_batch(batched: BatchedRedis) -> None:
    pipe = batched.pipeline(transaction=False)
    assert isinstance(pipe, CoalescedPipeline)
    async with pipe:
        pipe.set("a", "1").incr("a")
        pipe.hgetall("a")
        other = _as_client(batched).get("a")  # queued as it is called: before the pipeline's
        results, seen = await asyncio.gather(pipe.execute(raise_on_error=False), other)
    assert results[:2] == [True, 2] and isinstance(results[2], ResponseError)
    assert seen is None and batched.batches == 1
    async with batched.pipeline(transaction=False) as pipe:
        pipe.set("b", "1").hgetall("b")
        with pytest.raises(ResponseError):
            await pipe.execute()
    with pytest.raises(AttributeError, match="blpop"):
        batched.pipeline(transaction=False).blpop("q")


async def test_blocking_reads_go_alone_on_a_dedicated_connection(
    redis_client: redis.asyncio.Redis, batched: BatchedRedis,
) -> None:
    await redis_client.xgroup_create("st", "g", id="0", mkstream=True)
    reader = batched.dedicated()
    try:
        waiting = asyncio.ensure_future(
            cast(redis.asyncio.Redis, reader).xreadgroup("g", "c", {"st": ">"}, count=5, block=5000))
        await asyncio.sleep(0)  # the read is written before the shared batch goes
        # The shared connection is not held up by the blocked read: the add comes back first.
        entry = await _as_client(batched).xadd("st", {"f": "v"})
        assert await asyncio.wait_for(waiting, 5) == [["st", [(entry, {"f": "v"})]]]
    finally:
        await reader.aclose()


async def test_the_first_command_after_a_redis_restart_succeeds(tmp_path: Any) -> None:
    with RedisServer(tmp_path) as server:
        client = redis.asyncio.Redis.from_url(server.url, decode_responses=True)
        facade = BatchedRedis(client)
        try:
            assert await _as_client(facade).set("k", "v") is True
            server.restart()
            assert await _as_client(facade).get("k") in ("v", None)  # not an error
            assert await _as_client(facade).set("k", "again") is True
        finally:
            await facade.aclose()
            await client.aclose()


async def test_a_redis_that_is_away_is_a_connection_error(tmp_path: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = redis.asyncio.Redis(port=port, decode_responses=True)
    facade = BatchedRedis(client)
    try:
        with pytest.raises(RedisConnectionError):
            await _as_client(facade).get("k")
    finally:
        await facade.aclose()
        await client.aclose()


@contextlib.asynccontextmanager
async def _silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts and never answers: a Redis hung mid-command."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_reply_later_than_the_timeout_fails_the_batch() -> None:
    async with _silent_server() as port:
        client = redis.asyncio.Redis(port=port, socket_timeout=0.2, decode_responses=True)
        facade = BatchedRedis(client)
        try:
            with pytest.raises(RedisTimeoutError):
                await asyncio.wait_for(_as_client(facade).get("k"), 5)
        finally:
            await facade.aclose()
            await client.aclose()


def test_clients_it_cannot_speak_for_keep_redis_pys_pipeline() -> None:
    assert RespAddress.of(redis.asyncio.Redis(protocol=3).connection_pool) is None
    assert RespAddress.of(redis.asyncio.Redis(ssl=True).connection_pool) is None
    address = RespAddress.of(redis.asyncio.Redis(port=7000, db=2, password="p").connection_pool)
    assert address is not None and (address.port, address.db, address.password) == (7000, 2, "p")


async def test_the_pipeline_fallback_gives_the_same_replies(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True, protocol=3)
    facade = BatchedRedis(client)
    try:
        assert await _as_client(facade).set("k", "v") is True
        both = await asyncio.gather(_as_client(facade).get("k"), _as_client(facade).hgetall("none"))
        assert both == ["v", {}]
        assert facade.batches == 2
    finally:
        await facade.aclose()
        await client.aclose()


async def test_a_password_and_a_database_are_set_on_connecting(tmp_path: Any) -> None:
    with RedisServer(tmp_path) as server:
        admin = redis.asyncio.Redis.from_url(server.url, decode_responses=True)
        await admin.config_set("requirepass", "secret-word")
        await admin.aclose()
        url = server.url.replace("redis://", "redis://:secret-word@").rsplit("/", 1)[0] + "/3"
        client = redis.asyncio.Redis.from_url(url, decode_responses=True)
        facade = BatchedRedis(client)
        try:
            await _as_client(facade).set("k", "in db 3")
            assert await client.get("k") == "in db 3"
            wrong = redis.asyncio.Redis.from_url(server.url, password="wrong", decode_responses=True)
            wrong_facade = BatchedRedis(wrong)
            with pytest.raises(AuthenticationError):
                await _as_client(wrong_facade).get("k")
            await wrong_facade.aclose()
            await wrong.aclose()
        finally:
            await facade.aclose()
            await client.aclose()


async def test_after_aclose_a_command_connects_again_as_redis_py_does(batched: BatchedRedis) -> None:
    facade = _as_client(batched)
    assert await facade.set("k", "v") is True
    await batched.aclose()
    assert await facade.get("k") == "v"


async def test_a_loading_redis_is_a_retryable_error_for_every_command() -> None:
    """Redis answers LOADING while it reads its AOF after a restart: redis-py's BusyLoadingError
    (a ConnectionError, so retried), never handed to a reply parser."""
    async def loading(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"-LOADING Redis is loading the dataset in memory\r\n" * 2)
        await writer.drain()

    server = await asyncio.start_server(loading, "127.0.0.1", 0)
    client = redis.asyncio.Redis(port=server.sockets[0].getsockname()[1], decode_responses=True)
    facade = BatchedRedis(client)
    try:
        results = await asyncio.gather(
            _as_client(facade).xreadgroup("g", "c", {"s": ">"}), _as_client(facade).hgetall("h"),
            return_exceptions=True)
        assert [type(result) for result in results] == [BusyLoadingError, BusyLoadingError]
    finally:
        await facade.aclose()
        await client.aclose()
        server.close()



async def test_after_aclose_a_silent_redis_still_times_out() -> None:
    """The reply timeout holds on a connection opened again after `aclose` closed one with a
    command waiting."""
    written = asyncio.Event()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        written.set()  # never answered
        await reader.read()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    client = redis.asyncio.Redis(port=server.sockets[0].getsockname()[1], socket_timeout=0.3,
                                 decode_responses=True)
    facade = BatchedRedis(client)
    try:
        pending = asyncio.ensure_future(_as_client(facade).get("k"))
        await asyncio.wait_for(written.wait(), 5)
        await facade.aclose()
        with pytest.raises(RedisConnectionError):
            await pending
        with pytest.raises(RedisTimeoutError):
            await asyncio.wait_for(_as_client(facade).get("k"), 5)
    finally:
        await facade.aclose()
        await client.aclose()
        server.close()


async def test_commands_issued_while_a_batch_is_on_its_way_go_as_the_next_one() -> None:
    """One batch in flight at a time: what is asked meanwhile, over several ticks, goes
    together when its answer comes (a RESP server that answers only when told)."""
    release, received = asyncio.Event(), asyncio.Event()
    batches: list[int] = []

    async def answer_later(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands = hiredis.Reader()
        while data := await reader.read(65536):
            commands.feed(data)
            count = 0
            while commands.gets() is not False:
                count += 1
            batches.append(count)
            received.set()
            await release.wait()
            writer.write(b"$-1\r\n" * count)
            await writer.drain()

    server = await asyncio.start_server(answer_later, "127.0.0.1", 0)
    client = redis.asyncio.Redis(port=server.sockets[0].getsockname()[1], decode_responses=True)
    facade = BatchedRedis(client)
    try:
        first = asyncio.ensure_future(_as_client(facade).get("first"))
        await asyncio.wait_for(received.wait(), 5)
        later = []
        for n in range(5):  # five ticks, five commands: none is written while the first waits
            later.append(asyncio.ensure_future(_as_client(facade).get(f"k{n}")))
            await asyncio.sleep(0)
        assert batches == [1]
        release.set()
        assert await asyncio.gather(first, *later) == [None] * 6
        assert batches == [1, 5] and facade.batches == 2
    finally:
        await facade.aclose()
        await client.aclose()
        server.close()


async def test_a_command_is_queued_when_called_and_answered_in_that_order(batched: BatchedRedis) -> None:
    facade = _as_client(batched)
    first, second = facade.incr("n"), facade.incr("n")
    assert isinstance(second, asyncio.Future)  # no coroutine, so no task when gathered
    assert await second == 2 and await first == 1
