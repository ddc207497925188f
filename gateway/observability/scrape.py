"""`GET /metrics`: the in-process metrics plus the gauges read at scrape time.

prometheus_client's collectors are synchronous, and Redis must not be waited for on the event
loop's thread, so the handler first reads everything that needs Redis, asynchronously and in one
round trip (one pipeline: XLEN of the inbound and outbound stream of every partition this
process holds, and of the dead letters), then renders the registry with that snapshot, with no
await in between (a concurrent scrape renders its own snapshot). When Redis does not answer, the
Redis gauges are left out of that scrape (an `absent()` alert notices) and the rest is served.

Read from this process's objects at scrape time, with no Redis: the binds (`hamta_smpp_bound`),
their re-binds (`hamta_smpp_reconnects_total`), the partitions held, and the rate-limit tallies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from gateway.errors import FOREIGN_RETRYABLE
from gateway.observability.metrics import GatewayMetrics
from gateway.store.keys import Keys

log = logging.getLogger("gateway.observability.scrape")


class Binds(Protocol):
    """What the scrape reads of the SMPP client (smpp.client.SmppClient)."""

    @property
    def unbound(self) -> Sequence[str]: ...

    @property
    def binds(self) -> int: ...

    @property
    def transmitter_binds(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Backlog:
    inbound: int
    outbound: int
    dead_letters: int


@dataclass(slots=True)
class Snapshot:
    """What one scrape shows beside the in-process metrics."""

    binds: dict[str, bool] = field(default_factory=dict)
    reconnects: int = 0
    partitions: int = 0
    backlog: Backlog | None = None  # None: Redis did not answer
    rate_limited: Mapping[str, int] = field(default_factory=dict)


class _SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterable[Metric]:
        return list(_families(self.snapshot))

    def describe(self) -> Iterable[Metric]:
        return []  # names known only at collect time; the registry must not call collect early


def _families(s: Snapshot) -> Iterator[Metric]:
    bound = GaugeMetricFamily("hamta_smpp_bound", "1 while the SMPP bind is up", labels=["bind"])
    for kind, up in s.binds.items():
        bound.add_metric([kind], 1.0 if up else 0.0)
    yield bound
    yield CounterMetricFamily("hamta_smpp_reconnects", "SMPP binds made again after the first",
                              value=s.reconnects)
    yield GaugeMetricFamily("hamta_partitions_held", "partitions this process holds",
                            value=s.partitions)
    limited = CounterMetricFamily("hamta_rate_limited", "requests refused or silenced by a "
                                  "limit, by the limit's setting", labels=["limit"])
    for limit, count in sorted(s.rate_limited.items()):
        limited.add_metric([limit], float(count))
    yield limited
    if s.backlog is None:
        return
    depth = GaugeMetricFamily("hamta_queue_depth", "entries in the streams of the partitions "
                              "held (in flight included)", labels=["direction"])
    depth.add_metric(["inbound"], s.backlog.inbound)
    depth.add_metric(["outbound"], s.backlog.outbound)
    yield depth
    yield GaugeMetricFamily("hamta_dead_letters", "entries in the dead-letter stream",
                            value=s.backlog.dead_letters)


def reconnects(binds: Binds, bind_mode: str) -> int:
    """Binds made again after the first, per session (a transceiver is one session)."""
    again = max(binds.binds - 1, 0)
    if bind_mode == "receiver_transmitter":
        again += max(binds.transmitter_binds - 1, 0)
    return again


class Scraper:
    """Renders `/metrics` for one gateway process."""

    def __init__(
        self, metrics: GatewayMetrics, redis: Redis, keys: Keys, smpp: Binds, bind_kinds: Sequence[str],
        bind_mode: str, partitions: Callable[[], Iterable[int]],
        tallies: Sequence[Mapping[str, int]] = (),
    ) -> None:  # fmt: skip
        self._metrics = metrics
        self._redis = redis
        self._keys = keys
        self._smpp = smpp
        self._bind_kinds = tuple(bind_kinds)
        self._bind_mode = bind_mode
        self._partitions = partitions
        self._tallies = tallies
        self._collector = _SnapshotCollector()
        metrics.registry.register(self._collector)

    async def snapshot(self) -> Snapshot:
        held = sorted(self._partitions())
        down = set(self._smpp.unbound)
        limited: dict[str, int] = {}
        for tally in (self._metrics.rate_limited, *self._tallies):
            for limit, count in tally.items():
                limited[limit] = limited.get(limit, 0) + count
        return Snapshot({kind: kind not in down for kind in self._bind_kinds},
                        reconnects(self._smpp, self._bind_mode), len(held),
                        await self._backlog(held), limited)

    async def _backlog(self, held: list[int]) -> Backlog | None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for partition in held:  # inbound, then both outbound lanes
                    pipe.xlen(self._keys.inbound(partition))
                    for lane in self._keys.outbound_lanes(partition):
                        pipe.xlen(lane)
                pipe.xlen(self._keys.dead_letters())
                lengths = [int(n) for n in await pipe.execute()]
        except FOREIGN_RETRYABLE as exc:
            log.warning("metrics scrape without the Redis gauges: %s", type(exc).__name__)
            return None
        streams = lengths[:-1]
        inbound = sum(streams[0::3])
        return Backlog(inbound, sum(streams) - inbound, lengths[-1])

    def render(self, snapshot: Snapshot) -> bytes:
        self._collector.snapshot = snapshot
        return generate_latest(self._metrics.registry)

    async def handle(self, request: web.Request) -> web.Response:
        body = self.render(await self.snapshot())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def route(self) -> web.RouteDef:
        return web.get("/metrics", self.handle)
