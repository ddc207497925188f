"""The SMSC simulator over real TCP, driven by a minimal raw ESME written here."""

from __future__ import annotations

import asyncio
import itertools
import logging
import struct
from collections.abc import AsyncIterator
from typing import Any, Literal, cast

import pytest
from aiosmpplib import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    OptionalParam,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from aiosmpplib.protocol import MESSAGE_TYPE_MAP, PDU_HEADER_LENGTH
from aiosmpplib.state import (
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
    USER_MESSAGE_REFERENCE,
)

from smpp import wire
from smpp.segmentation import concat_udh, encode_parts
from smpp.sim import MtMessage, NoReceiverBound, SmscSimulator, mask_number

Status = SmppCommandStatus
PHONE = "989121110001"
SHORTCODE = "20001"
PERSIAN = "دستگاه شما با موفقیت بازیابی شد. "
TIMEOUT = 5.0
SUBMIT_DEFAULTS: dict[str, Any] = {
    "source": PhoneNumber(SHORTCODE),
    "destination": PhoneNumber(PHONE),
    "registered_delivery": 0,
}


class RawEsme:
    """A bare SMPP client: responses resolve futures by sequence number, requests are queued."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.inbound: asyncio.Queue[DeliverSm] = asyncio.Queue()
        self.deliver_status: Status | None = Status.ESME_ROK  # None: never answer deliver_sm
        self.closed = asyncio.Event()
        self._pending: dict[int, asyncio.Future[SmppMessage]] = {}
        self._sequence = itertools.count(1)
        self._task = asyncio.create_task(self._read_loop())

    @classmethod
    async def connect(cls, port: int) -> RawEsme:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def request(self, message: SmppMessage) -> SmppMessage:
        message.sequence_num = next(self._sequence)
        future: asyncio.Future[SmppMessage] = asyncio.get_running_loop().create_future()
        self._pending[message.sequence_num] = future
        await self.send_bytes(message.pdu())
        return await asyncio.wait_for(future, TIMEOUT)

    async def send_bytes(self, pdu: bytes) -> None:
        self.writer.write(pdu)
        await self.writer.drain()

    async def bind(
        self, kind: type[BindTransceiver] = BindTransceiver, password: str = "secret"
    ) -> Status:
        response = await self.request(kind(system_id="hamta", password=password))
        return response.command_status

    async def submit(self, text: str, **fields: Any) -> SubmitSmResp:
        message = SubmitSm(short_message=text, **{**SUBMIT_DEFAULTS, **fields})
        return cast(SubmitSmResp, await self.request(message))

    async def submit_encoded(self, payload: bytes, data_coding: int, **fields: Any) -> SubmitSmResp:
        """submit_sm whose short_message is ``payload`` as is (UDH included)."""
        encoding = "ucs2" if data_coding == 8 else None
        message = SubmitSm(short_message="-", encoding=encoding, **{**SUBMIT_DEFAULTS, **fields})
        message.set_encoded_message(payload)
        return cast(SubmitSmResp, await self.request(message))

    async def next_inbound(self) -> DeliverSm:
        return await asyncio.wait_for(self.inbound.get(), TIMEOUT)

    async def close(self) -> None:
        self._task.cancel()
        self.writer.close()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read_loop(self) -> None:
        try:
            while True:
                await self._handle(await self._read_message())
        except asyncio.IncompleteReadError:
            self.closed.set()

    async def _read_message(self) -> SmppMessage:
        header_bytes = await self.reader.readexactly(PDU_HEADER_LENGTH)
        header = SmppMessage.parse_header(header_bytes)
        pdu = header_bytes + await self.reader.readexactly(header.pdu_length - PDU_HEADER_LENGTH)
        return MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(pdu, header, "gsm0338")

    async def _handle(self, message: SmppMessage) -> None:
        if message.smpp_command & 0x80000000:
            self._pending.pop(message.sequence_num).set_result(message)
            return
        assert isinstance(message, DeliverSm)
        await self.inbound.put(message)
        if self.deliver_status is not None:
            await self.send_bytes(DeliverSmResp(message.sequence_num, self.deliver_status).pdu())


@pytest.fixture
async def esme(sim: SmscSimulator) -> AsyncIterator[RawEsme]:
    client = await RawEsme.connect(sim.port)
    assert await client.bind() is Status.ESME_ROK
    yield client
    await client.close()


def sar(ref: int, total: int, seq: int) -> list[OptionalParam]:
    return [
        OptionalParam(SAR_MSG_REF_NUM, ref),
        OptionalParam(SAR_TOTAL_SEGMENTS, total),
        OptionalParam(SAR_SEGMENT_SEQNUM, seq),
    ]


def text_of(parts: list[DeliverSm]) -> str:
    """Reassemble MO parts as decoded by aiosmpplib (it turns a UDH into SAR params)."""
    ordered = sorted(parts, key=lambda p: p.get_segmentation_data()[1])
    return "".join(p.short_message for p in ordered)


# -- binding ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [BindTransceiver, BindReceiver, BindTransmitter])
async def test_bind_ok(sim: SmscSimulator, kind: type[BindTransceiver]) -> None:
    client = await RawEsme.connect(sim.port)
    response = await client.request(kind(system_id="hamta", password="secret"))
    assert response.command_status is Status.ESME_ROK
    assert response.smpp_command == kind(system_id="x").smpp_command | 0x80000000
    assert response.system_id == "hamta"
    await sim.wait_bound(1)
    assert sim.bound_count == 1
    await client.close()


async def test_ready_needs_a_receiver_and_a_transmitter(sim: SmscSimulator) -> None:
    transmitter = await RawEsme.connect(sim.port)
    assert await transmitter.bind(BindTransmitter) is Status.ESME_ROK
    await sim.wait_bound(1)
    assert not sim.ready
    with pytest.raises(TimeoutError):
        await sim.wait_ready(timeout=0.05)
    receiver = await RawEsme.connect(sim.port)
    assert await receiver.bind(BindReceiver) is Status.ESME_ROK
    await sim.wait_ready()
    assert sim.ready
    await transmitter.close()
    await receiver.close()


async def test_a_transceiver_alone_is_ready(sim: SmscSimulator, esme: RawEsme) -> None:
    await sim.wait_ready()
    assert sim.ready


async def test_wrong_password_is_refused_and_closed(sim: SmscSimulator) -> None:
    client = await RawEsme.connect(sim.port)
    assert await client.bind(password="wrong") is Status.ESME_RBINDFAIL
    await asyncio.wait_for(client.closed.wait(), TIMEOUT)
    assert sim.bound_count == 0
    await client.close()


async def test_second_bind_on_a_session_is_refused(esme: RawEsme) -> None:
    assert await esme.bind() is Status.ESME_RALYBND


async def test_enquire_link_is_answered(esme: RawEsme) -> None:
    response = await esme.request(EnquireLink())
    assert response.command_status is Status.ESME_ROK


async def test_unbind_answers_then_closes(sim: SmscSimulator, esme: RawEsme) -> None:
    response = await esme.request(Unbind())
    assert response.command_status is Status.ESME_ROK
    await asyncio.wait_for(esme.closed.wait(), TIMEOUT)
    assert sim.bound_count == 0


async def test_unknown_command_gets_generic_nack(esme: RawEsme) -> None:
    future = asyncio.get_running_loop().create_future()
    esme._pending[77] = future
    await esme.send_bytes(struct.pack("!IIII", 16, 0x00000999, 0, 77))
    nack = await asyncio.wait_for(future, TIMEOUT)
    assert nack.smpp_command == 0x80000000
    assert nack.command_status is Status.ESME_RINVCMDID


async def test_drop_binds_closes_every_connection(sim: SmscSimulator) -> None:
    clients = [await RawEsme.connect(sim.port) for _ in range(2)]
    for client in clients:
        await client.bind()
    await sim.drop_binds()
    assert sim.bound_count == 0
    for client in clients:
        await asyncio.wait_for(client.closed.wait(), TIMEOUT)
        await client.close()


# -- MT ---------------------------------------------------------------------------------------


async def test_gsm_submit_is_recorded(sim: SmscSimulator, esme: RawEsme) -> None:
    response = await esme.submit("Code [42] costs 5€", registered_delivery=0)
    assert response.command_status is Status.ESME_ROK
    mt = await sim.await_mt(PHONE)
    assert (mt.source, mt.destination, mt.text) == (SHORTCODE, PHONE, "Code [42] costs 5€")
    assert (mt.data_coding, mt.parts) == (0, 1)
    assert mt.message_ids == [response.message_id]
    assert sim.mt_log == [mt]


async def test_ucs2_persian_submit_is_recorded(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.submit("سلام، کد شما ۱۲۳۴ است", encoding="ucs2", registered_delivery=1)
    mt = await sim.await_mt()
    assert (mt.text, mt.data_coding, mt.registered_delivery) == ("سلام، کد شما ۱۲۳۴ است", 8, 1)


async def test_message_ids_are_unique(esme: RawEsme) -> None:
    ids = {(await esme.submit(f"m{n}")).message_id for n in range(5)}
    assert len(ids) == 5


async def test_optional_params_are_kept(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.submit("hi", optional_params=[OptionalParam(USER_MESSAGE_REFERENCE, 513)])
    mt = await sim.await_mt()
    assert mt.optional_params == [OptionalParam(USER_MESSAGE_REFERENCE, 513)]


async def test_udh_concatenated_mt_is_reassembled_out_of_order(
    sim: SmscSimulator, esme: RawEsme
) -> None:
    text = PERSIAN * 5
    coding, parts = encode_parts(text, 0xC8)
    assert len(parts) == 3
    for part in reversed(parts):
        await esme.submit_encoded(part, coding, esm_class=0x40)
    mt = await sim.await_mt(PHONE)
    assert (mt.text, mt.parts, mt.esm_class, len(set(mt.message_ids))) == (text, 3, 0x40, 3)
    assert sim.mt_log == [mt]  # the incomplete state was never recorded


async def test_16bit_udh_concatenation_is_reassembled(sim: SmscSimulator, esme: RawEsme) -> None:
    halves = ["first half, ", "second half"]
    for seq, half in enumerate(halves, 1):
        payload = concat_udh(0x1234, 2, seq, wide=True) + half.encode()
        await esme.submit_encoded(payload, 0, esm_class=0x40)
    assert (await sim.await_mt()).text == "first half, second half"


async def test_sar_concatenated_mt_is_reassembled(sim: SmscSimulator, esme: RawEsme) -> None:
    payload = ("ب" * 100).encode("utf-16-be")
    for seq, chunk in enumerate([payload[:134], payload[134:]], 1):
        await esme.submit_encoded(chunk, 8, optional_params=sar(0x0102, 2, seq))
    mt = await sim.await_mt()
    assert (mt.text, mt.parts, mt.optional_params) == ("ب" * 100, 2, [])


async def test_parts_of_different_messages_do_not_mix(sim: SmscSimulator, esme: RawEsme) -> None:
    for ref, word in ((1, "one"), (2, "two")):
        await esme.submit_encoded(concat_udh(ref, 2, 1) + word.encode(), 0, esm_class=0x40)
    for ref, word in ((2, "TWO"), (1, "ONE")):
        await esme.submit_encoded(concat_udh(ref, 2, 2) + word.encode(), 0, esm_class=0x40)
    assert [(await sim.await_mt()).text for _ in range(2)] == ["twoTWO", "oneONE"]


async def test_await_mt_is_fifo_per_destination(sim: SmscSimulator, esme: RawEsme) -> None:
    for number, text in (("989120000001", "a1"), ("989120000002", "b1"), ("989120000001", "a2")):
        await esme.submit(text, destination=PhoneNumber(number))
    assert (await sim.await_mt("989120000002")).text == "b1"
    assert (await sim.await_mt("989120000001")).text == "a1"
    assert (await sim.await_mt()).text == "a2"
    with pytest.raises(TimeoutError):
        await sim.await_mt(timeout=0.05)


async def test_await_mt_wakes_up_on_arrival(sim: SmscSimulator, esme: RawEsme) -> None:
    waiter = asyncio.create_task(sim.await_mt(PHONE))
    await esme.submit("late")
    assert (await waiter).text == "late"


async def test_mt_observers_see_every_mt_without_taking_it(sim: SmscSimulator, esme: RawEsme) -> None:
    seen: list[MtMessage] = []
    sim.mt_observers.append(seen.append)
    await esme.submit("watched")
    mt = await sim.await_mt(PHONE)  # still there for the waiter
    assert seen == [mt]


async def test_submit_from_receiver_is_refused(sim: SmscSimulator) -> None:
    client = await RawEsme.connect(sim.port)
    await client.bind(BindReceiver)
    assert (await client.submit("no")).command_status is Status.ESME_RINVBNDSTS
    assert sim.mt_log == []
    await client.close()


@pytest.mark.parametrize("status", [Status.ESME_RTHROTTLED, Status.ESME_RMSGQFUL])
async def test_submit_responses_knob(sim: SmscSimulator, esme: RawEsme, status: Status) -> None:
    sim.submit_responses.append(status)
    assert (await esme.submit("refused")).command_status is status
    assert (await esme.submit("accepted")).command_status is Status.ESME_ROK
    assert [m.text for m in sim.mt_log] == ["accepted"]


async def test_submit_gate_holds_answers_and_counts_in_flight(
    sim: SmscSimulator, esme: RawEsme
) -> None:
    sim.submit_gate.clear()
    sends = [asyncio.create_task(esme.submit(f"held {n}")) for n in range(3)]
    await sim.wait_received(SmppCommand.SUBMIT_SM, 3)
    assert (await esme.request(EnquireLink())).command_status is Status.ESME_ROK  # still reading
    assert sim.submits_in_flight == 3 and not any(send.done() for send in sends)
    sim.submit_gate.set()
    responses = await asyncio.wait_for(asyncio.gather(*sends), TIMEOUT)
    assert all(r.command_status is Status.ESME_ROK for r in responses)
    assert (sim.submits_in_flight, sim.peak_submits_in_flight) == (0, 3)
    assert sorted(m.text for m in sim.mt_log) == ["held 0", "held 1", "held 2"]


async def test_held_submits_of_a_dropped_connection_are_forgotten(
    sim: SmscSimulator, esme: RawEsme
) -> None:
    sim.submit_gate.clear()
    send = asyncio.create_task(esme.submit("never answered"))
    await sim.wait_received(SmppCommand.SUBMIT_SM)
    await sim.drop_binds()
    await asyncio.wait_for(esme.closed.wait(), TIMEOUT)
    assert sim.submits_in_flight == 0 and sim.mt_log == []
    send.cancel()
    await asyncio.gather(send, return_exceptions=True)


async def test_submit_nacks_knob_answers_generic_nack_first(
    sim: SmscSimulator, esme: RawEsme
) -> None:
    sim.submit_nacks.append(Status.ESME_RSYSERR)
    sim.submit_responses.append(Status.ESME_RTHROTTLED)
    nacked = await esme.request(SubmitSm(short_message="nacked", **SUBMIT_DEFAULTS))
    assert nacked.smpp_command == SmppCommand.GENERIC_NACK
    assert nacked.command_status is Status.ESME_RSYSERR
    assert (await esme.submit("throttled")).command_status is Status.ESME_RTHROTTLED
    assert (await esme.submit("accepted")).command_status is Status.ESME_ROK
    assert [m.text for m in sim.mt_log] == ["accepted"]


async def test_submit_times_are_kept_in_arrival_order(sim: SmscSimulator, esme: RawEsme) -> None:
    before = asyncio.get_running_loop().time()
    for n in range(3):
        await esme.submit(f"timed {n}")
    times = sim.submit_times
    assert len(times) == 3 and before <= times[0] <= times[1] <= times[2]


async def test_wait_connections_sees_a_connection_go(sim: SmscSimulator, esme: RawEsme) -> None:
    await sim.wait_connections(1)
    await esme.close()
    await sim.wait_connections(0)
    assert sim.bound_count == 0


async def test_vendor_status_in_submit_responses(sim: SmscSimulator) -> None:
    sim.submit_responses.append(0x00000458)  # aiosmpplib cannot even parse this one
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(BindTransceiver(sequence_num=1, system_id="hamta", password="secret").pdu())
    writer.write(SubmitSm(short_message="x", sequence_num=2, **SUBMIT_DEFAULTS).pdu())
    bound, answer = [await asyncio.wait_for(wire.read_pdu(reader), TIMEOUT) for _ in range(2)]
    assert bound.status is Status.ESME_ROK
    assert (answer.command, answer.status_code, answer.sequence) == (
        SmppCommand.SUBMIT_SM_RESP, 0x00000458, 2,
    )
    writer.close()


async def test_ignore_enquire_link_leaves_the_next_ones_unanswered(
    sim: SmscSimulator, esme: RawEsme
) -> None:
    sim.ignore_enquire_link = 1
    first = asyncio.create_task(esme.request(EnquireLink()))
    await sim.wait_received(SmppCommand.ENQUIRE_LINK)
    assert (await esme.request(EnquireLink())).command_status is Status.ESME_ROK
    assert not first.done()  # answered in order: the first one was skipped
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)


async def test_received_counts_requests_by_command(sim: SmscSimulator, esme: RawEsme) -> None:
    await esme.request(EnquireLink())
    await esme.submit("one")
    assert sim.received == {
        SmppCommand.BIND_TRANSCEIVER: 1, SmppCommand.ENQUIRE_LINK: 1, SmppCommand.SUBMIT_SM: 1,
    }
    with pytest.raises(TimeoutError):
        await sim.wait_received(SmppCommand.UNBIND, timeout=0.01)


async def test_absurd_length_is_nacked_and_closed(sim: SmscSimulator, esme: RawEsme) -> None:
    future = asyncio.get_running_loop().create_future()
    esme._pending[77] = future
    await esme.send_bytes(struct.pack("!IIII", 8, 0x00000004, 0, 77))
    nack = await asyncio.wait_for(future, TIMEOUT)
    assert (nack.smpp_command, nack.command_status) == (0x80000000, Status.ESME_RINVCMDLEN)
    await asyncio.wait_for(esme.closed.wait(), TIMEOUT)


# -- receipts ---------------------------------------------------------------------------------


async def test_receipt_follows_submit_resp(sim: SmscSimulator, esme: RawEsme) -> None:
    response = await esme.submit("Hello", registered_delivery=1)
    receipt = await esme.next_inbound()
    assert receipt.is_receipt()
    fields = receipt.parse_receipt()
    assert (fields["id"], fields["stat"], fields["sub"], fields["dlvrd"]) == (
        response.message_id,
        "DELIVRD",
        1,
        1,
    )
    assert fields["text"] == "Hello"
    assert (receipt.source.number, receipt.destination.number) == (PHONE, SHORTCODE)


async def test_one_receipt_per_part(esme: RawEsme) -> None:
    coding, parts = encode_parts("x" * 200, 5)
    ids = [
        (await esme.submit_encoded(p, coding, esm_class=0x40, registered_delivery=1)).message_id
        for p in parts
    ]
    receipts = [(await esme.next_inbound()).parse_receipt()["id"] for _ in parts]
    assert receipts == ids


async def test_receipt_goes_to_a_receiver_when_submitted_by_transmitter(sim: SmscSimulator) -> None:
    transmitter, receiver = await RawEsme.connect(sim.port), await RawEsme.connect(sim.port)
    await transmitter.bind(BindTransmitter)
    await receiver.bind(BindReceiver)
    response = await transmitter.submit("Hi", registered_delivery=1)
    assert (await receiver.next_inbound()).parse_receipt()["id"] == response.message_id
    await transmitter.close()
    await receiver.close()


async def test_no_receipt_unless_asked_or_enabled(esme: RawEsme) -> None:
    await esme.submit("quiet", registered_delivery=0)
    await esme.request(EnquireLink())  # answered after anything the submit triggered
    assert esme.inbound.empty()


async def test_receipts_can_be_switched_off() -> None:
    async with SmscSimulator(receipts=False) as sim:
        client = await RawEsme.connect(sim.port)
        await client.bind()
        await client.submit("quiet", registered_delivery=1)
        await client.request(EnquireLink())
        assert client.inbound.empty()
        await client.close()


async def test_send_receipt_by_hand(sim: SmscSimulator, esme: RawEsme) -> None:
    response = await esme.submit("later", registered_delivery=0)
    await sim.send_receipt(response.message_id, stat="UNDELIV")
    fields = (await esme.next_inbound()).parse_receipt()
    assert (fields["stat"], fields["dlvrd"]) == ("UNDELIV", 0)


# -- MO ---------------------------------------------------------------------------------------


async def test_send_mo_plain_gsm(sim: SmscSimulator, esme: RawEsme) -> None:
    assert await sim.send_mo(PHONE, SHORTCODE, "RESTORE 355762052793235") == [Status.ESME_ROK]
    mo = await esme.next_inbound()
    assert (mo.short_message, mo.encoding, mo.esm_class) == ("RESTORE 355762052793235", None, 0)
    assert (mo.source.number, mo.destination.number) == (PHONE, SHORTCODE)


async def test_send_mo_ucs2_persian(sim: SmscSimulator, esme: RawEsme) -> None:
    assert await sim.send_mo(PHONE, SHORTCODE, "بازیابی") == [Status.ESME_ROK]
    mo = await esme.next_inbound()
    assert (mo.short_message, mo.encoding) == ("بازیابی", "ucs2")


@pytest.mark.parametrize(("concat", "esm_class"), [("udh", 0x40), ("sar", 0x00)])
async def test_send_mo_concatenated(
    sim: SmscSimulator, esme: RawEsme, concat: Literal["udh", "sar"], esm_class: int
) -> None:
    text = PERSIAN * 4
    statuses = await sim.send_mo(PHONE, SHORTCODE, text, concat=concat)
    assert statuses == [Status.ESME_ROK] * 2
    parts = [await esme.next_inbound() for _ in statuses]
    assert {p.esm_class for p in parts} == {esm_class}
    assert {p.get_segmentation_data()[2] for p in parts} == {2}
    assert text_of(parts) == text


async def test_send_mo_forced_ucs2(sim: SmscSimulator, esme: RawEsme) -> None:
    await sim.send_mo(PHONE, SHORTCODE, "plain", data_coding=8)
    assert (await esme.next_inbound()).encoding == "ucs2"


async def test_send_mo_returns_esme_statuses(sim: SmscSimulator, esme: RawEsme) -> None:
    esme.deliver_status = Status.ESME_RX_T_APPN
    assert await sim.send_mo(PHONE, SHORTCODE, "x" * 170) == [Status.ESME_RX_T_APPN] * 2


async def test_send_mo_times_out_when_unanswered(sim: SmscSimulator, esme: RawEsme) -> None:
    esme.deliver_status = None
    with pytest.raises(TimeoutError):
        await sim.send_mo(PHONE, SHORTCODE, "hello?", timeout=0.1)


async def test_send_mo_fails_when_the_esme_drops(sim: SmscSimulator, esme: RawEsme) -> None:
    esme.deliver_status = None
    sending = asyncio.create_task(sim.send_mo(PHONE, SHORTCODE, "x" * 200))
    await esme.next_inbound()  # the first part is out, unanswered
    await sim.drop_binds()
    with pytest.raises(ConnectionError):
        await sending

async def test_send_mo_needs_a_receiver(sim: SmscSimulator) -> None:
    client = await RawEsme.connect(sim.port)
    await client.bind(BindTransmitter)
    with pytest.raises(NoReceiverBound):
        await sim.send_mo(PHONE, SHORTCODE, "nobody")
    await client.close()


async def test_send_mo_round_robins_receivers(sim: SmscSimulator) -> None:
    clients = [await RawEsme.connect(sim.port) for _ in range(2)]
    for client in clients:
        await client.bind(BindReceiver)
    for n in range(4):
        await sim.send_mo(PHONE, SHORTCODE, f"mo {n}")
    assert [client.inbound.qsize() for client in clients] == [2, 2]
    for client in clients:
        await client.close()


async def test_send_raw_deliver(sim: SmscSimulator, esme: RawEsme) -> None:
    crafted = DeliverSm(
        short_message="raw", source=PhoneNumber(PHONE), destination=PhoneNumber(SHORTCODE)
    )
    assert await sim.send_raw_deliver(crafted) is Status.ESME_ROK
    assert (await esme.next_inbound()).short_message == "raw"


# -- logs -------------------------------------------------------------------------------------


def test_mask_number() -> None:
    assert mask_number("09121234567") == "0912***4567"
    assert mask_number("+98 912 123 4567") == "9891***4567"
    assert mask_number("20001") == "***"


async def test_logs_name_system_id_and_mask_numbers(
    sim: SmscSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="smpp.sim.server")
    client = await RawEsme.connect(sim.port)
    await client.bind()
    await client.submit("secret text", registered_delivery=1)
    await sim.send_mo(PHONE, SHORTCODE, "private words")
    await client.request(Unbind())
    await asyncio.wait_for(client.closed.wait(), TIMEOUT)
    messages = [r.getMessage() for r in caplog.records if r.name == "smpp.sim.server"]
    assert any("bind" in m and "system_id=hamta" in m for m in messages)
    assert any("unbind" in m and "system_id=hamta" in m for m in messages)
    assert any(mask_number(PHONE) in m for m in messages)
    assert not any(PHONE in m or "secret text" in m or "private words" in m for m in messages)
    await client.close()


async def test_mt_message_is_plain_data() -> None:
    message = MtMessage("a", "b", "t", 0, 1, ["id"], 0, 0)
    assert message.optional_params == []

