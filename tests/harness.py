"""Test harness: the demo registry (in Redis or in memory), a key-echoing catalog, and a gateway
wired to a simulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from devtools.demo import DEMO_REGISTRY
from devtools.demo_registry import registry_from_fixture
from flows.catalog import LANGUAGES, Catalog, default_catalog
from flows.memory_registry import MemoryRegistry
from gateway.app import Gateway
from gateway.settings import Settings, load_settings
from gateway.store.fixtures import load_fixture_file
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry
from smpp.sim import SmscSimulator

# The service secret of every gateway a test starts (in-process or as `python -m gateway run`).
TEST_SECRET_KEY = "test-secret-" + "0123456789abcdef" * 2
RELAXED_REPLY_BURST = 100_000
REGISTRY_TOKEN = "test-registry-token-0123456789"  # `registry serve` and the http backend's
Sections = dict[str, dict[str, Any]]  # settings sections, as `running_gateway` takes them
SARA_NEW = "989361110003"  # active, owner 1583250689 (no national-ID cartable)
SARA_OLD = "989351110002"  # expired, owner 1583250689
SARA_DEVICE = "490154203237518"  # on SARA_OLD, detached
ALI = "989121110001"  # national-ID cartable of 0499370899
ALI_DEVICE = "355762052793235"  # in Ali's national-ID cartable
RECYCLED = "989121110004"  # was Sara's, now owned by 0061234567
RECYCLED_DEVICE = "353322110000115"  # Sara's device on RECYCLED (transferred)
NEW_OWNER = "989191110006"  # 0061234567's active SIM
ATTACHED_SIM = "989131110005"  # Sara's other active SIM
ATTACHED_DEVICE = "353322110000222"
HERE_DEVICE = "353322110000446"  # already on SARA_NEW
CARTABLE_SIM = "989121110007"  # in 2276543213's national-ID cartable
CARTABLE_OLD = "989351110008"  # 2276543213's expired SIM
CARTABLE_DEVICE = "353322110000339"
# password recovery (R3, R5, R6)
ALI_ID = "0499370899"  # born 1365/04/12; ALI is usable in his cartable: new password only
LOST_SIM_ID = "5512345672"  # born 1368/02/20; only cartable SIM expired; 2 devices
LOST_SIM_NEW = "989121110010"
TRANSFERRED_ID = "6623456783"  # born 1359/09/30; only cartable SIM transferred; 1 device
TRANSFERRED_NEW = "989131110012"
R6_ID = "7734567894"  # born 1380/12/29; one cartable SIM expired, 09121110014 still usable
R6_NEW = "989191110015"


def key_catalog() -> Catalog:
    """Each text renders as its key followed by its parameters: assertions read the key."""
    real = default_catalog()
    texts = {
        lang: {
            key: " ".join([key, *(f"{{{name}}}" for name in sorted(real.placeholders(lang, key)))])
            for key in real.keys(lang)
        }
        for lang in LANGUAGES
    }
    return Catalog(texts)


async def demo_registry(redis: Redis) -> RedisRegistry:
    registry = RedisRegistry(redis, Keys())
    await registry.load(load_fixture_file(DEMO_REGISTRY))
    return registry


def memory_registry() -> MemoryRegistry:
    """The demo registry in memory: what the Redis `registry` fixture holds, without Redis."""
    return registry_from_fixture(load_fixture_file(DEMO_REGISTRY))


def gateway_settings(redis_url: str, smsc_port: int, **sections: dict[str, Any]) -> Settings:
    base = load_settings()
    merged: dict[str, Any] = {
        "smpp": {**base.smpp.model_dump(), "port": smsc_port, "password": "secret",
                 "enquire_link_seconds": 5, "reconnect_min_seconds": 0.05,
                 "reconnect_max_seconds": 0.5, "response_timeout_seconds": 2},
        "redis": {**base.redis.model_dump(), "url": redis_url, "lease_seconds": 3},
        "http": {**base.http.model_dump(), "port": 0},
        "service": {**base.service.model_dump(), "secret_key": TEST_SECRET_KEY},
        # Tests play many dialogs from one number in seconds; the reply budget has its own tests
        # (tests/integration/test_limits.py), which set it back to the defaults.
        "limits": {**base.limits.model_dump(), "reply_segments_burst": RELAXED_REPLY_BURST},
    }
    for section, values in sections.items():
        merged[section] = {**merged.get(section, {}), **values}
    return load_settings(**merged)


@contextlib.asynccontextmanager
async def running_gateway(
    redis_url: str, **sections: dict[str, Any]
) -> AsyncIterator[tuple[Gateway, SmscSimulator]]:
    async with SmscSimulator(port=0, system_id="hamta", password="secret") as sim:
        gateway = Gateway(gateway_settings(redis_url, sim.port, **sections))
        await gateway.registry.load(load_fixture_file(DEMO_REGISTRY))
        await gateway.start()
        try:
            await sim.wait_bound()
            yield gateway, sim
        finally:
            await gateway.stop()
