"""The gateway process, built from Settings; its resources opened and closed in one place.

    SMSC --deliver_sm--> SmppClient --MoIntake--> partition inbound streams
    partition inbound --TurnWorker (Dialog)--> subscriber state + partition outbound stream
    partition outbound --ReplySender--> SmppClient --submit_sm--> SMSC

Partitions are leased, so several processes can share one Redis; each works the partitions it
holds, and every process takes MO from the SMSC for any number.

Lifecycle: `Gateway(settings)` only builds objects (nothing is connected); `start` opens, in
order, the Redis client, the HTTP server, the SMPP link and the partition leases, each entered
on one `AsyncExitStack`; `stop` (or a failure at any step of `start`, then `StartupFailed`)
closes what was opened in reverse order. `async with Gateway(settings):` does both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any, Self

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from flows.dialog import Dialog
from flows.dialog_types import FlowConfig
from flows.ports import Registry
from gateway import garbage
from gateway.console import PhoneDriver, console_options
from gateway.errors import FOREIGN_RETRYABLE, SettingsError, StartupFailed
from gateway.limits import ReplyBudget
from gateway.observability.http_intake import CountingBridge
from gateway.observability.metrics import GatewayMetrics
from gateway.observability.scrape import Scraper
from gateway.registry_http.client import HttpRegistry
from gateway.sealing import Sealer
from gateway.settings import Settings, insecure_binding, is_loopback
from gateway.stopping import EitherEvent, exit_by
from gateway.store.aggregator_bridge import RedisAggregatorBridge
from gateway.store.batching import batched
from gateway.store.dead_letters import DeadLetters
from gateway.store.keys import Keys
from gateway.store.leases import PartitionLeases
from gateway.store.mo_parts import PartsSweeper
from gateway.store.receipts import RedisReceiptCorrelator
from gateway.store.registry import RedisRegistry
from gateway.store.subscribers import RedisSubscriberStore
from gateway.transports.http_app import build_http_app
from gateway.transports.http_auth import token_middleware
from gateway.transports.http_callbacks import ussd_routes
from gateway.transports.http_limits import concurrency_middleware
from gateway.transports.smpp_intake import IntakeConfig, MoIntake
from gateway.transports.smpp_sender import ReplySender
from gateway.transports.ussd_screens import ScreenSender
from gateway.worker import TurnWorker
from smpp.client import BINDS_OF_MODE, ClientConfig, SmppClient
from smpp.submit import Addressing

log = logging.getLogger("gateway.app")

# Connections of the HTTP callbacks' Redis client beyond the screen waits: for storing inputs.
HTTP_STORE_CONNECTIONS = 32


def connect_redis(
    settings: Settings, *, max_connections: int | None = None, socket_timeout: float = 5,
    pool_timeout: float = 10,
) -> Redis:
    """A bounded pool: under load callers wait for a connection instead of failing.

    With `redis.cluster`, a Redis Cluster client (same commands, `max_connections` per node;
    a caller finding none free gets an error, retried like any Redis error). Its retries are
    few and short: an MO must be refused (ESME_RX_T_APPN) promptly while a node is away.
    `max_connections` defaults to `redis.max_connections`; the HTTP callbacks' own client
    (`_http_server`) is sized by `http.max_screen_waits` instead.
    """
    options: dict[str, Any] = {
        "decode_responses": True, "socket_timeout": socket_timeout, "socket_connect_timeout": 2,
        "health_check_interval": 10,
        "max_connections": max_connections or settings.redis.max_connections,
    }
    if settings.redis.cluster:
        # A RedisCluster answers the same commands without being a Redis subclass.
        return RedisCluster.from_url(settings.redis.url, retry=_retry(), **options)  # type: ignore[return-value]
    # A pooled connection left over from before a Redis restart fails on first use: it is
    # opened again at once (the retry), so the first MO after the restart is stored, not refused.
    pool = BlockingConnectionPool.from_url(
        settings.redis.url, timeout=pool_timeout, retry=_retry(),
        retry_on_error=[RedisConnectionError, RedisTimeoutError], **options,
    )
    return Redis(connection_pool=pool)


@contextlib.asynccontextmanager
async def embedded_registry(settings: Settings) -> AsyncIterator[RedisRegistry]:
    """The embedded registry on the configured Redis (the one `registry load` fills), closed
    after use: for the commands that read or load it outside a running gateway."""
    redis = connect_redis(settings)
    try:
        yield RedisRegistry(redis, Keys(settings.redis.prefix, settings.redis.partitions))
    finally:
        await redis.aclose()


def _retry() -> Retry:
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3)


def flow_config(settings: Settings) -> FlowConfig:
    s = settings.service
    if s.secret_key is None:
        raise SettingsError("setting service.secret_key (HAMTA_SERVICE__SECRET_KEY): required, "
                            "no default (at least 32 characters, e.g. `openssl rand -hex 32`)")
    return FlowConfig(
        secret_key=s.secret_key.get_secret_value().encode("utf-8"),
        session_idle_seconds=s.session_idle_seconds, code_ttl_seconds=s.code_ttl_seconds,
        code_max_sends=s.code_max_sends, max_invalid_inputs=s.max_invalid_inputs,
        max_mismatches_per_session=s.max_mismatches_per_session,
        lockout_strikes=s.lockout_strikes, lockout_seconds=s.lockout_seconds,
        ussd_resume_seconds=int(settings.ussd.resume_seconds),
        codes_per_hour=settings.limits.codes_per_hour, codes_per_day=settings.limits.codes_per_day,
    )


def intake_config(settings: Settings) -> IntakeConfig:
    s = settings.smpp
    return IntakeConfig(
        parts_ttl_seconds=s.mo_segment_timeout_seconds,
        duplicate_window_seconds=s.mo_duplicate_window_seconds,
        redelivery_grace_seconds=s.mo_redelivery_grace_seconds,
        mo_default_coding=s.mo_default_coding,
        dialect=settings.ussd.selected_dialect(),
    )


def client_config(settings: Settings) -> ClientConfig:
    s = settings.smpp
    if s.password is None:
        raise SettingsError("setting smpp.password (HAMTA_SMPP__PASSWORD): required, no default")
    return ClientConfig(
        host=s.host, port=s.port, system_id=s.system_id, password=s.password.get_secret_value(),
        system_type=s.system_type, enquire_link_seconds=s.enquire_link_seconds,
        response_timeout_seconds=s.response_timeout_seconds,
        reconnect_min_seconds=s.reconnect_min_seconds, reconnect_max_seconds=s.reconnect_max_seconds,
        window=s.window, tps=s.tps, bind_mode=s.bind_mode, mo_default_coding=s.mo_default_coding,
    )


def addressing(settings: Settings) -> Addressing:
    s = settings.smpp
    return Addressing(settings.service.shortcode, s.source_ton, s.source_npi, s.destination_ton,
                      s.destination_npi, s.gsm_data_coding)


class Gateway:
    def __init__(self, settings: Settings, *, phone: PhoneDriver | None = None) -> None:
        """`phone`: the demo's handsets (devtools/web_phone.py), for the web console's phone."""
        self.settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.keys = Keys(settings.redis.prefix, settings.redis.partitions)
        self.redis = connect_redis(settings)
        self.metrics = GatewayMetrics()  # this process's own registry (gateway/observability/)
        # The turns' small commands, coalesced per event-loop tick (gateway/store/batching.py).
        self.turns_redis = turns_redis = batched(self.redis)
        # The embedded registry on the gateway's Redis (`registry load`/`show`, tests); the
        # dialogs use `dialog_registry`: this one, or the HTTP client for registry.backend http.
        self.registry = RedisRegistry(turns_redis, self.keys)
        self.registry_client = (
            HttpRegistry(settings.registry) if settings.registry.backend == "http" else None
        )
        self.dialog_registry: Registry = self.registry_client or self.registry
        self.receipts = RedisReceiptCorrelator(self.keys, settings.smpp.receipt_ttl_seconds,
                                               settings.smpp.receipt_id_format)
        dialect = settings.ussd.selected_dialect()
        self._intake = MoIntake(turns_redis, self.keys, self.receipts, intake_config(settings),
                                metrics=self.metrics)
        self.smpp = SmppClient(client_config(settings), self._intake.on_events)
        self._intake.last_link_loss = self._last_link_loss
        dialog = Dialog(self.dialog_registry, flow_config(settings))
        store = RedisSubscriberStore(turns_redis, self.keys, settings.service.default_language)
        sealer = Sealer(dialog.config.secret_key)
        dead_letters = DeadLetters(self.keys, settings.privacy.dead_letter_ttl_seconds,
                                   settings.privacy.keep_dead_letter_text, sealer)
        self.worker = TurnWorker(turns_redis, self.keys, dialog, store, self.owner,
                                 settings.service.shortcode, settings.ussd.answer_budget_seconds,
                                 settings.ussd.session_seconds, dead_letters, sealer,
                                 ReplyBudget(settings.limits.reply_segments_burst,
                                             settings.limits.reply_segments_per_10_minutes),
                                 metrics=self.metrics,
                                 registry_deadline_seconds=settings.registry.turn_deadline_seconds)
        screens = ScreenSender(self.redis, self.keys, self.smpp, dialect,
                               settings.ussd.answer_budget_seconds,
                               destination_ton=settings.smpp.destination_ton,
                               destination_npi=settings.smpp.destination_npi)
        self.sender = ReplySender(turns_redis, self.keys, self.smpp, addressing(settings), screens,
                                  sealer, dead_letters,
                                  settings.limits.sessionless_segments_per_second,
                                  metrics=self.metrics)
        self.worker.lanes = self.sender
        self.parts = PartsSweeper(self.redis, self.keys,
                                  max(settings.smpp.mo_segment_timeout_seconds / 4, 1.0))
        # Partitions are worked only while their replies can be sent (gateway/store/leases.py).
        self.leases = PartitionLeases(self.redis, self.keys, self.owner, settings.redis.lease_seconds,
                                      ready=lambda: self.smpp.can_submit,
                                      wait_ready=self.smpp.wait_can_submit)
        self.scraper = Scraper(self.metrics, self.redis, self.keys, self.smpp,
                               BINDS_OF_MODE[settings.smpp.bind_mode], settings.smpp.bind_mode,
                               lambda: self.leases.owned, [self.worker.rate_limited])
        self.console = console_options(settings, self.redis, self.keys, phone,
                                       admin_port=lambda: self.admin_port)
        self._stop_turns = asyncio.Event()  # workers finish their turn and take no more
        self._stop_sends = asyncio.Event()  # senders stop (after the replies are flushed)
        self._stop_leases = asyncio.Event()
        self._stack: AsyncExitStack | None = None
        self._deadline: float | None = None  # when the graceful stop must be over
        self.http_port: int | None = None
        self.admin_port: int | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open every resource, in order; on a failure close what was opened and raise
        `StartupFailed` naming the step."""
        log.info("starting gateway %s", self.owner)
        steps: list[tuple[str, Callable[[], AbstractAsyncContextManager[None]]]] = [
            ("Redis client", self._redis_client),
            ("registry client", self._registry_session),
            (f"HTTP server on {self.settings.http.host}:{self.settings.http.port}", self._http_server),
            (f"admin API on {self.settings.admin.host}:{self.settings.admin.port}", self._admin_server),
            ("SMPP link", self._smpp_link),
            ("partition leases", self._partitions),
        ]
        async with AsyncExitStack() as stack:
            for name, step in steps:
                try:
                    await stack.enter_async_context(step())
                except Exception as exc:
                    raise StartupFailed(f"could not open the {name}: {exc}") from exc
            self._stack = stack.pop_all()

    async def stop(self) -> None:
        """Graceful: refuse new MO (the SMSC retries elsewhere), finish the turns in flight,
        flush the queued replies, unbind, free the partitions, close HTTP and Redis; all within
        service.shutdown_seconds."""
        if self._stack is None:
            return
        self._deadline = asyncio.get_running_loop().time() + self.settings.service.shutdown_seconds
        stack, self._stack = self._stack, None
        await stack.aclose()
        log.info("gateway stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def run_until(self, stop: asyncio.Event) -> None:
        async with self:
            garbage.settle()  # start-up is over: what it made stays
            await stop.wait()
            budget = self.settings.service.shutdown_seconds
            exit_by(max(budget - min(0.1, budget / 20), 0.05))

    def _remaining(self) -> float:
        """Seconds left of the stop's budget (the whole budget when no stop has begun)."""
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self.settings.service.shutdown_seconds
        return self._deadline - loop.time()

    # -- the resources, each opened and closed by one context manager ----------------------------

    @contextlib.asynccontextmanager
    async def _redis_client(self) -> AsyncIterator[None]:
        try:
            yield  # the client connects lazily: the gateway starts while Redis is away
        finally:
            if self.turns_redis is not self.redis:
                await self.turns_redis.aclose()  # the coalesced commands' own connection
            await self.redis.aclose()

    @contextlib.asynccontextmanager
    async def _registry_session(self) -> AsyncIterator[None]:
        """The HTTP registry client's session (backend http), opened on first use: the gateway
        starts while the registry is away or refuses its token (/readyz says which)."""
        try:
            yield
        finally:
            if self.registry_client is not None:
                await self.registry_client.close()

    @contextlib.asynccontextmanager
    async def _http_server(self) -> AsyncIterator[None]:
        """The health routes and the aggregator callbacks. The callbacks store and wait for
        screens on a Redis client of their own (`http.max_screen_waits` + a few connections),
        so a crowd of USSD hops never takes the connections SMPP intake and the leases use."""
        http = self.settings.http
        self._check_http_exposure()
        budget = self.settings.ussd.answer_budget_seconds
        waits_redis = connect_redis(
            self.settings, max_connections=http.max_screen_waits + HTTP_STORE_CONNECTIONS,
            socket_timeout=budget + 5, pool_timeout=2)  # fmt: skip
        bridge = CountingBridge(RedisAggregatorBridge(waits_redis, self.keys), self.metrics)
        routes = ussd_routes(bridge, answer_budget_seconds=budget, max_screen_waits=http.max_screen_waits,
                             on_refused=self.metrics.limited)
        routes.append(self.scraper.route())  # GET /metrics, no token (DESIGN §4)
        guards = [concurrency_middleware(http.max_concurrent_requests, http.max_concurrent_per_source,
                                         self.metrics.limited)]
        if http.aggregator_token:
            guards.append(token_middleware(http.aggregator_token.get_secret_value()))
        app = build_http_app(self.readiness, routes, guards, client_max_size=http.max_body_bytes,
                             console=self.console)
        # Bodies are read as sent: a compressed one is refused (415), never inflated.
        runner = web.AppRunner(app, access_log=None, auto_decompress=False,
                               shutdown_timeout=self._close_reserve())
        try:
            await runner.setup()
            site = web.TCPSite(runner, http.host, http.port)
            await site.start()
            self.http_port = _bound_port(runner, http.port)
            log.info("HTTP listening on %s:%s", http.host, self.http_port)
            yield
        finally:
            await runner.cleanup()
            await waits_redis.aclose()

    @contextlib.asynccontextmanager
    async def _admin_server(self) -> AsyncIterator[None]:
        """The admin API (gateway/admin/http_api.py) on its own port; off without admin.token."""
        from gateway.admin.http_api import build_admin_app
        from gateway.admin.operations import operations_for

        admin = self.settings.admin
        if admin.token is None:
            log.info("admin API off: admin.token (HAMTA_ADMIN__TOKEN) is not set")
            yield
            return
        operations = operations_for(self.settings, self.redis, via="api")
        app = build_admin_app(operations, admin.token.get_secret_value(), self._console_origins)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=self._close_reserve())
        try:
            await runner.setup()
            await web.TCPSite(runner, admin.host, admin.port).start()
            self.admin_port = _bound_port(runner, admin.port)
            log.info("admin API listening on %s:%s", admin.host, self.admin_port)
            if not is_loopback(admin.host):
                log.warning("the admin API on %s is reachable beyond this host and has no TLS of "
                            "its own: put it behind a TLS proxy or a firewall", admin.host)
            yield
        finally:
            await runner.cleanup()

    def _console_origins(self) -> list[str]:
        """Browser origins the admin API answers: admin.cors_origins, else the HTTP server's."""
        if self.settings.admin.cors_origins:
            return self.settings.admin.cors_origins
        host, port = self.settings.http.host, self.http_port
        names = {host, "localhost", "127.0.0.1"} if is_loopback(host) else {host}
        return [f"http://{name}:{port}" for name in sorted(names)]

    def _check_http_exposure(self) -> None:
        """Settings validation refuses open callbacks on a non-loopback host already; this
        holds for settings built without it too, and warns about the allowed exception."""
        problem = insecure_binding(self.settings.http)
        if problem and not self.settings.http.allow_insecure:
            raise SettingsError(f"setting http.aggregator_token (HAMTA_HTTP__AGGREGATOR_TOKEN): {problem}")
        if problem:
            log.warning("http.allow_insecure is set: the aggregator callbacks on %s are open to "
                        "anyone who can reach the port (no http.aggregator_token)", self.settings.http.host)

    @contextlib.asynccontextmanager
    async def _smpp_link(self) -> AsyncIterator[None]:
        task = asyncio.create_task(self.smpp.run(), name="smpp")
        log.info("SMPP client connecting to %s:%s", self.settings.smpp.host, self.settings.smpp.port)
        try:
            yield
        finally:
            await self.smpp.stop(timeout=max(self._remaining(), 0.05))
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @contextlib.asynccontextmanager
    async def _partitions(self) -> AsyncIterator[None]:
        reads = self.worker.reads
        shared = None if reads is None else asyncio.create_task(reads.run(self._stop_turns),
                                                                 name="inbound reads")
        task = asyncio.create_task(self.leases.run(self._partition, self._stop_leases), name="leases")
        log.info("partition leases: %d partitions, lease %ss", self.keys.partitions,
                 self.settings.redis.lease_seconds)
        try:
            yield
        finally:
            await self._wind_down(task)
            if shared is not None:
                shared.cancel()
                await asyncio.gather(shared, return_exceptions=True)

    async def _partition(self, partition: int, handed_over: asyncio.Event) -> None:
        # A task group: if one of the two fails, the other is stopped too, so the lease loop
        # restarts the pair rather than leaving an orphan beside a new one.
        async with asyncio.TaskGroup() as group:
            group.create_task(self.worker.run(partition, EitherEvent(self._stop_turns, handed_over)))
            group.create_task(self.sender.run(partition, EitherEvent(self._stop_sends, handed_over)))
            group.create_task(self.parts.run(partition, EitherEvent(self._stop_turns, handed_over)))

    def _close_reserve(self) -> float:
        """What a stop keeps, after the unbind, for closing the servers and Redis."""
        return min(0.5, self.settings.service.shutdown_seconds / 10)

    async def _wind_down(self, leases: asyncio.Task[None]) -> None:
        """The flush gets what the end does not need: a quarter of the budget (at most the SMPP
        response timeout) for the partitions to wind down, a little for the unbind and the
        closing. Every wait here is bounded by the stop's deadline."""
        budget = self.settings.service.shutdown_seconds
        unbind = min(1.0, budget / 8)
        end = unbind + self._close_reserve()
        wind_down = min(self.settings.smpp.response_timeout_seconds, budget / 4)
        log.info("stopping gateway: refusing new MO, finishing turns, flushing replies")
        self._intake.draining = True
        self._stop_turns.set()
        await self._flush_replies(self._remaining() - wind_down - end)
        self._stop_sends.set()
        grace = self._remaining() - end - 0.25
        if not self.smpp.can_submit:
            # No bind: the senders can only wait for one. Give the turns in hand their time
            # (they need no bind) and no more; the replies stay queued for the next holder.
            grace = min(grace, wind_down)
        self.leases.release_grace_seconds = max(grace, 0.05)
        self._stop_leases.set()
        # It hands every partition back as it ends; past the deadline (Redis not answering the
        # releases) the leases are left to expire.
        _done, late = await asyncio.wait([leases], timeout=max(self._remaining() - end, 0.05))
        if late:
            log.warning("partitions not handed back in time; their leases expire by themselves")
            leases.cancel()
            self.leases.abandon()
            await asyncio.gather(leases, return_exceptions=True)

    async def _flush_replies(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline and self.smpp.can_submit:
            try:
                waiting = await asyncio.wait_for(self._queued_replies(), max(deadline - loop.time(), 0.01))
            except (*FOREIGN_RETRYABLE, TimeoutError):
                break
            if not waiting:
                return
            # Shutdown only: a short poll of the queue lengths, bounded by the deadline.
            await asyncio.sleep(0.05)
        log.warning("replies still queued at shutdown; the next holder of the partitions sends them")

    async def _queued_replies(self) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition in self.leases.owned:
                for lane in self.keys.outbound_lanes(partition):
                    pipe.xlen(lane)
            return sum(await pipe.execute())

    def _last_link_loss(self) -> tuple[str, float] | None:
        """The receiving bind lost most recently without an unbind: where a redelivery may
        come from (see gateway/transports/smpp_intake.py)."""
        losses = self.smpp.link_losses
        return (losses[-1].bind_id, losses[-1].lost_at) if losses else None

    # -- health ---------------------------------------------------------------------------------

    async def readiness(self) -> list[str]:
        problems = []
        try:
            await self.redis.ping()
        except FOREIGN_RETRYABLE as exc:
            problems.append(f"redis unreachable: {type(exc).__name__}")
        problems.extend(smpp_problems(self.smpp))
        if self.registry_client is not None and (problem := await self.registry_client.problem()):
            problems.append(problem)
        return problems


def smpp_problems(client: SmppClient) -> list[str]:
    """'smpp not bound' for a transceiver; with two binds, which: 'smpp receiver not bound'."""
    down = client.unbound
    if down == ["transceiver"]:
        return ["smpp not bound"]
    return [f"smpp {kind} not bound" for kind in down]


def _bound_port(runner: web.AppRunner, configured: int) -> int:
    """The port the HTTP server listens on (the OS chose it when `configured` is 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return configured
