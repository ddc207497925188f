"""`hamta-gateway registry serve`: the reference server's process (server.py's app on the
settings' Redis and registry.token), until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gateway.app import connect_redis
from gateway.errors import SettingsError
from gateway.registry_http.idempotency import IdempotencyStore
from gateway.registry_http.server import RegistryFaults, build_registry_app
from gateway.settings import Settings
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry

log = logging.getLogger("gateway.registry_http.serving")


@contextlib.asynccontextmanager
async def registry_server(
    settings: Settings, host: str, port: int, faults: RegistryFaults | None = None
) -> AsyncIterator[int]:
    """Serve until the block ends; yields the bound port (port 0: the OS chose it)."""
    token = settings.registry.token
    if token is None:
        raise SettingsError("setting registry.token (HAMTA_REGISTRY__TOKEN): required by "
                            "`registry serve`, no default (16+ characters)")
    redis = connect_redis(settings)
    keys = Keys(settings.redis.prefix, settings.redis.partitions)
    idempotency = IdempotencyStore(redis, keys, settings.registry.idempotency_ttl_seconds)
    app = build_registry_app(RedisRegistry(redis, keys), redis, token.get_secret_value(),
                             idempotency, faults)
    runner = web.AppRunner(app, access_log=None)  # URLs hold nothing personal; bodies unlogged
    try:
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = next(a[1] for a in runner.addresses if isinstance(a, tuple))
        if faults is not None and (faults.delay_seconds or faults.fail_after_apply):
            log.warning("registry API with test faults: %s", faults)
        log.info("registry API listening on %s:%s", host, bound)
        yield int(bound)
    finally:
        await runner.cleanup()
        await redis.aclose()


async def serve(settings: Settings, host: str, port: int, stop: asyncio.Event) -> None:
    async with registry_server(settings, host, port, RegistryFaults.from_environment()):
        await stop.wait()
    log.info("registry API stopped")
