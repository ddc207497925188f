"""SmppClient with two binds (receiver + transmitter), its link-loss history and its rate-limited
anomaly logs, over real TCP against the SMSC simulator. No sleeps: every wait is on an event."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiosmpplib import SmppCommand, SmppCommandStatus, SubmitSmResp

from gateway.app import smpp_problems
from smpp.client import Accepted, Delivered, LinkLoss, SmppClient, SmscEvent
from smpp.sim import SmscSimulator
from smpp.sim.pdus import raw_pdu
from tests.integration.test_smpp_client import PHONE, SHORTCODE, TIMEOUT, config, running, submit_sm

Status = SmppCommandStatus
RECEIVER, TRANSMITTER = SmppCommand.BIND_RECEIVER, SmppCommand.BIND_TRANSMITTER


class Events:
    """Every event with the bind id it came with, in the order the handler saw them."""

    def __init__(self) -> None:
        self.seen: list[tuple[SmscEvent, str]] = []
        self.delivered: asyncio.Queue[tuple[Delivered, str]] = asyncio.Queue()

    async def on_events(self, events: list[SmscEvent], bind_id: str) -> list[Status]:
        for event in events:
            self.seen.append((event, bind_id))
            if isinstance(event, Delivered):
                self.delivered.put_nowait((event, bind_id))
        return [Status.ESME_ROK] * len(events)

    async def next_delivered(self) -> tuple[Delivered, str]:
        return await asyncio.wait_for(self.delivered.get(), TIMEOUT)


def two_binds(port: int, events: Events, **overrides: Any) -> SmppClient:
    return SmppClient(config(port, bind_mode="receiver_transmitter", **overrides), events.on_events)


@contextlib.asynccontextmanager
async def bound(client: SmppClient) -> AsyncIterator[SmppClient]:
    async with running(client):
        await asyncio.wait_for(client.wait_bound(), TIMEOUT)
        yield client


@pytest.fixture
async def sim() -> AsyncIterator[SmscSimulator]:
    async with SmscSimulator(receipts=False) as simulator:
        yield simulator


async def submit(client: SmppClient, text: str = "hello") -> SubmitSmResp:
    response = await asyncio.wait_for(client.submit(submit_sm(text)), TIMEOUT)
    assert isinstance(response, SubmitSmResp)
    return response


# -- two binds -------------------------------------------------------------------------------


async def test_receiver_transmitter_binds_twice_and_never_as_transceiver(sim: SmscSimulator) -> None:
    async with bound(two_binds(sim.port, Events())) as client:
        await sim.wait_bound(2)
        assert (sim.bound_as(RECEIVER), sim.bound_as(TRANSMITTER)) == (1, 1)
        assert sim.received[SmppCommand.BIND_TRANSCEIVER] == 0
        assert client.is_bound and client.unbound == [] and smpp_problems(client) == []
        assert (client.binds, client.transmitter_binds) == (1, 1)


async def test_mo_on_the_receiver_reply_on_the_transmitter_receipt_after_accepted() -> None:
    events = Events()
    async with SmscSimulator(receipts=True) as sim, bound(two_binds(sim.port, events)) as client:
        assert await sim.send_mo(PHONE, SHORTCODE, "1") == [Status.ESME_ROK]
        mo, bind_id = await events.next_delivered()
        assert mo.deliver.short_message == "1" and bind_id == f"{client.instance}:1"
        # The simulator answers a submit_sm on a receiver ESME_RINVBNDSTS: OK means transmitter.
        response = await submit(client, "reply")
        assert response.command_status is Status.ESME_ROK
        assert (await sim.await_mt(PHONE)).text == "reply"
        receipt, receipt_bind = await events.next_delivered()  # came on the receiver
        assert f"id:{response.message_id}" in receipt.deliver.short_message
        assert receipt_bind == f"{client.instance}:1"
        kinds = [type(event) for event, _ in events.seen]
        assert kinds == [Delivered, Accepted, Delivered]  # the Accepted before its receipt


async def test_submit_waits_for_the_transmitter(sim: SmscSimulator) -> None:
    sim.refuse_binds.add(TRANSMITTER)
    client = two_binds(sim.port, Events())
    async with running(client):
        await sim.wait_bound(1, command=RECEIVER)
        await sim.wait_received(TRANSMITTER, 2)  # refused, and tried again
        pending = asyncio.create_task(submit(client))
        # A barrier: an MO goes through the receiver while the submit waits.
        assert await sim.send_mo(PHONE, SHORTCODE, "meanwhile") == [Status.ESME_ROK]
        assert not pending.done() and sim.received[SmppCommand.SUBMIT_SM] == 0
        assert not client.is_bound and not client.can_submit
        sim.refuse_binds.clear()
        assert (await asyncio.wait_for(pending, TIMEOUT)).command_status is Status.ESME_ROK


@pytest.mark.parametrize(("dropped", "kept"), [(RECEIVER, TRANSMITTER), (TRANSMITTER, RECEIVER)])
async def test_a_dropped_bind_reconnects_alone(
    sim: SmscSimulator, dropped: SmppCommand, kept: SmppCommand
) -> None:
    events = Events()
    async with bound(two_binds(sim.port, events)) as client:
        await sim.drop_binds(dropped)
        await sim.wait_received(dropped, 2)
        await asyncio.wait_for(client.wait_bound(), TIMEOUT)
        assert sim.received[kept] == 1 and sim.bound_as(kept) == 1  # never dropped
        receiver_binds = 2 if dropped == RECEIVER else 1
        assert (client.binds, client.transmitter_binds) == (receiver_binds, 3 - receiver_binds)
        assert (await submit(client)).command_status is Status.ESME_ROK
        assert await sim.send_mo(PHONE, SHORTCODE, "after") == [Status.ESME_ROK]
        _, bind_id = await events.next_delivered()
        assert bind_id == f"{client.instance}:{receiver_binds}"


@pytest.mark.parametrize(("down", "reason"), [(RECEIVER, "smpp receiver not bound"),
                                              (TRANSMITTER, "smpp transmitter not bound")])
async def test_readiness_names_the_bind_that_is_down(
    sim: SmscSimulator, down: SmppCommand, reason: str
) -> None:
    async with bound(two_binds(sim.port, Events())) as client:
        sim.refuse_binds.add(down)
        await sim.drop_binds(down)
        await sim.wait_received(down, 2)  # the client saw the loss and is binding again, refused
        assert not client.is_bound and smpp_problems(client) == [reason]
        assert client.can_submit is (down == RECEIVER)
        sim.refuse_binds.clear()
        await asyncio.wait_for(client.wait_bound(), TIMEOUT)
        assert smpp_problems(client) == []


async def test_transceiver_readiness_reason_is_unchanged(sim: SmscSimulator) -> None:
    sim.refuse_binds.add(SmppCommand.BIND_TRANSCEIVER)
    client = SmppClient(config(sim.port), Events().on_events)
    async with running(client):
        await sim.wait_received(SmppCommand.BIND_TRANSCEIVER)
        assert smpp_problems(client) == ["smpp not bound"] and client.unbound == ["transceiver"]


# -- link-loss history -----------------------------------------------------------------------


async def test_a_lost_receiver_is_recorded_with_its_bind_id(sim: SmscSimulator) -> None:
    events = Events()
    async with bound(two_binds(sim.port, events)) as client:
        assert await sim.send_mo(PHONE, SHORTCODE, "before") == [Status.ESME_ROK]
        _, first_bind = await events.next_delivered()
        before = time.time()
        await sim.drop_binds(RECEIVER)
        await sim.wait_received(RECEIVER, 2)  # the loss is recorded before the rebind
        assert list(client.link_losses) == [LinkLoss(first_bind, client.link_losses[0].lost_at)]
        assert before <= client.link_losses[0].lost_at <= time.time()
        await sim.drop_binds(TRANSMITTER)  # not a receiving bind: not recorded
        await sim.wait_received(TRANSMITTER, 2)
        await asyncio.wait_for(client.wait_bound(), TIMEOUT)
        assert [loss.bind_id for loss in client.link_losses] == [first_bind]
    assert client.link_losses.maxlen == 16


async def test_transceiver_losses_reset_enquire_link_and_framing(sim: SmscSimulator) -> None:
    client = SmppClient(config(sim.port, enquire_link_seconds=0.05, response_timeout_seconds=0.2),
                        Events().on_events)
    async with bound(client):
        await sim.drop_binds()  # connection reset
        await sim.wait_received(SmppCommand.BIND_TRANSCEIVER, 2)
        await sim.wait_bound(1)
        sim.ignore_enquire_link = 1  # enquire_link timeout
        await sim.wait_received(SmppCommand.BIND_TRANSCEIVER, 3)
        await sim.wait_bound(1)
        await sim.push_raw(b"\xff\xff\xff\xff" + bytes(12))  # not SMPP: a framing error
        await sim.wait_received(SmppCommand.BIND_TRANSCEIVER, 4)
        await asyncio.wait_for(client.wait_bound(), TIMEOUT)
        instance = client.instance
        assert [loss.bind_id for loss in client.link_losses] == [f"{instance}:{n}" for n in (1, 2, 3)]


async def test_orderly_unbinds_and_stop_are_not_losses(sim: SmscSimulator) -> None:
    transceiver = SmppClient(config(sim.port), Events().on_events)
    async with bound(transceiver):
        await sim.unbind_esmes()  # the SMSC unbinds: orderly
        await sim.wait_received(SmppCommand.BIND_TRANSCEIVER, 2)
        await asyncio.wait_for(transceiver.wait_bound(), TIMEOUT)
    await sim.wait_received(SmppCommand.UNBIND)  # our stop(): orderly too
    assert transceiver.binds == 2 and list(transceiver.link_losses) == []
    pair = two_binds(sim.port, Events())
    async with bound(pair):
        await sim.unbind_esmes(RECEIVER)
        await sim.wait_received(RECEIVER, 2)
        await asyncio.wait_for(pair.wait_bound(), TIMEOUT)
    assert pair.binds == 2 and list(pair.link_losses) == []


async def test_instance_is_read_only_and_prefixes_bind_ids(sim: SmscSimulator) -> None:
    events = Events()
    async with bound(two_binds(sim.port, events)) as client:
        assert len(client.instance) == 12 and client.instance == client.instance
        with pytest.raises(AttributeError):
            client.instance = "other"  # type: ignore[misc]
        assert await sim.send_mo(PHONE, SHORTCODE, "x") == [Status.ESME_ROK]
        _, bind_id = await events.next_delivered()
        assert bind_id.split(":") == [client.instance, "1"]


# -- rate-limited anomaly logs ---------------------------------------------------------------


def client_lines(caplog: pytest.LogCaptureFixture, *words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "smpp.client" and all(word in r.getMessage() for word in words)]


async def test_a_generic_nack_storm_is_counted_and_logged_twice_at_most(
    sim: SmscSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = SmppClient(config(sim.port), Events().on_events)
    async with bound(client):
        nack = raw_pdu(SmppCommand.GENERIC_NACK, Status.ESME_RINVCMDID, 0x7FFF0001)
        await sim.push_raw(nack, 1000)
        # A barrier: the client reads in order, so every nack was read before this MO's answer.
        assert await sim.send_mo(PHONE, SHORTCODE, "barrier") == [Status.ESME_ROK]
        assert client.anomalies["generic_nack_unknown_sequence"] == 1000
        assert client.binds == 1
    lines = client_lines(caplog, "generic_nack")
    assert 1 <= len(lines) <= 2, lines
    assert lines[-1].startswith("generic_nack_unknown_sequence: 999 more in the last")


async def test_unknown_commands_are_all_answered_but_logged_once(
    sim: SmscSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    client = SmppClient(config(sim.port), Events().on_events)
    async with bound(client):
        for _ in range(5):
            response = await sim.send_raw(raw_pdu(0x00000999, 0, 0, b"body"))
            assert response.status is Status.ESME_RINVCMDID
        stray = raw_pdu(SmppCommand.SUBMIT_SM_RESP, 0, 0x7FFF0002, b"id\0")
        await sim.push_raw(stray, 3)
        assert await sim.send_mo(PHONE, SHORTCODE, "barrier") == [Status.ESME_ROK]
        assert client.anomalies["unknown_command"] == 5
        assert client.anomalies["response_unknown_sequence"] == 3
        assert len(client_lines(caplog, "answered generic_nack ESME_RINVCMDID")) == 1
    assert client_lines(caplog, "unknown_command: 4 more in the last")
    assert client_lines(caplog, "response_unknown_sequence: 2 more in the last")
