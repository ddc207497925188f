"""gateway.store.streams.consume against a real redis-server: entries handed over in order, and
none stranded when a read's answer is lost after Redis handed its entries over; entries a
producer read for the loop (a `Handoff`) and those it reads itself go once each, in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.store import resp_connection, streams
from gateway.store.batching import BatchedRedis
from gateway.store.streams import CONSUMER, Entry, Handoff, SharedReads, consume

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


async def _claim(db: redis.asyncio.Redis) -> list[Entry]:
    """What commit_turn.lua does for a lane: read the new entries for its consumer."""
    reply = await db.xreadgroup(GROUP, CONSUMER, {STREAM: ">"})
    return [(entry_id, fields) for entry_id, fields in reply[0][1]] if reply else []


async def run_until(handled: list[str], count: int, handoff: Handoff, db: redis.asyncio.Redis,
                    setup: Any, reader: Any = None) -> None:
    """Run `consume` on `reader` (default `db`) until `count` entries were handled, after
    `setup`; each handled entry is acknowledged on `db`."""
    stopping, done = asyncio.Event(), asyncio.Event()

    async def handle(entry: Entry) -> None:
        handled.append(entry[1]["n"])
        await db.xack(STREAM, GROUP, entry[0])
        if len(handled) >= count:
            done.set()

    task = asyncio.create_task(consume(reader or db, STREAM, GROUP, handle, lambda entry: "one",
                                       stopping, block_ms=50, handoff=handoff))
    await setup()
    await asyncio.wait_for(done.wait(), 10)
    stopping.set()
    await asyncio.wait_for(task, 10)


async def test_entries_of_a_lost_answer_are_read_again_from_the_pending_list(
    redis_client: redis.asyncio.Redis,
) -> None:
    client, handoff, handled = AnswerLostOnce(redis_client), Handoff(), []

    async def setup() -> None:
        for n in "123":
            await redis_client.xadd(STREAM, {"n": n})
        handoff.wake()

    await run_until(handled, 3, handoff, redis_client, setup, reader=client)
    assert client.lost == 1
    assert handled == ["1", "2", "3"]  # each once, in order: none stranded in the pending list
    assert (await redis_client.xpending(STREAM, GROUP))["pending"] == 0


async def test_handed_entries_and_read_ones_go_once_each_in_stream_order(
    redis_client: redis.asyncio.Redis,
) -> None:
    await redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    handoff, handled = Handoff(), []

    async def setup() -> None:
        await redis_client.xadd(STREAM, {"n": "1"})
        handoff.hand(await _claim(redis_client))  # read for the loop, as a commit does
        await redis_client.xadd(STREAM, {"n": "2"})  # added by another process: the loop reads it
        await redis_client.xadd(STREAM, {"n": "3"})
        handoff.hand(await _claim(redis_client))
        handoff.wake()

    await run_until(handled, 3, handoff, redis_client, setup)
    assert handled == ["1", "2", "3"]
    assert (await redis_client.xpending(STREAM, GROUP))["pending"] == 0


async def test_after_a_lost_hand_over_the_loop_reads_the_pending_entries_once(
    redis_client: redis.asyncio.Redis,
) -> None:
    await redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    handoff, handled = Handoff(), []

    async def setup() -> None:
        for n in "12":
            await redis_client.xadd(STREAM, {"n": n})
        lost = await _claim(redis_client)  # read for the loop; the answer never came back
        assert len(lost) == 2
        await redis_client.xadd(STREAM, {"n": "3"})
        handoff.hand(await _claim(redis_client))
        handoff.reread()

    await run_until(handled, 3, handoff, redis_client, setup)
    assert handled == ["1", "2", "3"]  # each once, in order
    assert (await redis_client.xpending(STREAM, GROUP))["pending"] == 0


# -- one read for many streams (SharedReads) -------------------------------------------------

# Long enough that a test passing within its 10 s wait shows the read was unblocked, not timed out.
BLOCK_MS = 60_000


@contextlib.asynccontextmanager
async def shared_reads(
    redis_client: redis.asyncio.Redis, streams: list[str], batch: int = 64
) -> AsyncIterator[tuple[SharedReads, redis.asyncio.Redis]]:
    """A SharedReads running on the batching facade (its read on a connection of its own), and
    the facade, whose other commands go behind its CLIENT UNBLOCKs."""
    for stream in streams:
        await redis_client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    facade = cast(redis.asyncio.Redis, BatchedRedis(redis_client))
    reads, stopping = SharedReads(facade, GROUP, batch, BLOCK_MS), asyncio.Event()
    task = asyncio.create_task(reads.run(stopping))
    try:
        yield reads, facade
    finally:
        stopping.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _handed(handoff: Handoff) -> list[str]:
    await asyncio.wait_for(handoff.event.wait(), 10)
    handoff.event.clear()
    return [fields["n"] for _, fields in handoff.entries]


async def test_one_read_hands_each_stream_its_entries(redis_client: redis.asyncio.Redis) -> None:
    async with shared_reads(redis_client, ["a", "b"]) as (reads, _):
        a, b = reads.join("a"), reads.join("b")
        await redis_client.xadd("a", {"n": "a1"})
        assert await _handed(a) == ["a1"]
        await redis_client.xadd("b", {"n": "b1"})
        assert await _handed(b) == ["b1"]
        assert [fields["n"] for _, fields in a.entries] == ["a1"]  # none of b's


async def test_a_stream_joining_a_blocked_read_is_read_at_once(redis_client: redis.asyncio.Redis) -> None:
    async with shared_reads(redis_client, ["a", "late"]) as (reads, _):
        a = reads.join("a")
        await redis_client.xadd("a", {"n": "a1"})
        assert await _handed(a) == ["a1"]  # the read is made (and blocks again, on "a" alone)
        late = reads.join("late")
        await redis_client.xadd("late", {"n": "l1"})
        assert await _handed(late) == ["l1"]  # within the wait: the blocked read was unblocked


async def test_a_stream_left_is_not_read_any_more(redis_client: redis.asyncio.Redis) -> None:
    async with shared_reads(redis_client, ["a", "gone"]) as (reads, facade):
        a, gone = reads.join("a"), reads.join("gone")
        await redis_client.xadd("a", {"n": "a1"})
        assert await _handed(a) == ["a1"]
        await reads.leave("gone", gone)
        # As an MO stored after the stream was left: on the facade, behind the unblock.
        added = await facade.xadd("gone", {"n": "g1"})
        # Another process holding the stream now reads the entry as new.
        reply = await redis_client.xreadgroup(GROUP, "another", {"gone": ">"})
        assert [entry_id for entry_id, _ in reply[0][1]] == [added]
        assert not gone.entries


async def test_a_lost_shared_answer_has_every_loop_read_its_pending_entries(
    redis_client: redis.asyncio.Redis,
) -> None:
    for stream in ("a", "b"):
        await redis_client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    client = AnswerLostOnce(redis_client)
    reads = SharedReads(cast(redis.asyncio.Redis, client), GROUP, block_ms=50)
    a, b = reads.join("a"), reads.join("b")
    stopping = asyncio.Event()
    await redis_client.xadd("a", {"n": "a1"})
    task = asyncio.create_task(reads.run(stopping))
    try:
        await asyncio.wait_for(a.event.wait(), 10)
        assert client.lost == 1
        assert a.from_pending and b.from_pending  # a1 is pending: the loops read from "0"
        assert (await redis_client.xpending("a", GROUP))["pending"] == 1
    finally:
        stopping.set()
        await asyncio.wait_for(task, 10)


async def test_a_loop_that_has_not_taken_its_entries_is_left_out_until_it_does(
    redis_client: redis.asyncio.Redis,
) -> None:
    async with shared_reads(redis_client, ["a"], batch=2) as (reads, _):
        for n in "12345":
            await redis_client.xadd("a", {"n": n})
        a, handed = reads.join("a"), []
        for expected in (["1", "2"], ["3", "4"]):
            assert await _handed(a) == expected
            # Nothing read for it meanwhile: the entries wait in Redis, not here.
            assert reads.left_out == {"a"}
            assert (await redis_client.xpending("a", GROUP))["pending"] == len(handed) + 2
            handed += [fields["n"] for _, fields in a.take()]
        assert await _handed(a) == ["5"]
        assert reads.left_out == frozenset()


async def test_what_was_handed_is_handled_a_batch_at_a_time_in_order(
    redis_client: redis.asyncio.Redis,
) -> None:
    await redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    handoff, handled, running, most = Handoff(), [], 0, 0
    stopping, first, done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handle(entry: Entry) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await redis_client.xack(STREAM, GROUP, entry[0])  # each number's turn waits on Redis
        running -= 1
        handled.append(entry[1]["n"])
        first.set()
        if len(handled) == 6:
            done.set()

    task = asyncio.create_task(consume(redis_client, STREAM, GROUP, handle, lambda entry: entry[1]["n"],
                                       stopping, batch=2, block_ms=BLOCK_MS, handoff=handoff,
                                       read_new=False))  # new entries only as handed
    await redis_client.xadd(STREAM, {"n": "0"})
    handoff.hand(await _claim(redis_client))
    await asyncio.wait_for(first.wait(), 10)  # the loop now takes what it is handed
    most = 0
    for n in "12345":
        await redis_client.xadd(STREAM, {"n": n})
    handoff.hand(await _claim(redis_client))  # five at once, as a burst of commits gives them
    await asyncio.wait_for(done.wait(), 10)  # within the wait: the rest did not wait for a wake
    stopping.set()
    handoff.wake()
    await asyncio.wait_for(task, 10)
    assert most == 2  # five numbers, but two at a time: a batch as a read would give it
    assert sorted(handled[1:3]) == ["1", "2"] and sorted(handled[3:5]) == ["3", "4"]


class WatchedHandoff(Handoff):
    """A Handoff that tells when its loop has caught up (read all it was not handed)."""

    def __init__(self, limit: int) -> None:
        self.caught_up = asyncio.Event()
        super().__init__(limit=limit)

    @property  # type: ignore[override]
    def behind(self) -> bool:
        return self._behind

    @behind.setter
    def behind(self, value: bool) -> None:
        if getattr(self, "_behind", False) and not value:
            self.caught_up.set()
        self._behind = value


async def test_a_slow_loop_is_handed_no_more_than_it_holds_and_reads_the_rest_in_order(
    redis_client: redis.asyncio.Redis,
) -> None:
    """The worker's part played here: it hands while the lane has room, else leaves its entry in
    Redis (`fall_behind`); the lane, slower (held at a gate), gets every entry once, in order,
    and is handed entries again once it has read the rest."""
    await redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    handoff, handled, held, actions = WatchedHandoff(limit=2), [], [], []
    stopping, gate, done = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handle(entry: Entry) -> None:
        await gate.wait()
        handled.append(entry[1]["n"])
        await redis_client.xack(STREAM, GROUP, entry[0])
        if len(handled) == 12:
            done.set()

    async def produce(n: int) -> None:
        await redis_client.xadd(STREAM, {"n": str(n)})
        if handoff.full:
            handoff.fall_behind()
            actions.append("left")
        else:
            handoff.hand(await _claim(redis_client))
            actions.append("handed")
        held.append(len(handoff.entries))

    task = asyncio.create_task(consume(redis_client, STREAM, GROUP, handle, lambda entry: "one",
                                       stopping, batch=3, block_ms=BLOCK_MS, handoff=handoff))
    for n in range(8):
        await produce(n)
    assert actions == ["handed"] * 2 + ["left"] * 6  # the lane held two: the rest waited in Redis
    gate.set()  # the lane gets going
    await asyncio.wait_for(handoff.caught_up.wait(), 10)
    for n in range(8, 12):
        await produce(n)
    await asyncio.wait_for(done.wait(), 10)
    stopping.set()
    handoff.wake()
    await asyncio.wait_for(task, 10)
    assert handled == [str(n) for n in range(12)]  # each once, in order
    assert max(held) <= 2 and "handed" in actions[8:]  # handed again, once caught up
    assert (await redis_client.xpending(STREAM, GROUP))["pending"] == 0


# -- review findings: a lost connection, a late hand-over, a stream left while read ------------


async def _handled_until(handled: list[str], wanted: list[str], changed: asyncio.Event) -> None:
    while handled != wanted:
        assert len(handled) < len(wanted), handled
        await asyncio.wait_for(changed.wait(), 10)
        changed.clear()


def _partition_loop(db: redis.asyncio.Redis, reader: Any, handoff: Handoff, handled: list[str],
                    changed: asyncio.Event, stopping: asyncio.Event) -> asyncio.Task[None]:
    """A partition's loop as the worker runs it beside a SharedReads (entries acked as done)."""
    async def handle(entry: Entry) -> None:
        handled.append(entry[1]["n"])
        changed.set()
        await db.xack(STREAM, GROUP, entry[0])

    return asyncio.create_task(consume(reader, STREAM, GROUP, handle, lambda entry: "one", stopping,
                                       block_ms=50, handoff=handoff, read_new=False))


async def test_entries_of_a_shared_read_whose_connection_dropped_are_read_again(
    redis_client: redis.asyncio.Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis handed the entry over, the connection dropped before the answer: the read must not
    be sent again silently on a new connection, or nobody reads the entry from "0"."""
    original = resp_connection._RespProtocol.data_received
    dropped: list[bytes] = []

    def data_received(protocol: Any, data: bytes) -> None:
        if b"lost" in data and not dropped:
            dropped.append(data)
            protocol.fail(RedisConnectionError("Connection to Redis lost: reset"))
            return
        original(protocol, data)

    monkeypatch.setattr(resp_connection._RespProtocol, "data_received", data_received)
    handled, changed, stopping = [], asyncio.Event(), asyncio.Event()
    async with shared_reads(redis_client, [STREAM]) as (reads, facade):
        handoff = reads.join(STREAM)
        loop = _partition_loop(redis_client, facade, handoff, handled, changed, stopping)
        await redis_client.xadd(STREAM, {"n": "first"})
        await _handled_until(handled, ["first"], changed)  # the loop waits for what is handed
        await redis_client.xadd(STREAM, {"n": "lost"})
        await _handled_until(handled, ["first", "lost"], changed)
        stopping.set()
        handoff.wake()
        await asyncio.gather(loop, return_exceptions=True)
    assert dropped and (await redis_client.xpending(STREAM, GROUP))["pending"] == 0


class HeldAnswers:
    """The shared read's connection, its answers held until `release` (they come on a socket
    of their own: nothing orders them with the loop's read from "0" on the shared one)."""

    def __init__(self, reader: Any, arrived: asyncio.Event, release: asyncio.Event) -> None:
        self._reader, self._arrived, self._release = reader, arrived, release

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)

    async def xreadgroup(self, *args: Any, **kwargs: Any) -> Any:
        reply = await self._reader.xreadgroup(*args, **kwargs)
        if reply:
            self._arrived.set()
            await self._release.wait()
        return reply


async def test_an_entry_read_from_pending_before_its_hand_over_arrives_runs_once(
    redis_client: redis.asyncio.Redis, monkeypatch: pytest.MonkeyPatch,
) -> None:
    arrived, release, handled, changed, stopping = (asyncio.Event(), asyncio.Event(), [],
                                                    asyncio.Event(), asyncio.Event())
    real = streams.dedicated
    monkeypatch.setattr(streams, "dedicated",
                        lambda client: HeldAnswers(real(client), arrived, release))
    await redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    await redis_client.xadd(STREAM, {"n": "1"})  # an MO stored while the partition moved here
    facade = cast(redis.asyncio.Redis, BatchedRedis(redis_client))
    reads = SharedReads(facade, GROUP, block_ms=BLOCK_MS)
    handoff = reads.join(STREAM)
    task = asyncio.create_task(reads.run(stopping))
    await asyncio.wait_for(arrived.wait(), 10)  # the shared read took "1": it is pending
    loop = _partition_loop(redis_client, facade, handoff, handled, changed, stopping)
    await _handled_until(handled, ["1"], changed)  # from "0": it was pending
    release.set()  # now the hand-over of "1" arrives
    await redis_client.xadd(STREAM, {"n": "2"})
    await _handled_until(handled, ["1", "2"], changed)  # "1" once
    stopping.set()
    handoff.wake()
    task.cancel()
    await asyncio.gather(task, loop, return_exceptions=True)


class NoUnblock:
    """A client whose CLIENT UNBLOCK reaches Redis before the read it means is blocked (it
    goes on another connection), so it unblocks nothing."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def client_unblock(self, *args: Any) -> int:
        return 0


class PendingWatch:
    """A loop's client that tells when the loop's read from "0" found nothing more."""

    def __init__(self, client: Any, done: asyncio.Event) -> None:
        self._client, self._done = client, done

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    async def xreadgroup(self, group: str, consumer: str, streams: dict[str, str], **kwargs: Any) -> Any:
        reply = await self._client.xreadgroup(group, consumer, streams, **kwargs)
        if "0" in streams.values() and not (reply and reply[0][1]):
            self._done.set()
        return reply


async def test_a_stream_is_left_only_once_no_read_names_it(redis_client: redis.asyncio.Redis) -> None:
    """Else the read still blocked on it takes the next holder's entry (Redis serves the
    client blocked first), and that holder, past its read from "0", never sees it."""
    await redis_client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    old = SharedReads(cast(redis.asyncio.Redis, NoUnblock(BatchedRedis(redis_client))), GROUP,
                      block_ms=300)
    old_handoff, stop_old = old.join(STREAM), asyncio.Event()
    old_task = asyncio.create_task(old.run(stop_old))
    await redis_client.xadd(STREAM, {"n": "before"})
    assert await _handed(old_handoff) == ["before"]  # its read is made and blocks again
    await redis_client.xack(STREAM, GROUP, old_handoff.take()[0][0])
    await old.leave(STREAM, old_handoff)  # the lease is handed back after this
    handled, changed = [], asyncio.Event()
    async with shared_reads(redis_client, []) as (new, facade):
        stopping = asyncio.Event()
        handoff, pending_done = new.join(STREAM), asyncio.Event()
        loop = _partition_loop(redis_client, PendingWatch(facade, pending_done), handoff, handled,
                               changed, stopping)
        await asyncio.wait_for(pending_done.wait(), 10)  # the new holder read "0" (nothing)
        await redis_client.xadd(STREAM, {"n": "mo"})
        await _handled_until(handled, ["mo"], changed)
        stopping.set()
        handoff.wake()
        await asyncio.gather(loop, return_exceptions=True)
    stop_old.set()
    old_task.cancel()
    await asyncio.gather(old_task, return_exceptions=True)


async def test_a_key_that_is_not_a_stream_does_not_stop_the_others(
    redis_client: redis.asyncio.Redis, caplog: pytest.LogCaptureFixture,
) -> None:
    async with shared_reads(redis_client, ["a"]) as (reads, _):
        await redis_client.set("broken", "not a stream")
        a, _broken = reads.join("a"), reads.join("broken")
        await redis_client.xadd("a", {"n": "a1"})
        assert await _handed(a) == ["a1"]
    assert "broken is not a stream" in caplog.text
