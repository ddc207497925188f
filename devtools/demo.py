"""`hamta-gateway demo`: a private redis-server, the demo registry, the simulator, the gateway
and a phone, all in this process. With `--script` it plays a conversation and prints it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from importlib.resources import files
from pathlib import Path
from typing import TextIO

from devtools.phone import console_for, run_interactive, run_script
from devtools.redis_server import RedisServer
from gateway.app import Gateway
from gateway.settings import Settings, load_settings
from gateway.store.fixtures import load_fixture_file
from smpp.sim import SmscSimulator

log = logging.getLogger("devtools.demo")

DEMO_REGISTRY = Path(str(files("devtools").joinpath("data/demo-registry.json")))
DEMO_SCRIPT = Path(str(files("devtools").joinpath("data/demo-script.txt")))
FIRST_NUMBER = "09361110003"


@contextlib.contextmanager
def _redis_url() -> Iterator[str]:
    """The configured Redis when HAMTA_REDIS__URL is set, else a private one in a temp dir."""
    if os.environ.get("HAMTA_REDIS__URL"):
        yield os.environ["HAMTA_REDIS__URL"]
        return
    with (tempfile.TemporaryDirectory(prefix="hamta-demo-") as directory,
          RedisServer(Path(directory)) as server):
        log.info("private redis-server started at %s", server.url)
        yield server.url


@contextlib.asynccontextmanager
async def running_demo(redis_url: str) -> AsyncIterator[tuple[Settings, SmscSimulator, Gateway]]:
    password = secrets.token_hex(4)  # a fresh secret per demo run, never a default in code
    base = load_settings()
    async with SmscSimulator(port=0, system_id=base.smpp.system_id, password=password,
                             ussd_dialect=base.ussd.selected_dialect()) as sim:
        settings = load_settings(
            smpp={**base.smpp.model_dump(), "host": "127.0.0.1", "port": sim.port, "password": password},
            service={**base.service.model_dump(), "secret_key": secrets.token_hex(32)},
            # One person plays many citizens' dialogs from a few numbers: no reply budget.
            limits={**base.limits.model_dump(), "reply_segments_burst": 100_000},
            redis={**base.redis.model_dump(), "url": redis_url},
            http={**base.http.model_dump(), "port": 0},
        )
        gateway = Gateway(settings)
        await gateway.registry.load(load_fixture_file(DEMO_REGISTRY))
        await gateway.start()
        try:
            await sim.wait_bound()
            yield settings, sim, gateway
        finally:
            await gateway.stop()


async def demo(script: Path | None, out: TextIO, ussd: bool = False) -> None:
    with _redis_url() as url:
        async with running_demo(url) as (settings, sim, _gateway):
            phone = console_for(sim, settings, FIRST_NUMBER, ussd, out)
            if script is None:
                await run_interactive(phone)
            else:
                lines = await asyncio.to_thread(script.read_text, encoding="utf-8")
                await run_script(phone, lines.splitlines())
