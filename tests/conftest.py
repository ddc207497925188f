"""Shared fixtures: one private redis-server per test session, emptied before each test.

``redis_server``  session-scoped :class:`RedisServer` (own directory, free port, AOF on);
                  a test may ``kill()``/``restart()`` it: the next test gets it running again.
``redis_url``     its URL, after FLUSHALL, so no test depends on what another left behind.
``redis_client``  an async ``redis.asyncio.Redis`` on that URL (str replies, as the gateway's).
``registry``      the real Redis registry through it, loaded with the demo registry.
``sim``           the SMSC simulator on a free port (default options).
``db``            ``redis_client`` with the demo registry loaded.
``gateways``      starts real `python -m gateway run` processes on that Redis (tests/processes.py).
``registry_backend``  settings sections for `running_gateway`, once per backend: "redis" (the
                  embedded registry, no sections) and "http" (a reference server, `registry
                  serve`'s app, on a free port over the test's Redis, and the gateway's client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import redis
import redis.asyncio

from devtools.redis_server import RedisServer
from gateway.registry_http.serving import registry_server
from gateway.store.registry import RedisRegistry
from smpp.sim import SmscSimulator
from tests.harness import REGISTRY_TOKEN, Sections, demo_registry, gateway_settings
from tests.processes import gateways  # noqa: F401  (the fixture, for every test module)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if not redis_server.running:  # an earlier test killed or stopped it
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest_asyncio.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest_asyncio.fixture
async def registry(redis_client: redis.asyncio.Redis) -> RedisRegistry:
    """The real Redis registry, loaded with the demo registry (gateway/data)."""
    return await demo_registry(redis_client)


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[SmscSimulator]:
    async with SmscSimulator() as simulator:
        yield simulator


@pytest_asyncio.fixture
async def db(redis_client: redis.asyncio.Redis) -> redis.asyncio.Redis:
    """A client on the test's (emptied) Redis, with the demo registry loaded."""
    await demo_registry(redis_client)
    return redis_client


@pytest_asyncio.fixture(params=["redis", "http"])
async def registry_backend(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Sections]:
    if request.param == "redis":
        yield {}
        return
    served = gateway_settings(redis_url, 1, registry={"token": REGISTRY_TOKEN})
    async with registry_server(served, "127.0.0.1", 0) as port:
        yield {"registry": http_registry_sections(port)["registry"]}


def http_registry_sections(port: int) -> Sections:
    return {"registry": {"backend": "http", "url": f"http://127.0.0.1:{port}", "token": REGISTRY_TOKEN}}
