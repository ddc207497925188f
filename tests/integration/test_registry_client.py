"""`HttpRegistry` against the reference server in this process: its deadline, retries with the
same key, circuit breaker and refused credentials (tests/system/test_registry_faults.py does
the same through real processes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import redis.asyncio

from flows.ports import MoveResult, RegistryUnavailable, RestoreMove
from gateway.registry_http.client import HttpRegistry, RegistryRefused
from gateway.registry_http.deadline import turn_deadline
from gateway.registry_http.server import RegistryFaults
from gateway.registry_http.serving import registry_server
from gateway.settings import RegistrySettings
from gateway.store.keys import Keys
from tests.harness import REGISTRY_TOKEN, SARA_DEVICE, SARA_NEW, SARA_OLD, gateway_settings

KEYS = Keys()
Serve = Callable[..., AbstractAsyncContextManager[int]]


@pytest.fixture
def serve(db: redis.asyncio.Redis, redis_url: str) -> Serve:
    def served(faults: RegistryFaults | None = None, port: int = 0,
               token: str = REGISTRY_TOKEN) -> AbstractAsyncContextManager[int]:
        settings = gateway_settings(redis_url, 1, registry={"token": token})
        return registry_server(settings, "127.0.0.1", port, faults)

    return served


def client(port: int, **options: Any) -> HttpRegistry:
    return HttpRegistry(RegistrySettings(backend="http", url=f"http://127.0.0.1:{port}/",
                                         token=REGISTRY_TOKEN, **options))


MOVE = RestoreMove(SARA_DEVICE, SARA_OLD, SARA_NEW, operation_id="op-client-01", message_id="m-1")


async def test_a_slow_registry_is_cut_at_the_turns_deadline(serve: Serve) -> None:
    async with serve(RegistryFaults(delay_seconds=2)) as port:
        registry = client(port, timeout_seconds=5)
        try:
            started = time.monotonic()
            with turn_deadline(0.3), pytest.raises(RegistryUnavailable):
                await registry.check_sim(SARA_NEW)
            assert time.monotonic() - started < 1.5
        finally:
            await registry.close()


async def test_a_lost_answer_is_retried_with_the_same_key_and_applied_once(
    serve: Serve, db: redis.asyncio.Redis
) -> None:
    async with serve(RegistryFaults(fail_after_apply=1)) as port:
        registry = client(port, retries=2, backoff_seconds=0.01)
        try:
            assert await registry.restore_device(MOVE) is MoveResult.ALREADY_APPLIED
        finally:
            await registry.close()
    audit = [f for _id, f in await db.xrange(KEYS.audit()) if f["action"] == "restore_device"]
    assert [entry["operation_id"] for entry in audit] == ["op-client-01"]


async def test_the_breaker_fails_fast_while_open_and_closes_after_a_good_probe(serve: Serve) -> None:
    async with serve() as port:
        pass  # the port is free again: nothing listens there now
    registry = client(port, retries=0, breaker_failures=2, breaker_reset_seconds=0.2)
    try:
        for _ in range(2):
            with pytest.raises(RegistryUnavailable, match="unreachable"):
                await registry.check_sim(SARA_NEW)
        with pytest.raises(RegistryUnavailable, match="circuit open"):
            await registry.check_sim(SARA_NEW)
        assert (await registry.problem() or "").startswith("registry unavailable (circuit open")
        async with serve(port=port):
            with pytest.raises(RegistryUnavailable, match="circuit open"):  # back, but still open
                await registry.check_sim(SARA_NEW)
            # The reset period is what is under test here: it passes, then a probe goes out.
            await asyncio.sleep(0.25)
            assert (await registry.check_sim(SARA_NEW)) is not None
            assert await registry.problem() is None
    finally:
        await registry.close()


async def test_refused_credentials_are_named(serve: Serve) -> None:
    async with serve(token="another-token-entirely-0000") as port:
        registry = client(port)
        try:
            with pytest.raises(RegistryRefused, match="HAMTA_REGISTRY__TOKEN"):
                await registry.check_sim(SARA_NEW)
            assert "401" in (await registry.problem() or "")
        finally:
            await registry.close()
