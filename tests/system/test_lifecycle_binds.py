"""Issue 11, lifecycle: a process works partitions only while its SMSC bind is up, and a
SIGTERM ends within service.shutdown_seconds even with a reply it cannot send. Real
`python -m gateway run` processes, the simulator over TCP, a private redis-server."""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis.asyncio
from aiosmpplib import SmppCommand

from smpp.sim import SmscSimulator
from tests.processes import Citizen, Gateways
from tests.redis_events import KEYS

SUBMIT = SmppCommand.SUBMIT_SM


def closed_port() -> int:
    """A port nothing listens on (bound, then released): connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def holders(db: redis.asyncio.Redis) -> list[str | None]:
    return [await db.get(KEYS.lease(p)) for p in range(KEYS.partitions)]


def pid_of(owner: str | None) -> int | None:
    return int(owner.split(":")[1]) if owner else None


@pytest.mark.slow
async def test_a_process_without_a_bind_holds_no_partition_and_the_bound_one_answers_promptly(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    bound = await gateways.start(sim.port)
    await bound.wait_log("took partition", count=KEYS.partitions)
    unbound = await gateways.start(closed_port())
    await unbound.wait_log("taking no partitions until it is up")
    # Longer than a lease (1 s here), several looks: still nothing for the unbound one.
    await unbound.wait_log("link to .* lost", count=8, timeout=15)
    assert {pid_of(owner) for owner in await holders(db)} == {bound.pid}
    members = await db.zrange(KEYS.members(), 0, -1)
    assert [pid_of(member) for member in members] == [bound.pid]  # the unbound one is no member
    assert await db.zcard(KEYS.standby_members()) == 0  # nor standing by: a bound one exists

    citizen = Citizen(sim, "989125550001")
    loop = asyncio.get_running_loop()
    sent = loop.time()
    await citizen.send("سلام")
    await citizen.reply(timeout=5)
    assert loop.time() - sent < 3.0  # not behind a partition held by the process with no bind
    assert unbound.count("took partition") == 0


@pytest.mark.slow
async def test_with_no_bind_anywhere_the_partitions_are_worked_then_taken_by_the_first_bound(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    # The SMSC down for everyone: after a lease the process works the partitions anyway (turns
    # run, HTTP USSD screens are answered, SMS replies queue)...
    alone = await gateways.start(closed_port())
    await alone.wait_log("no process has an SMPP bind: working partitions anyway")
    await alone.wait_log("took partition", count=KEYS.partitions)
    assert {pid_of(owner) for owner in await holders(db)} == {alone.pid}
    # ...and a process that binds takes them all over at once.
    bound = await gateways.start(sim.port)
    await alone.wait_log("handing back 16 partitions")
    await bound.wait_log("took partition", count=KEYS.partitions)
    assert {pid_of(owner) for owner in await holders(db)} == {bound.pid}
    assert await db.zcard(KEYS.standby_members()) == 0


@pytest.mark.slow
async def test_a_bind_down_longer_than_a_lease_hands_the_partitions_to_a_bound_process(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    first = await gateways.start(sim.port)
    await first.wait_log("took partition", count=KEYS.partitions)
    # A second SMSC for the second process, so the first one's bind can be cut alone.
    async with SmscSimulator(port=0, system_id="hamta", password="secret") as other:
        second = await gateways.start(other.port)
        await second.wait_log("took partition", count=KEYS.partitions // 2)
        sim.refuse_binds = {SmppCommand.BIND_TRANSCEIVER}
        await sim.drop_binds()
        await first.wait_log("handing back", timeout=10)
        await second.wait_log("took partition", count=KEYS.partitions, timeout=10)
        assert {pid_of(owner) for owner in await holders(db)} == {second.pid}


@pytest.mark.slow
async def test_sigterm_with_a_queued_reply_and_the_bind_down_exits_within_shutdown_seconds(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    budget = 3.0
    # A long lease: the partitions stay with the process through the outage, reply and all.
    gateway = await gateways.start(sim.port, service__shutdown_seconds=budget, redis__lease_seconds=30)
    await gateway.wait_log("took partition", count=KEYS.partitions)
    sim.submit_gate.clear()
    citizen = Citizen(sim, "989125550002")
    await citizen.send("سلام")
    await sim.wait_received(SUBMIT)  # the reply's first part waits at the SMSC, unanswered
    sim.refuse_binds = {SmppCommand.BIND_TRANSCEIVER}
    await sim.drop_binds()  # and now it cannot be sent at all
    # Rebinds refused: the sender is past its retry pause, waiting for a bind.
    await gateway.wait_log("ESME_RBINDFAIL", count=3)

    gateway.terminate()
    signalled = asyncio.get_running_loop().time()
    code = await gateway.wait_exit(timeout=3 * budget)
    elapsed = asyncio.get_running_loop().time() - signalled
    assert elapsed < budget, f"SIGTERM took {elapsed:.2f}s, budget {budget}s"
    assert code == 0
    queued = [await db.xlen(lane) for p in range(KEYS.partitions) for lane in KEYS.outbound_lanes(p)]
    assert sum(queued) == 1  # kept
