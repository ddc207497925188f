"""commit_turn.lua against a real Redis: a commit sent twice (its batch retried after a lost
connection, the first having run) writes its replies once; without the lease it writes nothing."""

from __future__ import annotations

from typing import Any

import redis.asyncio

from gateway.store.keys import INBOUND_GROUP, OUTBOUND_GROUP, Keys
from gateway.store.scripts import ScriptArg, load_script
from gateway.store.streams import CONSUMER, ensure_group
from gateway.worker import ALREADY_COMMITTED, SESSIONLESS_COUNT_TTL_SECONDS

KEYS = Keys()
NUMBER = "989361110003"
OWNER = "this-process"


async def _commit(db: redis.asyncio.Redis, entry_id: str, read_for: str = "") -> Any:
    """The script's answer: 0 or 3 as such, else [lane, what it read for `read_for`'s consumer]."""
    p = KEYS.partition_of(NUMBER)
    keys = [KEYS.lease(p), KEYS.subscriber(NUMBER), KEYS.session(NUMBER), KEYS.outbound(p),
            KEYS.inbound(p), KEYS.outbound_sessionless(p), KEYS.sessionless_queued(NUMBER)]
    args: list[ScriptArg] = [OWNER, '{"lang":"fa"}', 60, '{"session":{}}', 60, INBOUND_GROUP, entry_id,
                             "dialog", SESSIONLESS_COUNT_TTL_SECONDS, read_for, CONSUMER,
                             NUMBER, '{"id":"x/0"}']
    return await load_script(db, "commit_turn.lua")(keys=keys, args=args)


async def _read_entry(db: redis.asyncio.Redis) -> str:
    stream = KEYS.inbound(KEYS.partition_of(NUMBER))
    await ensure_group(db, stream, INBOUND_GROUP)
    await db.xadd(stream, {"sender": NUMBER})
    reply = await db.xreadgroup(INBOUND_GROUP, CONSUMER, {stream: ">"}, count=1)
    return str(reply[0][1][0][0])


async def test_a_commit_sent_again_writes_its_replies_once(redis_client: redis.asyncio.Redis) -> None:
    await redis_client.set(KEYS.lease(KEYS.partition_of(NUMBER)), OWNER)
    entry_id = await _read_entry(redis_client)
    assert await _commit(redis_client, entry_id) == [1, None]  # the dialogs lane, nothing read
    assert await _commit(redis_client, entry_id) == ALREADY_COMMITTED
    assert await redis_client.xlen(KEYS.outbound(KEYS.partition_of(NUMBER))) == 1


async def test_without_the_lease_a_commit_writes_nothing(redis_client: redis.asyncio.Redis) -> None:
    await redis_client.set(KEYS.lease(KEYS.partition_of(NUMBER)), "another-process")
    entry_id = await _read_entry(redis_client)
    assert await _commit(redis_client, entry_id) == 0
    assert await redis_client.xlen(KEYS.outbound(KEYS.partition_of(NUMBER))) == 0
    assert await redis_client.get(KEYS.subscriber(NUMBER)) is None
    pending = await redis_client.xpending(KEYS.inbound(KEYS.partition_of(NUMBER)), INBOUND_GROUP)
    assert pending["pending"] == 1  # still the holder's to run


async def test_a_commit_reads_its_replies_for_the_lane_and_they_are_pending(
    redis_client: redis.asyncio.Redis,
) -> None:
    p = KEYS.partition_of(NUMBER)
    await redis_client.set(KEYS.lease(p), OWNER)
    await ensure_group(redis_client, KEYS.outbound(p), OUTBOUND_GROUP)
    entry_id = await _read_entry(redis_client)
    lane, read = await _commit(redis_client, entry_id, read_for=OUTBOUND_GROUP)
    assert lane == 1
    assert [fields for _, fields in read[0][1]] == [["recipient", NUMBER, "message", '{"id":"x/0"}']]
    assert (await redis_client.xpending(KEYS.outbound(p), OUTBOUND_GROUP))["pending"] == 1
    # The lane's own read finds nothing new: each reply is read once.
    assert await redis_client.xreadgroup(OUTBOUND_GROUP, CONSUMER, {KEYS.outbound(p): ">"}) == []


async def test_a_commit_stands_when_the_lanes_group_is_gone(redis_client: redis.asyncio.Redis) -> None:
    p = KEYS.partition_of(NUMBER)
    await redis_client.set(KEYS.lease(p), OWNER)
    entry_id = await _read_entry(redis_client)
    assert await _commit(redis_client, entry_id, read_for=OUTBOUND_GROUP) == [1, None]
    assert await redis_client.xlen(KEYS.outbound(p)) == 1
