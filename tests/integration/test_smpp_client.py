"""SmppClient over real TCP against the SMSC simulator: no mocks, waits on events with timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiosmpplib import (
    NPI,
    TON,
    DeliverSm,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SubmitSm,
    SubmitSmResp,
)  # fmt: skip

from smpp import wire
from smpp.client import (
    HANDLER_FAILED,
    UNDECODABLE,
    Accepted,
    ClientConfig,
    SmppClient,
    SmscEvent,
)
from smpp.pacing import TokenBucket
from smpp.sim import SmscSimulator
from smpp.sim.pdus import raw_pdu
from smpp.submit import Addressing, build_parts

Status = SmppCommandStatus
PHONE = "989121110001"
SHORTCODE = "20001"
PERSIAN = "سلام، دستگاهم را بازیابی کن"
TIMEOUT = 5.0
VENDOR_STATUS = 0x00000458


class Recorder:
    """The client's two handlers: MOs are queued and answered with ``status``."""

    def __init__(self) -> None:
        self.status = Status.ESME_ROK
        self.fail: Exception | None = None
        self.mo: asyncio.Queue[DeliverSm] = asyncio.Queue()
        self.accepted: list[tuple[SubmitSm, SubmitSmResp]] = []

    async def on_deliver(self, deliver: DeliverSm) -> Status:
        await self.mo.put(deliver)
        if self.fail is not None:
            raise self.fail
        return self.status

    async def on_accepted(self, submit: SubmitSm, response: SubmitSmResp) -> None:
        self.accepted.append((submit, response))

    async def on_events(self, events: list[SmscEvent], bind_id: str) -> list[Status]:
        statuses = []
        for event in events:
            if isinstance(event, Accepted):
                await self.on_accepted(event.submit, event.response)
                statuses.append(Status.ESME_ROK)
            else:
                statuses.append(await self.on_deliver(event.deliver))
        return statuses

    async def next_mo(self) -> DeliverSm:
        return await asyncio.wait_for(self.mo.get(), TIMEOUT)


def config(port: int, **overrides: Any) -> ClientConfig:
    base = ClientConfig(
        host="127.0.0.1", port=port, system_id="hamta", password="secret",
        enquire_link_seconds=30.0, response_timeout_seconds=1.0,
        reconnect_min_seconds=0.02, reconnect_max_seconds=0.2, window=10, tps=1000.0,
    )
    return replace(base, **overrides)


def esme(recorder: Recorder, port: int, **overrides: Any) -> SmppClient:
    return SmppClient(config(port, **overrides), recorder.on_events)


@contextlib.asynccontextmanager
async def running(client: SmppClient) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        await client.stop()
        await asyncio.wait_for(task, TIMEOUT)


@pytest.fixture
async def sim() -> AsyncIterator[SmscSimulator]:
    async with SmscSimulator(receipts=False) as simulator:
        yield simulator


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(sim: SmscSimulator, recorder: Recorder) -> AsyncIterator[SmppClient]:
    smpp = esme(recorder, sim.port)
    async with running(smpp):
        await asyncio.wait_for(smpp.wait_bound(), TIMEOUT)
        yield smpp


def submit_sm(text: str = "hello", destination: str = PHONE) -> SubmitSm:
    return build_parts(text, destination, Addressing(SHORTCODE), ref=1)[0]


async def submit(client: SmppClient, text: str = "hello") -> SubmitSmResp:
    response = await asyncio.wait_for(client.submit(submit_sm(text)), TIMEOUT)
    assert isinstance(response, SubmitSmResp)
    return response


def raw_deliver(payload: bytes, data_coding: int) -> bytes:
    """A deliver_sm whose short_message is ``payload`` and data_coding any octet."""
    message = DeliverSm(
        short_message="-", source=PhoneNumber(PHONE, TON.INTERNATIONAL, NPI.ISDN),
        destination=PhoneNumber(SHORTCODE),
    )
    message.set_encoded_message(payload)
    pdu = bytearray(message.pdu())
    pdu[wire.layout(bytes(pdu)).data_coding] = data_coding
    return bytes(pdu)


# -- binding ---------------------------------------------------------------------------------


async def test_binds_with_credentials(sim: SmscSimulator, client: SmppClient) -> None:
    await sim.wait_bound(1)
    assert client.is_bound and client.binds == 1
    assert sim.received[SmppCommand.BIND_TRANSCEIVER] == 1


async def test_wrong_password_is_refused_and_retried_with_backoff(
    sim: SmscSimulator, recorder: Recorder
) -> None:
    refused = esme(recorder, sim.port, password="wrong")
    started = time.monotonic()
    async with running(refused):
        await sim.wait_received(SmppCommand.BIND_TRANSCEIVER, 3)
        # backoff after refusal n is reconnect_min * 2**n * [0.5, 1): at least 0.02 + 0.04
        assert time.monotonic() - started >= 0.05
        assert not refused.is_bound and refused.binds == 0 and sim.bound_count == 0
    async with SmscSimulator(password="wrong") as other:
        right = esme(recorder, other.port, password="wrong")
        async with running(right):
            await asyncio.wait_for(right.wait_bound(), TIMEOUT)
            assert right.binds == 1 and other.bound_count == 1


async def test_stop_during_backoff_returns_at_once(sim: SmscSimulator, recorder: Recorder) -> None:
    refused = esme(recorder, sim.port, password="wrong", reconnect_min_seconds=60,
                   reconnect_max_seconds=60)
    task = asyncio.create_task(refused.run())
    await sim.wait_received(SmppCommand.BIND_TRANSCEIVER)
    await refused.stop()
    await asyncio.wait_for(task, TIMEOUT)


async def test_reconnects_after_the_smsc_drops_the_link(
    sim: SmscSimulator, client: SmppClient
) -> None:
    await sim.wait_bound(1)
    await sim.drop_binds()
    await sim.wait_received(SmppCommand.BIND_TRANSCEIVER, 2)
    await sim.wait_bound(1)
    assert (await submit(client)).command_status is Status.ESME_ROK
    assert client.binds == 2


async def test_stop_unbinds(sim: SmscSimulator, recorder: Recorder) -> None:
    smpp = esme(recorder, sim.port)
    task = asyncio.create_task(smpp.run())
    await asyncio.wait_for(smpp.wait_bound(), TIMEOUT)
    await smpp.stop()
    await sim.wait_received(SmppCommand.UNBIND)
    await asyncio.wait_for(task, TIMEOUT)
    assert not smpp.is_bound and smpp.binds == 1


# -- MT --------------------------------------------------------------------------------------


async def test_submit_returns_the_message_id(
    sim: SmscSimulator, client: SmppClient, recorder: Recorder
) -> None:
    response = await submit(client, "hello")
    mt = await sim.await_mt(PHONE)
    assert response.command_status is Status.ESME_ROK
    assert mt.message_ids == [response.message_id] and mt.text == "hello"
    assert [r.message_id for _, r in recorder.accepted] == [response.message_id]


async def test_vendor_status_in_submit_sm_resp_keeps_the_link(
    sim: SmscSimulator, client: SmppClient, caplog: pytest.LogCaptureFixture
) -> None:
    sim.submit_responses.append(VENDOR_STATUS)
    response = await submit(client)
    assert response.command_status is Status.ESME_RUNKNOWNERR
    assert "0x00000458" in caplog.text
    assert (await submit(client)).command_status is Status.ESME_ROK
    assert client.binds == 1 and sim.received[SmppCommand.BIND_TRANSCEIVER] == 1


async def test_error_status_is_returned_not_raised(sim: SmscSimulator, client: SmppClient) -> None:
    sim.submit_responses.append(Status.ESME_RTHROTTLED)
    assert (await submit(client)).command_status is Status.ESME_RTHROTTLED


async def test_window_caps_outstanding_submits(sim: SmscSimulator, recorder: Recorder) -> None:
    # No pacing to speak of: without the window all six would be written in one loop turn.
    smpp = esme(recorder, sim.port, window=2, tps=1e12)
    async with running(smpp):
        await asyncio.wait_for(smpp.wait_bound(), TIMEOUT)
        sim.submit_gate.clear()
        sends = [asyncio.create_task(smpp.submit(submit_sm(f"m{n}"))) for n in range(6)]
        await sim.wait_received(SmppCommand.SUBMIT_SM, 2)
        # A barrier: whatever the client wrote before its deliver_sm_resp has been read by now.
        assert await sim.send_mo(PHONE, SHORTCODE, "barrier") == [Status.ESME_ROK]
        assert sim.received[SmppCommand.SUBMIT_SM] == 2 and sim.submits_in_flight == 2
        sim.submit_gate.set()
        responses = await asyncio.wait_for(asyncio.gather(*sends), TIMEOUT)
    assert all(r.command_status is Status.ESME_ROK for r in responses)
    assert sim.received[SmppCommand.SUBMIT_SM] == 6
    assert sim.peak_submits_in_flight == 2


async def test_tps_limit_paces_submits(sim: SmscSimulator, recorder: Recorder) -> None:
    smpp = esme(recorder, sim.port, tps=200.0)
    async with running(smpp):
        await asyncio.wait_for(smpp.wait_bound(), TIMEOUT)
        started = time.monotonic()
        sends = asyncio.gather(*(smpp.submit(submit_sm()) for _ in range(20)))
        await asyncio.wait_for(sends, TIMEOUT)
        assert time.monotonic() - started >= 0.09  # 19 intervals of 5 ms after the first
    assert sim.received[SmppCommand.SUBMIT_SM] == 20


async def test_token_bucket_rate() -> None:
    bucket = TokenBucket(200.0)
    started = time.monotonic()
    for _ in range(20):
        await bucket.take()
    assert time.monotonic() - started >= 0.09


async def test_token_bucket_burst() -> None:
    bucket = TokenBucket(1.0, burst=5)
    started = time.monotonic()
    for _ in range(5):
        await bucket.take()
    assert time.monotonic() - started < 1.0  # a full bucket does not wait


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (-1.0, 1.0), (10.0, 0.5)])
def test_token_bucket_rejects_nonsense(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="rate must be > 0 and burst >= 1"):
        TokenBucket(rate, burst)


# -- MO --------------------------------------------------------------------------------------


async def test_deliver_handler_status_reaches_the_smsc(
    sim: SmscSimulator, client: SmppClient, recorder: Recorder
) -> None:
    assert await sim.send_mo(PHONE, SHORTCODE, PERSIAN) == [Status.ESME_ROK]
    mo = await recorder.next_mo()
    assert (mo.source.number, mo.short_message) == (PHONE, PERSIAN)
    recorder.status = Status.ESME_RX_T_APPN
    assert await sim.send_mo(PHONE, SHORTCODE, "later") == [Status.ESME_RX_T_APPN]


async def test_failing_deliver_handler_is_answered_and_keeps_the_link(
    sim: SmscSimulator, client: SmppClient, recorder: Recorder
) -> None:
    recorder.fail = RuntimeError("store broke")
    assert await sim.send_mo(PHONE, SHORTCODE, "x") == [HANDLER_FAILED]
    recorder.fail = None
    assert await sim.send_mo(PHONE, SHORTCODE, "y") == [Status.ESME_ROK]
    assert client.binds == 1


class Miscounting:
    """A handler that returns ``off_by`` statuses more (or fewer) than it was given events."""

    def __init__(self, off_by: int) -> None:
        self.off_by = off_by
        self.events = 0

    async def on_events(self, events: list[SmscEvent], bind_id: str) -> list[Status]:
        self.events += len(events)
        return [Status.ESME_ROK] * max(len(events) + self.off_by, 0)


@pytest.mark.parametrize("off_by", [-1, 1])
async def test_a_miscounting_handler_gets_every_deliver_sm_answered_handler_failed(
    sim: SmscSimulator, caplog: pytest.LogCaptureFixture, off_by: int
) -> None:
    handler = Miscounting(off_by)
    smpp = SmppClient(config(sim.port), handler.on_events)
    async with running(smpp):
        await asyncio.wait_for(smpp.wait_bound(), TIMEOUT)
        # two parts: whether they come in one batch or two, none is left unanswered
        assert await sim.send_mo(PHONE, SHORTCODE, "x" * 200) == [HANDLER_FAILED] * 2
        assert handler.events == 2
        errors = [r.getMessage() for r in caplog.records
                  if r.name == "smpp.client" and r.levelname == "ERROR"]
        assert errors and all("deliver_sm answered ESME_RX_T_APPN" in m for m in errors)
        handler.off_by = 0  # the dispatcher is still alive, on the same bind
        assert await sim.send_mo(PHONE, SHORTCODE, "y") == [Status.ESME_ROK]
        assert smpp.binds == 1


@pytest.mark.parametrize(
    ("data_coding", "payload", "text"),
    [
        (0x18, PERSIAN.encode("utf-16-be"), PERSIAN),  # UCS2, message class 0 (flash)
        (0xF1, b"RESTORE", "RESTORE"),  # GSM default alphabet, message class 1
    ],
)
async def test_deliver_with_an_unlisted_data_coding_is_decoded(
    sim: SmscSimulator, client: SmppClient, recorder: Recorder,
    data_coding: int, payload: bytes, text: str,
) -> None:
    response = await sim.send_raw(raw_deliver(payload, data_coding))
    assert response.command == SmppCommand.DELIVER_SM_RESP and response.status is Status.ESME_ROK
    assert (await recorder.next_mo()).short_message == text


@pytest.mark.parametrize(
    ("data_coding", "payload"),
    [
        (0x0D, b"kanji"),  # no alphabet we know
        (0x0B, b"\x00\x41"),  # reserved alphabet bits
    ],
)
async def test_undecodable_deliver_is_answered_and_logged_masked(
    sim: SmscSimulator, client: SmppClient, recorder: Recorder,
    caplog: pytest.LogCaptureFixture, data_coding: int, payload: bytes,
) -> None:
    response = await sim.send_raw(raw_deliver(payload, data_coding))
    assert response.status is UNDECODABLE
    assert recorder.mo.empty()
    messages = [r.getMessage() for r in caplog.records if r.name == "smpp.client"]
    assert any("9891***0001" in m for m in messages)  # masked as it came on the wire
    assert not any(PHONE in m for m in messages)
    assert await sim.send_mo(PHONE, SHORTCODE, "still bound") == [Status.ESME_ROK]


@pytest.mark.parametrize(
    ("data_coding", "payload"),
    [
        (0x08, b"\xd8\x00\x00\x41"),  # half of a surrogate pair: the next part completes it
        (0x00, b"\x80\x81"),  # not GSM 03.38 alone
    ],
)
async def test_a_part_unreadable_alone_reaches_the_handler_with_its_octets(
    sim: SmscSimulator, client: SmppClient, recorder: Recorder, data_coding: int, payload: bytes,
) -> None:
    """The text is read from the raw octets once the message is whole (smpp/deliver.py)."""
    response = await sim.send_raw(raw_deliver(payload, data_coding))
    assert response.status is Status.ESME_ROK
    deliver = recorder.mo.get_nowait()
    assert (deliver.short_message, deliver.source.number) == ("", PHONE)


async def test_unknown_command_gets_generic_nack(sim: SmscSimulator, client: SmppClient) -> None:
    response = await sim.send_raw(raw_pdu(0x00000999, 0, 0, b"body"))
    assert response.command == SmppCommand.GENERIC_NACK
    assert response.status is Status.ESME_RINVCMDID
    assert await sim.send_mo(PHONE, SHORTCODE, "still bound") == [Status.ESME_ROK]
    assert client.binds == 1


async def test_unsupported_known_command_gets_generic_nack(
    sim: SmscSimulator, client: SmppClient
) -> None:
    response = await sim.send_raw(raw_pdu(SmppCommand.QUERY_SM, 0, 0, b"id\0\0\0\0"))
    assert (response.command, response.status) == (SmppCommand.GENERIC_NACK, Status.ESME_RINVCMDID)


async def test_vendor_status_on_a_deliver_sm_is_still_answered(
    sim: SmscSimulator, client: SmppClient, recorder: Recorder
) -> None:
    pdu = bytearray(raw_deliver(b"odd header", 0))
    struct.pack_into("!I", pdu, 8, VENDOR_STATUS)
    assert (await sim.send_raw(bytes(pdu))).status is Status.ESME_ROK
    assert (await recorder.next_mo()).short_message == "odd header"


# -- keep-alive ------------------------------------------------------------------------------


async def test_enquire_link_is_sent_when_idle(sim: SmscSimulator, recorder: Recorder) -> None:
    smpp = esme(recorder, sim.port, enquire_link_seconds=0.05)
    async with running(smpp):
        await sim.wait_received(SmppCommand.ENQUIRE_LINK, 2)
        assert smpp.is_bound and smpp.binds == 1


async def test_unanswered_enquire_link_drops_and_rebinds(
    sim: SmscSimulator, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    sim.ignore_enquire_link = 1
    smpp = esme(recorder, sim.port, enquire_link_seconds=0.05, response_timeout_seconds=0.2)
    async with running(smpp):
        await sim.wait_received(SmppCommand.BIND_TRANSCEIVER, 2)
        await sim.wait_bound(1)
        assert (await submit(smpp)).command_status is Status.ESME_ROK
        assert smpp.binds == 2
    assert "enquire_link unanswered" in caplog.text

