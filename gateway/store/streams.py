"""Reading partition streams through a consumer group: pending entries first, then new ones,
those of every partition a process holds in one blocking read (`SharedReads`).

Only the holder of a partition's lease reads it, under one fixed consumer name, so after a
crash the next holder finds the unacknowledged entries in the group's pending list and
processes them before anything newer: nothing acknowledged is lost, order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from gateway.errors import is_retryable
from gateway.stopping import Stopping
from gateway.store.batching import BatchedRedis, dedicated

log = logging.getLogger("gateway.store.streams")

CONSUMER = "lease-holder"
# Entries handed to a loop and not taken yet, at most (`Handoff.full`): a few batches.
HANDED_LIMIT = 256
T = TypeVar("T")
Entry = tuple[str, dict[str, str]]


def entry_fields(fields: Mapping[str, str]) -> dict[FieldT, EncodableT]:
    """A stream entry's fields as redis-py types them (any encodable; ours are all str)."""
    typed: dict[FieldT, EncodableT] = {}
    typed.update(fields.items())
    return typed


async def ensure_group(redis: Redis, stream: str, group: str) -> None:
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class Handoff:
    """What a producer in this process tells a consumer loop (`consume(handoff=...)`): that it
    added entries (`wake`), or the entries themselves, read for the loop's consumer by the
    script that added them (`hand`: commit_turn.lua), so the loop needs no read of its own.

    Handed entries are pending in the group from that read on, as after any read: a loop that
    stops before taking them leaves them to the next holder, which reads from "0" first.
    `reread` (a hand-over that may have been lost: the script's answer never came) has the
    loop read from "0" too.

    A loop slower than its producer (a lane under the SMSC's TPS or throttling) holds at most
    `limit` handed entries: past that (`full`), the producer adds its entries without reading
    them and says so (`fall_behind`); they wait in Redis, and the loop reads them itself. It is
    handed entries again once a read of its own finds no more (`consume`), so what is handed is
    never newer than what is left to read.
    """

    def __init__(self, taken: Callable[[], None] | None = None, limit: int = HANDED_LIMIT) -> None:
        self.entries: list[Entry] = []
        self.event = asyncio.Event()
        self.from_pending = False
        self.behind = False  # entries were added and not handed: the loop reads until caught up
        self.skipped = 0  # hand-overs not made (see `consume`: caught up only if none meanwhile)
        self._limit = limit
        self._taken = taken  # told when the loop takes what was handed (`SharedReads`)
        self._pending_upto: tuple[int, int] | None = None  # newest id the loop read from "0"

    @property
    def full(self) -> bool:
        """Whether the producer should leave its entries in Redis instead of handing them."""
        return self.behind or len(self.entries) >= self._limit

    def fall_behind(self) -> None:
        self.behind = True
        self.skipped += 1
        self.event.set()

    def wake(self) -> None:
        self.event.set()

    def hand(self, entries: list[Entry]) -> None:
        self.entries.extend(entries)
        self.event.set()

    def reread(self) -> None:
        self.from_pending = True
        self.event.set()

    def read_pending(self, entries: list[Entry]) -> None:
        """The loop read these from "0" (its pending entries, oldest first)."""
        if entries:
            newest = _stream_id(entries[-1][0])
            if self._pending_upto is None or newest > self._pending_upto:
                self._pending_upto = newest

    def take(self, limit: int | None = None) -> list[Entry]:
        """What was handed (the oldest `limit` of it), for the loop to handle; less what a read
        from "0" gave the loop already. A hand-over can come after such a read that found its
        entries pending (the two answers come on different connections); an entry delivered
        after that read is newer than all it gave, so what is not newer was given by it."""
        if limit is None or len(self.entries) <= limit:
            handed, self.entries = self.entries, []
        else:
            handed, self.entries = self.entries[:limit], self.entries[limit:]
        if self._pending_upto is not None and handed:
            upto = self._pending_upto
            handed = [entry for entry in handed if _stream_id(entry[0]) > upto]
            if handed:  # hand-overs come in stream order: the rest are newer still
                self._pending_upto = None
        if self._taken is not None:
            self._taken()
        return handed


class SharedReads:
    """One blocking read of new entries for the streams of every partition this process holds,
    instead of one per stream: the entries of many partitions come in one answer, so their
    turns start in the same tick and their commands share the same round trips (with a read of
    its own, each partition's loop woke on its own, into batches of one or two turns).

    A loop `join`s with its stream and gets the `Handoff` the read gives its entries to
    (`consume(handoff=..., read_new=False)`); it still reads its pending entries itself, from
    "0". A read whose answer was lost (a dropped connection, a timeout) has every loop read its
    pending ones again (`Handoff.reread`): what Redis handed over is pending, not lost.

    A loop that has not taken what was handed to it (`batch` entries or more) is left out of
    the next read until it does: entries wait in Redis, not in this process's memory, as they
    did for a loop reading for itself.

    A stream joining while the read is blocked makes it return at once (CLIENT UNBLOCK on the
    read's own connection), so a partition taken over is read from then on; so does a stream
    left out for want of room when its loop takes its entries. A loop `leave`s only once no read
    on its way names its stream: the partition's next holder, which reads its pending entries
    once, at the start, must find there whatever this process's reads took. A stream Redis
    cannot read (not a stream: WRONGTYPE) is left out, logged, instead of stopping the others.

    Streams of different partitions are in different hash slots: a Redis Cluster cannot read
    them in one command, and there each loop reads its own (`shares_reads`).
    """

    def __init__(self, redis: Redis, group: str, batch: int = 64, block_ms: int = 500) -> None:
        self._redis = redis
        self._group = group
        self._batch = batch
        self._block_ms = block_ms
        self._handoffs: dict[str, Handoff] = {}
        self._left_out: set[str] = set()  # by the read now on its way, for want of room
        self._unreadable: set[str] = set()  # streams Redis refused to read (WRONGTYPE)
        self._reading: frozenset[str] = frozenset()  # the streams of the read on its way
        self._read_over = asyncio.Event()  # set between reads
        self._read_over.set()
        self._joined = asyncio.Event()  # a stream joined, or one left out has room again
        self._client_id: int | None = None  # of the blocked read's connection, when known
        self._unblocks: set[asyncio.Future[Any]] = set()

    def join(self, stream: str) -> Handoff:
        handoff = self._handoffs[stream] = Handoff(functools.partial(self._taken, stream))
        self._unreadable.discard(stream)
        self._joined.set()
        self._unblock()  # the read may be blocked without this stream
        return handoff

    async def leave(self, stream: str, handoff: Handoff) -> None:
        """The read goes on without the stream: this returns once no read on its way names it
        (the blocked one is unblocked, or returns within `block_ms`). What a read brought for
        it meanwhile is pending, for the next holder's read from "0"."""
        if self._handoffs.get(stream) is handoff:  # not a newer loop's, on the same stream
            del self._handoffs[stream]
        while stream in self._reading and stream not in self._handoffs:
            self._unblock()
            await set_within(self._read_over, self._block_ms / 1000)

    @property
    def left_out(self) -> frozenset[str]:
        """The streams the read leaves out until their loops take what they were handed."""
        return frozenset(self._left_out)

    def _taken(self, stream: str) -> None:
        if stream in self._left_out:
            self._left_out.discard(stream)
            self._joined.set()
            self._unblock()

    def _unblock(self) -> None:
        """The blocked read returns (as if it had timed out) and the next one reads the streams
        joined now. Sent on the shared connection, before any command issued after it there
        (an MO stored for a stream just left)."""
        if self._client_id is None:
            return  # no read made yet, or its connection is being made again
        unblock = asyncio.ensure_future(self._redis.client_unblock(self._client_id))
        self._unblocks.add(unblock)
        unblock.add_done_callback(_forget_outcome(self._unblocks))

    def _to_read(self) -> list[str]:
        """The streams the next read names: those joined, with room, and readable."""
        streams = [stream for stream, handoff in self._handoffs.items()
                   if len(handoff.entries) < self._batch and stream not in self._unreadable]
        self._left_out = {stream for stream, handoff in self._handoffs.items()
                          if len(handoff.entries) >= self._batch}
        return streams

    async def run(self, stopping: Stopping) -> None:
        reader = dedicated(self._redis)
        try:
            while not stopping.is_set():
                if not self._to_read():
                    self._joined.clear()
                    await set_within(self._joined, self._block_ms / 1000)
                    continue
                try:
                    reply = await retrying(functools.partial(self._read, reader), stopping)
                except Exception:  # not Redis being away: its loops read their pending ones
                    log.exception("shared read of %d streams failed", len(self._handoffs))
                    await set_within(stopping, self._block_ms / 1000)
                    continue
                for stream, entries in reply or []:
                    handoff = self._handoffs.get(stream)
                    if handoff is not None:
                        handoff.hand(entries)
        finally:
            if reader is not self._redis:
                await reader.aclose()

    async def _read(self, reader: Redis) -> Any:
        """One read of the streams to read now (chosen again on each retry)."""
        streams = self._to_read()
        if not streams:
            return None
        self._reading = frozenset(streams)
        self._read_over.clear()
        try:
            if self._client_id is None:
                self._client_id = int(await reader.client_id())
            new: dict[Any, Any] = dict.fromkeys(streams, ">")
            return await reader.xreadgroup(self._group, CONSUMER, new, count=self._batch,
                                          block=self._block_ms)
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                log.error("a consumer group %s of %s was missing; created again", self._group,
                          ", ".join(streams))
                for stream in streams:
                    await ensure_group(self._redis, stream, self._group)
                return None
            await self._find_unreadable(streams, exc)
            return None
        except Exception:
            # Redis may have handed entries over before the answer was lost: they are pending
            # now, and only a read from "0" gives them; the next connection has another id.
            self._client_id = None
            for handoff in self._handoffs.values():
                handoff.reread()
            raise
        finally:
            self._reading = frozenset()
            self._read_over.set()

    async def _find_unreadable(self, streams: list[str], error: ResponseError) -> None:
        """Which of the streams made Redis refuse the read: those keys are not streams."""
        kinds = await asyncio.gather(*(self._redis.type(stream) for stream in streams))
        bad = {stream for stream, kind in zip(streams, kinds, strict=True) if kind not in ("stream", "none")}
        if not bad:
            raise error
        for stream in sorted(bad):
            log.error("%s is not a stream (%s): its partition's new entries are not read", stream,
                      error)
        self._unreadable |= bad


def shares_reads(redis: Redis) -> bool:
    """Whether one command can read every partition's stream, blocked on a connection of its
    own whose id CLIENT UNBLOCK can name: a coalescing client's (`dedicated`), not a Redis
    Cluster's (whose slots one command cannot span) nor a pool's."""
    facade: object = redis
    return isinstance(facade, BatchedRedis)


def _forget_outcome(pending: set[asyncio.Future[Any]]) -> Callable[[asyncio.Future[Any]], None]:
    def done(future: asyncio.Future[Any]) -> None:
        pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.debug("CLIENT UNBLOCK failed: %s", future.exception())  # the read returns anyway

    return done


async def consume(
    redis: Redis,
    stream: str,
    group: str,
    handle: Callable[[Entry], Awaitable[None]],
    key: Callable[[Entry], str],
    stopping: Stopping,
    batch: int = 64,
    block_ms: int = 500,
    handoff: Handoff | None = None,
    read_new: bool = True,
) -> None:
    """Hand each entry to `handle` until `stopping` is set; `handle` acknowledges.

    Entries with the same `key` (one phone number) are handled one at a time in stream order;
    entries of different keys in one batch are handled concurrently.

    Without `handoff`, the loop waits for new entries in a blocking read (up to `block_ms`) on
    a connection of its own. With it, the producer in this process hands it the entries it
    added, or wakes it to read them (without blocking, on `redis`, with the tick's other
    commands); between batches it waits for that or `block_ms`, whichever comes first, then
    reads: an entry another process added (an operator's replay) is read within `block_ms`.
    Whatever it reads and what it was handed go in stream order. With `read_new` False, new
    entries come only by the handoff (a `SharedReads`): the loop reads its pending ones alone.
    """
    await retrying(lambda: ensure_group(redis, stream, group), stopping)
    cursor = "0"
    # A blocking read holds its connection: this loop's own.
    reader = dedicated(redis) if handoff is None else redis

    async def read() -> Any:
        nonlocal cursor
        blocking = cursor != "0" and handoff is None
        try:
            return await reader.xreadgroup(group, CONSUMER, {stream: cursor}, count=batch,
                                          block=block_ms if blocking else None)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or its group is gone (a Redis restarted without persistence, a
            # deleted key): make it again rather than waiting forever on a missing group.
            log.error("consumer group %s of %s was missing; created again", group, stream)
            await ensure_group(redis, stream, group)
            return None
        except Exception:
            # The answer may have been lost after Redis handed the entries over (a timeout, a
            # dropped connection): they are pending now, and only a read from "0" gives them.
            cursor = "0"
            raise

    async def next_entries() -> tuple[list[Entry], bool]:
        """The next batch, and whether it was all there was (the loop may wait)."""
        nonlocal cursor
        if handoff is not None:
            handoff.event.clear()  # before looking: what comes after sets it again
            if handoff.from_pending:
                handoff.from_pending, cursor = False, "0"
            if cursor == ">" and (handoff.entries or not read_new):
                # A batch at a time, as a read gives them; what is left goes next, in order.
                handed = handoff.take(batch)
                return handed, not handoff.entries
        from_pending = cursor == "0"
        skipped = handoff.skipped if handoff is not None else 0
        reply = await retrying(read, stopping)
        entries: list[Entry] = reply[0][1] if reply else []
        if handoff is not None and handoff.behind and not from_pending and len(entries) < batch \
                and handoff.skipped == skipped:
            # All there was, and nothing added unhanded since the read went: caught up.
            handoff.behind = False
        if from_pending and not entries:
            cursor = ">"  # the backlog of this group is done; from now on, new entries
        if handoff is not None and from_pending:
            handoff.read_pending(entries)
        if handoff is not None and handoff.entries:
            entries = _with_handed(entries, handoff, from_pending)
        return entries, not from_pending and len(entries) < batch

    try:
        while not stopping.is_set():
            entries, drained = await next_entries()
            runs = _by_key(entries, key)
            if len(runs) == 1:  # one number's entries: no task to make
                await _in_order(runs[0], handle, stopping)
            elif runs:
                await asyncio.gather(*(_in_order(run, handle, stopping) for run in runs))
            if handoff is not None and drained:
                # All there was: wait for the producer's word (given meanwhile: at once), not
                # a read that would find nothing, one per batch.
                await set_within(handoff.event, block_ms / 1000)
    finally:
        if reader is not redis:
            await reader.aclose()


def _with_handed(read: list[Entry], handoff: Handoff, from_pending: bool) -> list[Entry]:
    """A read of new entries and those handed meanwhile (the two never share one), together
    in stream order. A read from "0" gives again what was handed before it (pending too): those
    are dropped from the handed, the rest wait until the pending ones are all done."""
    if from_pending:
        seen = {entry_id for entry_id, _ in read}
        handoff.entries = [entry for entry in handoff.entries if entry[0] not in seen]
        return read
    return sorted(read + handoff.take(), key=lambda entry: _stream_id(entry[0]))


def _stream_id(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def _by_key(entries: list[Entry], key: Callable[[Entry], str]) -> list[list[Entry]]:
    runs: dict[str, list[Entry]] = {}
    for entry in entries:
        runs.setdefault(key(entry), []).append(entry)
    return list(runs.values())


async def _in_order(
    run: list[Entry], handle: Callable[[Entry], Awaitable[None]], stopping: Stopping
) -> None:
    for entry in run:
        if stopping.is_set():
            return
        await handle(entry)


async def retrying(call: Callable[[], Awaitable[T]], stopping: Stopping) -> T | None:
    """Call until Redis answers, backing off; None only when `stopping` is set first. Only
    retryable errors (`gateway.errors.is_retryable`) are tried again; the others propagate.

    The first call is always made, so what was just done (a reply the SMSC accepted) is
    acknowledged even when a stop or a hand-over came meanwhile; only the retries give way.
    """
    delay = 0.05
    while True:
        try:
            return await call()
        except Exception as exc:
            if not is_retryable(exc):
                raise
            if stopping.is_set():
                return None
            log.warning("Redis unavailable (%s); retrying in %.2fs", type(exc).__name__, delay)
            if await set_within(stopping, delay):
                return None
            delay = min(delay * 2, 2.0)


async def set_within(event: Stopping, seconds: float) -> bool:
    """Wait `seconds`, or less when `event` (a stop, a producer's wake-up) is set meanwhile;
    whether it is set. No task is made for the wait (`asyncio.timeout`, not `wait_for`): a
    reply lane waits here once per batch."""
    if event.is_set():
        return True
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
