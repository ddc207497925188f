"""The simulator on its own (`hamta-gateway smsc`): serve until cancelled or signalled."""

from __future__ import annotations

import asyncio
import logging
import signal

from smpp.sim.server import SmscSimulator
from smpp.ussd import SMPP34, UssdDialect

log = logging.getLogger("smpp.sim.server")


async def serve_forever(sim: SmscSimulator, stop: asyncio.Event | None = None) -> None:
    """Run ``sim`` until ``stop`` is set (or the task is cancelled)."""
    async with sim:
        log.info("SMSC simulator listening on %s:%d", sim.host, sim.port)
        await (stop or asyncio.Event()).wait()


def run_simulator(
    host: str, port: int, system_id: str, password: str, ussd_dialect: UssdDialect = SMPP34
) -> None:
    """Blocking entry point for the CLI; stops cleanly on SIGINT/SIGTERM."""
    sim = SmscSimulator(host, port, system_id, password, ussd_dialect=ussd_dialect)
    asyncio.run(_run_until_signalled(sim))


async def _run_until_signalled(sim: SmscSimulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve_forever(sim, stop)
