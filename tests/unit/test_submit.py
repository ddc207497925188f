"""Addressing on the wire: TON/NPI of both addresses and the data_coding of GSM-fitting text,
for SMS parts (`build_parts`) and USSD screens (`build_screen`), read back from the PDU bytes."""

from __future__ import annotations

import pytest

from smpp import wire
from smpp.segmentation import IA5, decode_text, encode_parts, is_ia5
from smpp.submit import Addressing, build_parts
from smpp.ussd import SMPP34, build_screen

MSISDN = "989121110001"


def numbering(pdu: bytes) -> tuple[int, int, int, int]:
    """(source TON, source NPI, destination TON, destination NPI) as sent."""
    at = wire.layout(pdu)
    return pdu[at.source_ton], pdu[at.source_ton + 1], pdu[at.dest_ton], pdu[at.dest_ton + 1]


def test_defaults_are_todays_wire_bytes() -> None:
    pdu = build_parts("hello", MSISDN, Addressing("7777"), ref=1)[0].pdu()
    assert numbering(pdu) == (3, 0, 1, 1)
    assert pdu[wire.layout(pdu).data_coding] == 0


@pytest.mark.parametrize(
    "addressing",
    [Addressing("7777", 6, 0, 2, 8), Addressing("HAMTA", 5, 0, 0, 0), Addressing("98912", 1, 1, 4, 9)],
)
def test_sms_and_ussd_carry_the_configured_numbering(addressing: Addressing) -> None:
    want = (addressing.source_ton, addressing.source_npi,
            addressing.destination_ton, addressing.destination_npi)  # fmt: skip
    for part in build_parts("x" * 200, MSISDN, addressing, ref=9):
        assert numbering(part.pdu()) == want
    screen = build_screen("menu", MSISDN, addressing, SMPP34, end=False, session_info=b"\x01")
    assert numbering(screen.pdu()) == want


@pytest.mark.parametrize(
    ("field", "value"),
    [("source_ton", 7), ("destination_ton", 9), ("source_npi", 2), ("destination_npi", 5),
     ("gsm_data_coding", 3)],
)
def test_numbering_outside_smpp_is_refused(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        Addressing("7777", **{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "coding"),
    [("Hello, code 123456", IA5),  # ASCII in the GSM basic table: IA5
     ("price {5}", 0),  # GSM extension characters: still the SMSC default alphabet
     ("café £5", 0),  # GSM but not ASCII
     ("سلام", 8)],  # neither
)
def test_gsm_data_coding_1_sends_plain_ascii_as_ia5(text: str, coding: int) -> None:
    parts = build_parts(text, MSISDN, Addressing("7777", gsm_data_coding=IA5), ref=1)
    pdu = parts[0].pdu()
    assert pdu[wire.layout(pdu).data_coding] == coding
    assert decode_text(coding, wire.short_message_bytes(pdu)) == text


def test_ia5_parts_have_the_gsm_sizes() -> None:
    text = "a" * 161
    assert is_ia5(text)
    coding, parts = encode_parts(text, 7, gsm_coding=IA5)
    gsm_coding, gsm_parts = encode_parts(text, 7)
    assert (coding, gsm_coding) == (IA5, 0)
    assert [len(p) for p in parts] == [len(p) for p in gsm_parts] == [159, 14]
    assert encode_parts("a" * 160, 7, gsm_coding=IA5) == (IA5, [b"a" * 160])


def test_forced_data_coding_wins_over_gsm_coding() -> None:
    assert encode_parts("Hi", 0, data_coding=0, gsm_coding=IA5) == (0, [b"Hi"])
    with pytest.raises(ValueError, match="gsm_coding must be 0 or 1, got 8"):
        encode_parts("Hi", 0, gsm_coding=8)
