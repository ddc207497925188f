"""The gateway process, built from Settings: every resource opened in `start`, closed in `stop`.

    SMSC --deliver_sm--> SmppClient --MoIntake--> partition inbound streams
    partition inbound --TurnWorker (Dialog)--> subscriber state + partition outbound stream
    partition outbound --ReplySender--> SmppClient --submit_sm--> SMSC

Partitions are leased, so several processes can share one Redis; each works the partitions it
holds, and every process takes MO from the SMSC for any number.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from typing import Any

from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import RedisError

from flows.dialog import Dialog
from flows.dialog_types import FlowConfig
from gateway.settings import Settings, SettingsError
from gateway.stopping import EitherEvent
from gateway.store.aggregator_bridge import RedisAggregatorBridge
from gateway.store.keys import Keys
from gateway.store.leases import PartitionLeases
from gateway.store.receipts import RedisReceiptCorrelator
from gateway.store.registry import RedisRegistry
from gateway.store.subscribers import SubscriberStore
from gateway.transports.http_app import build_http_app
from gateway.transports.http_auth import token_middleware
from gateway.transports.http_callbacks import ussd_routes
from gateway.transports.smpp_intake import MoIntake
from gateway.transports.smpp_sender import ReplySender
from gateway.transports.ussd_screens import ScreenSender
from gateway.worker import TurnWorker
from smpp.client import ClientConfig, SmppClient
from smpp.submit import Addressing

log = logging.getLogger("gateway.app")


def connect_redis(settings: Settings) -> Redis:
    """A bounded pool: under load callers wait for a connection instead of failing.

    With `redis.cluster`, a Redis Cluster client (same commands, `max_connections` per node;
    a caller finding none free gets an error, retried like any Redis error). Its retries are
    few and short: an MO must be refused (ESME_RX_T_APPN) promptly while a node is away.
    """
    options: dict[str, Any] = {
        "decode_responses": True, "socket_timeout": 5, "socket_connect_timeout": 2,
        "health_check_interval": 10, "max_connections": settings.redis.max_connections,
    }
    if settings.redis.cluster:
        retry = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3)
        cluster = RedisCluster.from_url(settings.redis.url, retry=retry, **options)
        return cluster  # type: ignore[return-value]  # the same commands, not a subclass
    pool = BlockingConnectionPool.from_url(settings.redis.url, timeout=10, **options)
    return Redis(connection_pool=pool)


def flow_config(settings: Settings) -> FlowConfig:
    s = settings.service
    return FlowConfig(
        session_idle_seconds=s.session_idle_seconds, code_ttl_seconds=s.code_ttl_seconds,
        code_max_sends=s.code_max_sends, max_invalid_inputs=s.max_invalid_inputs,
        max_mismatches_per_session=s.max_mismatches_per_session,
        lockout_strikes=s.lockout_strikes, lockout_seconds=s.lockout_seconds,
        ussd_resume_seconds=int(settings.ussd.resume_seconds),
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
        window=s.window, tps=s.tps,
    )


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.keys = Keys(settings.redis.prefix, settings.redis.partitions)
        self.redis = connect_redis(settings)
        self.registry = RedisRegistry(self.redis, self.keys)
        self.receipts = RedisReceiptCorrelator(settings.redis.prefix, settings.smpp.receipt_ttl_seconds)
        intake = MoIntake(self.redis, self.keys, self.receipts, settings.smpp.mo_segment_timeout_seconds,
                          settings.smpp.mo_duplicate_window_seconds, settings.ussd.selected_dialect())
        self.smpp = SmppClient(client_config(settings), intake.on_events)
        dialog = Dialog(self.registry, flow_config(settings))
        store = SubscriberStore(self.redis, self.keys, settings.service.default_language)
        self.worker = TurnWorker(self.redis, self.keys, dialog, store, self.owner,
                                 settings.service.shortcode, settings.ussd.answer_budget_seconds,
                                 settings.ussd.session_seconds)
        addressing = Addressing(settings.service.shortcode, settings.smpp.source_ton, settings.smpp.source_npi)
        screens = ScreenSender(self.redis, self.keys, self.smpp, settings.ussd.selected_dialect(),
                               settings.ussd.answer_budget_seconds)
        self.sender = ReplySender(self.redis, self.keys, self.smpp, addressing, screens)
        self.leases = PartitionLeases(self.redis, self.keys, self.owner, settings.redis.lease_seconds)
        self._intake = intake
        self._stop_turns = asyncio.Event()  # workers finish their turn and take no more
        self._stop_sends = asyncio.Event()  # senders stop (after the replies are flushed)
        self._stop_leases = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._http: web.AppRunner | None = None
        self.http_port: int | None = None

    async def start(self) -> None:
        log.info("starting gateway %s", self.owner)
        await self._start_http()
        self._tasks.append(asyncio.create_task(self.smpp.run(), name="smpp"))
        log.info("SMPP client connecting to %s:%s", self.settings.smpp.host, self.settings.smpp.port)
        self._leases_task = asyncio.create_task(self.leases.run(self._partition, self._stop_leases))
        self._tasks.append(self._leases_task)
        log.info("partition leases: %d partitions, lease %ss", self.keys.partitions,
                 self.settings.redis.lease_seconds)

    async def _partition(self, partition: int, handed_over: asyncio.Event) -> None:
        # A task group: if one of the two fails, the other is stopped too, so the lease loop
        # restarts the pair rather than leaving an orphan beside a new one.
        async with asyncio.TaskGroup() as group:
            group.create_task(self.worker.run(partition, EitherEvent(self._stop_turns, handed_over)))
            group.create_task(self.sender.run(partition, EitherEvent(self._stop_sends, handed_over)))

    async def _start_http(self) -> None:
        routes = ussd_routes(RedisAggregatorBridge(self.redis, self.keys),
                             answer_budget_seconds=self.settings.ussd.answer_budget_seconds)
        token = self.settings.http.aggregator_token
        guards = [token_middleware(token.get_secret_value())] if token else []
        self._http = web.AppRunner(build_http_app(self.readiness, routes, guards), access_log=None)
        await self._http.setup()
        site = web.TCPSite(self._http, self.settings.http.host, self.settings.http.port)
        await site.start()
        sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
        self.http_port = sockets[0].getsockname()[1] if sockets else self.settings.http.port
        log.info("HTTP listening on %s:%s", self.settings.http.host, self.http_port)

    async def readiness(self) -> list[str]:
        problems = []
        try:
            await self.redis.ping()
        except RedisError as exc:
            problems.append(f"redis unreachable: {type(exc).__name__}")
        if not self.smpp.is_bound:
            problems.append("smpp not bound")
        return problems

    async def stop(self) -> None:
        """Graceful: refuse new MO (the SMSC retries elsewhere), finish the turns in flight,
        flush the queued replies, unbind, free the partitions; all within shutdown_seconds.

        The flush gets what the end does not need: a quarter of the budget (at most the SMPP
        response timeout) for the partitions to wind down, a little for the unbind."""
        loop = asyncio.get_running_loop()
        budget = self.settings.service.shutdown_seconds
        deadline = loop.time() + budget
        unbind = min(1.0, budget / 8)
        wind_down = min(self.settings.smpp.response_timeout_seconds, budget / 4)
        log.info("stopping gateway: refusing new MO, finishing turns, flushing replies")
        self._intake.draining = True
        self._stop_turns.set()
        await self._flush_replies(deadline - wind_down - unbind)
        self._stop_sends.set()
        self.leases.release_grace_seconds = max(deadline - unbind - loop.time(), 0.05)
        self._stop_leases.set()
        await self._leases_task  # it hands every partition back as it ends
        await self.smpp.stop(timeout=max(deadline - loop.time(), 0.05))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.cleanup()
        await self.redis.aclose()
        log.info("gateway stopped")

    async def _flush_replies(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline and self.smpp.is_bound:
            try:
                waiting = await self._queued_replies()
            except RedisError:
                break
            if not waiting:
                return
            # Shutdown only: a short poll of the queue lengths, bounded by the deadline.
            await asyncio.sleep(0.05)
        log.warning("replies still queued at shutdown; the next holder of the partitions sends them")

    async def _queued_replies(self) -> int:
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition in self.leases.owned:
                pipe.xlen(self.keys.outbound(partition))
            return sum(await pipe.execute())

    async def run_until(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
