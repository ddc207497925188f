"""`hamta-gateway demo`: a private redis-server, the demo registry, the simulator, the gateway
and a phone, all in this process. With `--script` it plays a conversation and prints it.

The demo never uses the configured Redis (`HAMTA_REDIS__URL`): loading the demo registry would
replace a real one, and its gateway would take partitions from the running gateways. It starts
its own redis-server in a temp dir; `--redis-url URL` names another Redis explicitly, and one
that holds anything under the prefix is refused (`DemoRefused`) unless `--force`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from redis.asyncio import Redis
from redis.exceptions import RedisError

from devtools.demo_guide import guide
from devtools.phone import console_for, run_interactive, run_script
from devtools.redis_server import RedisServer
from devtools.web_phone import SimPhones
from gateway.app import Gateway
from gateway.settings import Settings, load_settings
from gateway.store.fixtures import load_fixture_file
from gateway.store.keys import Keys
from gateway.store.registry import INDEXES
from smpp.sim import SmscSimulator

log = logging.getLogger("devtools.demo")

DEMO_REGISTRY = Path(str(files("devtools").joinpath("data/demo-registry.json")))
DEMO_SCRIPT = Path(str(files("devtools").joinpath("data/demo-script.txt")))
FIRST_NUMBER = "09361110003"


# How much of a foreign Redis is looked at before it counts as "not known to be empty".
SCAN_COUNT = 1000
SCAN_CALLS = 10


class DemoRefused(RuntimeError):
    """The Redis named by `--redis-url` is not empty (or could not be checked). Not retryable."""


@contextlib.contextmanager
def _private_redis() -> Iterator[str]:
    """A private redis-server in a temp dir, whatever HAMTA_REDIS__URL says."""
    with (tempfile.TemporaryDirectory(prefix="hamta-demo-") as directory,
          RedisServer(Path(directory)) as server):
        log.info("private redis-server started at %s", server.url)
        yield server.url


async def check_empty(url: str, prefix: str) -> None:
    """Raise DemoRefused unless `url` holds no registry and no key under `prefix`.

    A bounded look: the registry index sets, then at most SCAN_CALLS SCANs (never KEYS); a
    keyspace too large to finish within them is refused too (it cannot be shown empty)."""
    keys = Keys(prefix)
    redis = Redis.from_url(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5)
    try:
        sizes = [await redis.scard(keys.registry_index(kind)) for kind in INDEXES]
        if any(sizes):
            raise DemoRefused(f"{_where(url)} holds a registry ({sum(sizes)} records under "
                              f"{prefix!r}); the demo would replace it. Use --force to do so anyway")
        await _scan_for_prefix(redis, url, prefix)
    except (OSError, RedisError) as exc:
        raise DemoRefused(f"{_where(url)}: cannot check it ({exc})") from exc
    finally:
        await redis.aclose()


async def _scan_for_prefix(redis: Redis, url: str, prefix: str) -> None:
    cursor = 0
    for _ in range(SCAN_CALLS):
        cursor, found = await redis.scan(cursor, match=f"{prefix}:*", count=SCAN_COUNT)
        if found:
            raise DemoRefused(f"{_where(url)} holds keys under {prefix!r} (a gateway's data); "
                              "the demo would mix with it. Use --force to do so anyway")
        if cursor == 0:
            return
    raise DemoRefused(f"{_where(url)} is too large to check for keys under {prefix!r} in "
                      f"{SCAN_CALLS} SCANs. Use --force to use it anyway")


def _where(url: str) -> str:
    """The Redis, named without a password that may be in its URL."""
    host = url.rpartition("@")[2] if "@" in url else url.partition("://")[2]
    return f"Redis {host}"


@contextlib.asynccontextmanager
async def _demo_redis(redis_url: str | None, force: bool) -> AsyncIterator[str]:
    if redis_url is None:
        with _private_redis() as url:
            yield url
        return
    if not force:
        await check_empty(redis_url, load_settings().redis.prefix)
    yield redis_url


@contextlib.asynccontextmanager
async def running_demo(redis_url: str) -> AsyncIterator[tuple[Settings, SmscSimulator, Gateway]]:
    password = secrets.token_hex(4)  # a fresh secret per demo run, never a default in code
    base = load_settings()
    async with (SmscSimulator(port=0, system_id=base.smpp.system_id, password=password,
                              ussd_dialect=base.ussd.selected_dialect()) as sim,
                SimPhones(sim, base.service.shortcode) as phones):
        settings = load_settings(
            smpp={**base.smpp.model_dump(), "host": "127.0.0.1", "port": sim.port, "password": password},
            service={**base.service.model_dump(), "secret_key": secrets.token_hex(32)},
            # One person plays many citizens' dialogs from a few numbers: no reply budget.
            limits={**base.limits.model_dump(), "reply_segments_burst": 100_000},
            redis={**base.redis.model_dump(), "url": redis_url, "cluster": False},
            http={**base.http.model_dump(), "port": 0},
        )
        gateway = Gateway(settings, phone=phones)  # the web console's phone drives `sim`
        await gateway.registry.load(load_fixture_file(DEMO_REGISTRY))
        await gateway.start()
        try:
            await sim.wait_bound()
            yield settings, sim, gateway
        finally:
            await gateway.stop()


async def demo(
    script: Path | None, out: TextIO, ussd: bool = False, *,
    redis_url: str | None = None, force: bool = False,
) -> None:  # fmt: skip
    """Raises DemoRefused (nothing was touched) when `redis_url` is not empty and not `force`."""
    async with (_demo_redis(redis_url, force) as url,
                running_demo(url) as (settings, sim, gateway)):
        if script is None:  # the console lives as long as the demo: only worth naming here
            print(f"Web console: {console_url(settings, gateway)}", file=out, flush=True)
        phone = console_for(sim, settings, FIRST_NUMBER, ussd, out,
                            guide=guide(ussd, settings.service.ussd_code))
        if script is None:
            await run_interactive(phone)
        else:
            lines = await asyncio.to_thread(script.read_text, encoding="utf-8")
            await run_script(phone, lines.splitlines())


def console_url(settings: Settings, gateway: Gateway) -> str:
    host = settings.http.host if settings.http.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{gateway.http_port}/console/"
