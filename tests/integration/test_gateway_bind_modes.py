"""The gateway with `smpp.bind_mode: receiver_transmitter`: MO in on the receiver, replies out on
the transmitter, readiness naming the bind that is down, a lost receiver rebound alone."""

from __future__ import annotations

import asyncio

import aiohttp
from aiosmpplib import SmppCommand

from tests.harness import SARA_DEVICE, SARA_NEW, running_gateway
from tests.integration.test_gateway_e2e import Subscriber, fa

RECEIVER, TRANSMITTER = SmppCommand.BIND_RECEIVER, SmppCommand.BIND_TRANSMITTER


async def readyz(port: int | None) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/readyz") as response:
        return response.status, await response.json()


async def test_restore_over_two_binds_and_readiness_when_the_receiver_is_lost(redis_url: str) -> None:
    async with running_gateway(redis_url, smpp={"bind_mode": "receiver_transmitter"}) as (gateway, sim):
        await asyncio.wait_for(gateway.smpp.wait_bound(), 5)
        assert (sim.bound_as(RECEIVER), sim.bound_as(TRANSMITTER)) == (1, 1)
        assert sim.received[SmppCommand.BIND_TRANSCEIVER] == 0
        assert await readyz(gateway.http_port) == (200, {"status": "ready"})

        sara = Subscriber(sim, SARA_NEW)
        # The simulator refuses submit_sm on a receiver: a reply at all means the transmitter.
        assert await sara.text("1") == fa("ask_imei")

        sim.refuse_binds.add(RECEIVER)
        await sim.drop_binds(RECEIVER)
        await sim.wait_received(RECEIVER, 2)  # the gateway is binding again, refused
        status, body = await readyz(gateway.http_port)
        assert (status, body["reasons"]) == (503, ["smpp receiver not bound"])
        assert [loss.bind_id for loss in gateway.smpp.link_losses] == [f"{gateway.smpp.instance}:1"]

        sim.refuse_binds.clear()
        await asyncio.wait_for(gateway.smpp.wait_bound(), 5)
        assert await readyz(gateway.http_port) == (200, {"status": "ready"})
        assert sim.received[TRANSMITTER] == 1  # the transmitter stayed up throughout
        assert await sara.text(SARA_DEVICE) == fa("ask_old_number")
        assert gateway.smpp.binds == 2
