"""The SMPP PDU trace (smpp/trace.py): every field but what is personal, which is masked."""

from __future__ import annotations

import logging

import pytest
from aiosmpplib import BindTransceiver, DeliverSmResp, OptionalParam
from aiosmpplib.state import RECEIPTED_MESSAGE_ID, SOURCE_SUBADDRESS

from smpp import trace, wire
from smpp.submit import Addressing, build_parts
from smpp.ussd import SMPP34, build_screen
from tests.pdus import PHONE, deliver_pdu

ADDRESSING = Addressing("7777", 3, 0, 1, 1, 0)
CODE_TEXT = "کد تایید همتا: 482915 . برای بازیابی دستگاه"


def traced(caplog: pytest.LogCaptureFixture, *pdus: bytes, direction: str = "out") -> list[str]:
    with caplog.at_level(logging.DEBUG, logger=trace.TRACE_LOGGER):
        for pdu in pdus:
            if direction == "out":
                assert trace.sent(pdu) is pdu  # handed back untouched
            else:
                frame = wire.Frame.parse(pdu)
                assert trace.received(frame) is frame
    return [r.getMessage() for r in caplog.records if r.name == trace.TRACE_LOGGER]


def test_submit_sm_shows_its_fields_but_not_its_text_nor_the_number(caplog: pytest.LogCaptureFixture) -> None:
    parts = build_parts(CODE_TEXT * 2, PHONE, ADDRESSING, 7)
    for number, part in enumerate(parts, start=1):
        part.sequence_num = number
    lines = traced(caplog, *(part.pdu() for part in parts))
    assert len(lines) == len(parts) == 2
    first = lines[0]
    assert first.startswith("out submit_sm seq=1 status=ESME_ROK ")
    assert "source=7777/3/0" in first and "destination=9891***0001/1/1" in first
    assert "registered_delivery=1" in first and "encoding=ucs2" in first
    assert "short_message=<hidden, " in first
    assert all("482915" not in line and "9121110001" not in line and "بازیابی" not in line
               for line in lines)


def test_deliver_sm_and_its_tlvs(caplog: pytest.LogCaptureFixture) -> None:
    receipt = deliver_pdu(b"id:abc sub:001 dlvrd:001 stat:DELIVRD err:000 text:code 482915", esm_class=4,
                          params=[OptionalParam(RECEIPTED_MESSAGE_ID, "abc"),
                                  OptionalParam(SOURCE_SUBADDRESS, "989121110001")])
    [line] = traced(caplog, receipt, direction="in")
    assert line.startswith("in deliver_sm seq=7 ")
    assert "source=9891***0001/1/1" in line and "destination=20001/0/0" in line
    assert "receipted_message_id=abc" in line
    assert "tlv_0x0202=<hidden>" in line  # source_subaddress: not known to be harmless
    assert "482915" not in line and "9121110001" not in line and "DELIVRD" not in line


def test_bind_password_and_a_ussd_screen(caplog: pytest.LogCaptureFixture) -> None:
    bind = BindTransceiver(sequence_num=1, system_id="hamta", password="s3cret")
    screen = build_screen("Enter the code:", PHONE, ADDRESSING, SMPP34, end=False, session_info=b"\x01\x02")
    screen.sequence_num = 2
    bound, shown = traced(caplog, bind.pdu(), screen.pdu())
    assert "system_id=hamta" in bound and "password=***" in bound and "s3cret" not in bound
    assert "ussd_service_op=" in shown and "its_session_info=" in shown and "Enter" not in shown


def test_header_only_pdus_and_garbage(caplog: pytest.LogCaptureFixture) -> None:
    broken = wire.HEADER.pack(20, 0x00000004, 0, 9) + b"\xff\xff\xff\xff"  # a submit_sm of nothing
    lines = traced(caplog, DeliverSmResp(5).pdu(), broken)
    assert lines[0] == "out deliver_sm_resp seq=5 status=ESME_ROK"
    assert lines[1].startswith("out submit_sm seq=9 status=ESME_ROK undecodable")


def test_off_unless_asked(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=trace.TRACE_LOGGER):
        trace.sent(DeliverSmResp(5).pdu())
    assert not [r for r in caplog.records if r.name == trace.TRACE_LOGGER]
