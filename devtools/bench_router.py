"""The benchmark's SMSC: one simulator for the ESME under test (the gateway or the echo ESME),
and one per load process, with a router between them, in a process of its own.

A load process binds to its own simulator as an ESME and submits each subscriber's MO
there; the router delivers it to the ESME under test as a deliver_sm, and delivers that ESME's
replies (reassembled) back to the load process that owns the subscriber. The SMSC side thus
does the same work per turn whichever ESME is measured, and none of it runs in the processes
measured or in the load.

Run as `python -m devtools.bench_router PASSWORD LOADS ESMES`; it prints one JSON line with its ports,
and, on SIGTERM, one with what it routed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from gateway import event_loop, garbage
from smpp.sim import SmscSimulator
from smpp.sim.pdus import MtMessage

LOAD_SYSTEM_ID = "load"
LOAD_PASSWORD = "load"


def load_index(msisdn: str, loads: int) -> int:
    """Which load process owns a subscriber: the bench numbers subscribers by their last 7
    digits, and load process k runs those whose number is k modulo the count."""
    return int(msisdn[-7:]) % loads


class Router:
    def __init__(self, esme: SmscSimulator, loads: list[SmscSimulator], esmes: int) -> None:
        self._esme, self._loads, self._esmes = esme, loads, esmes
        self._tasks: set[asyncio.Future[object]] = set()
        self.mt_messages = 0
        self.mt_segments = 0

    async def run(self) -> None:
        # MOs wait until every process of the ESME under test is bound.
        await self._esme.wait_bound(self._esmes, timeout=1e9)
        await asyncio.gather(self._replies(), *(self._mo(load) for load in self._loads))

    async def _mo(self, load: SmscSimulator) -> None:
        while True:
            mo = await load.await_mt(timeout=1e9)
            self._spawn(self._esme.send_mo(mo.source, mo.destination, mo.text, timeout=60))

    async def _replies(self) -> None:
        while True:
            mt: MtMessage = await self._esme.await_mt(timeout=1e9)
            self.mt_messages += 1
            self.mt_segments += mt.parts
            load = self._loads[load_index(mt.destination, len(self._loads))]
            self._spawn(load.send_mo(mt.source, mt.destination, mt.text, timeout=60))

    def _spawn(self, call: Coroutine[Any, Any, object]) -> None:
        task = asyncio.ensure_future(call)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def main(password: str, loads: int, esmes: int) -> None:
    # Nothing kept per message (SmscSimulator `keep`): a 100,000-turn run must not slow the
    # SMSC down as it goes, or it would read as the gateway's decay.
    esme = SmscSimulator(port=0, password=password, keep=False)
    sims = [SmscSimulator(port=0, system_id=LOAD_SYSTEM_ID, password=LOAD_PASSWORD, receipts=False,
                          keep=False) for _ in range(loads)]
    for sim in (esme, *sims):
        await sim.start()
    print(json.dumps({"esme_port": esme.port, "load_ports": [sim.port for sim in sims]}), flush=True)
    router = Router(esme, sims, esmes)
    garbage.settle()  # the SMSC of the bench, set as the gateway is: the harness stays light
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    task = asyncio.create_task(router.run())
    await stop.wait()
    task.cancel()
    print(json.dumps({"mt_messages": router.mt_messages, "mt_segments": router.mt_segments}), flush=True)
    for sim in (esme, *sims):
        await sim.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    event_loop.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
