"""`hamta-gateway run --processes 2`: two gateway processes under one parent share the
partitions, serve dialogs, and all stop on the parent's SIGTERM."""

from __future__ import annotations

import pytest
import redis.asyncio

from flows.catalog import default_catalog
from gateway.store.keys import Keys
from smpp.sim import SmscSimulator
from tests.harness import SARA_DEVICE, SARA_NEW
from tests.processes import Citizen, Gateways

KEYS = Keys()
FA = default_catalog()


@pytest.mark.slow
async def test_two_processes_share_the_partitions_and_stop_together(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    parent = await gateways.start(sim.port, "--processes", "2")
    await sim.wait_bound(2, timeout=20)
    # The first child takes all 16, hands 8 back when the second joins, which takes them.
    await parent.wait_log(r"took partition \d+$", 24, timeout=30)
    holders = await db.mget([KEYS.lease(p) for p in range(KEYS.partitions)])
    assert None not in holders and sorted(holders.count(h) for h in set(holders)) == [8, 8]

    sara = Citizen(sim, SARA_NEW)
    assert await sara.text("1") == FA.render("fa", "ask_imei")
    assert await sara.text(SARA_DEVICE) == FA.render("fa", "ask_old_number")

    parent.terminate()
    assert await parent.wait_exit(timeout=15) == 0
    await sim.wait_connections(0, timeout=5)  # both children unbound and gone
