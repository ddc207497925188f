"""The smpp34 SMSC tested on its own, with smpp34's own client as the ESME."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.peers.smpp34_smsc import Smpp34Smsc, smpp34, split_udh, ucs2_segments

PHONE = "989361110003"
LONG = "سامانه همتا: بازیابی دستگاه‌ها با شماره جدید. " * 4


@pytest.fixture
async def smsc() -> AsyncIterator[Smpp34Smsc]:
    async with Smpp34Smsc() as server:
        yield server


@pytest.fixture
async def esme(smsc: Smpp34Smsc) -> AsyncIterator[smpp34.Smsc]:
    client = smpp34.Client("127.0.0.1", smsc.port, "hamta", "secret", bind_type="TRX")
    session = await client.connect()
    await smsc.wait_bound()
    yield session
    await session.unbind()
    await client.stop()


def test_segments_round_trip_through_the_udh_reader() -> None:
    segments = ucs2_segments(LONG, 0x2A)
    assert len(segments) > 1
    heads = [split_udh(segment) for segment in segments]
    assert [concat for concat, _ in heads] == [(0x2A, len(segments), n) for n in range(1, len(segments) + 1)]
    assert b"".join(body for _, body in heads).decode("utf-16-be") == LONG
    assert ucs2_segments("سلام", 1) == ["سلام".encode("utf-16-be")]


async def test_concatenated_mt_is_reassembled_and_throttled_parts_refused(
    smsc: Smpp34Smsc, esme: smpp34.Smsc
) -> None:
    smsc.submit_plan.append(smpp34.ESME_RTHROTTLED)
    segments = ucs2_segments(LONG, 7)
    first = await esme.submit_sm(PHONE, segments[0], source_addr="7777", esm_class=0x40, data_coding=8)
    assert first.command_status == smpp34.ESME_RTHROTTLED
    ids = []
    for segment in segments:
        response = await esme.submit_sm(PHONE, segment, source_addr="7777", esm_class=0x40, data_coding=8)
        assert response.is_success
        ids.append(response.message_id)
    mt = await smsc.await_mt(PHONE)
    assert (mt.text, mt.source, mt.data_coding, mt.message_ids) == (LONG, "7777", 8, ids)


async def test_mo_and_ussd_reach_the_esme(smsc: Smpp34Smsc, esme: smpp34.Smsc) -> None:
    assert await smsc.send_mo(PHONE, "7777", LONG) == [0] * len(ucs2_segments(LONG, 0))
    first = await esme.next()
    assert isinstance(first, smpp34.DeliverSmEvent)
    assert (first.source_addr, first.esm_class, first.data_coding) == (PHONE, 0x40, 8)
    for _ in range(len(ucs2_segments(LONG, 0)) - 1):
        await esme.next()
    assert await smsc.send_ussd(PHONE, "*7777#", "*7777#", 1, b"\x80\x01") == 0
    ussd = await esme.next()
    assert isinstance(ussd, smpp34.DeliverSmEvent)
    tlvs = {tlv.tag: tlv.value for tlv in ussd.tlvs}
    assert tlvs == {smpp34.TLV_USSD_SERVICE_OP: b"\x01", smpp34.TLV_ITS_SESSION_INFO: b"\x80\x01"}
    await esme.submit_sm(PHONE, b"menu", source_addr="*7777#", tlvs=[
        smpp34.Tlv(smpp34.TLV_USSD_SERVICE_OP, b"\x02"),
        smpp34.Tlv(smpp34.TLV_ITS_SESSION_INFO, b"\x80\x01"),
    ])
    screen = await smsc.await_screen(PHONE)
    assert (screen.text, screen.op, screen.session_info) == ("menu", 2, b"\x80\x01")
