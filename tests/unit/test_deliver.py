"""deliver_sm read from its raw octets (smpp/deliver.py): every UDH element walked, SAR, the
payload TLV, receipts by esm_class or TLV, and text decoded once, after reassembly."""

from __future__ import annotations

import pytest
from aiosmpplib import OptionalParam
from aiosmpplib.state import (
    RECEIPTED_MESSAGE_ID,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
)

from smpp import wire
from smpp.deliver import codec_name, decode_user_data, read_deliver
from smpp.segmentation import Concat
from tests.pdus import PHONE, SHORTCODE, deliver_pdu

EMOJI_TEXT = "سلام 🙂 همتا"
PORTS = bytes([0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0])  # application port addressing, 16-bit


@pytest.mark.parametrize(
    ("udh", "concat"),
    [
        (bytes([5, 0x00, 3, 0x2A, 2, 1]), Concat(0x2A, 2, 1)),
        (bytes([6, 0x08, 4, 0x12, 0x34, 3, 2]), Concat(0x1234, 3, 2)),
        (bytes([11]) + PORTS + bytes([0x00, 3, 0x2A, 2, 2]), Concat(0x2A, 2, 2)),  # port IE first
        (bytes([3, 0x24, 1, 0x01]) + b"", None),  # a national language shift only: not split
    ],
)
def test_every_udh_element_is_walked(udh: bytes, concat: Concat | None) -> None:
    body = "متن".encode("utf-16-be")
    pdu = read_deliver(deliver_pdu(udh + body, 0x08, esm_class=wire.UDHI))
    assert (pdu.concat, pdu.user_data) == (concat, body)


def test_sar_tlvs_give_the_concatenation() -> None:
    params = [OptionalParam(SAR_MSG_REF_NUM, 0x0102), OptionalParam(SAR_TOTAL_SEGMENTS, 2),
              OptionalParam(SAR_SEGMENT_SEQNUM, 2)]
    pdu = read_deliver(deliver_pdu(b"part two", params=params))
    assert pdu.concat == Concat(0x0102, 2, 2)


def test_the_envelope() -> None:
    pdu = read_deliver(deliver_pdu(b"hi"))
    assert (pdu.source, pdu.destination, pdu.is_receipt, pdu.is_ussd) == (PHONE, SHORTCODE, False, False)


def test_text_in_message_payload() -> None:
    payload = wire.tlv_bytes(0x0424, "طولانی".encode("utf-16-be"))
    pdu = read_deliver(deliver_pdu(b"", 0x08, raw_tlvs=payload))
    assert decode_user_data(codec_name(pdu.data_coding), pdu.user_data) == "طولانی"


@pytest.mark.parametrize(
    ("esm_class", "tlvs", "receipt"),
    [(0x04, b"", True), (0x20, b"", True), (0x00, wire.tlv_bytes(RECEIPTED_MESSAGE_ID, b"1\0"), True),
     (0x00, b"", False), (0x08, b"", False)],
)
def test_what_is_a_receipt(esm_class: int, tlvs: bytes, receipt: bool) -> None:
    assert read_deliver(deliver_pdu(b"id:1", esm_class=esm_class, raw_tlvs=tlvs)).is_receipt is receipt


def test_a_surrogate_pair_split_across_parts_reads_right_once_whole() -> None:
    octets = EMOJI_TEXT.encode("utf-16-be")
    cut = EMOJI_TEXT.index("🙂") * 2 + 2  # between the two halves of the emoji
    first, second = octets[:cut], octets[cut:]
    assert decode_user_data("utf-16-be", first).endswith("\ufffd")  # alone, half a character
    assert decode_user_data("utf-16-be", first + second) == EMOJI_TEXT


@pytest.mark.parametrize(
    ("data_coding", "default", "codec"),
    [(0x00, "gsm0338", "gsm0338"), (0x00, "latin1", "latin-1"), (0x00, "ascii", "ascii"),
     (0x01, "gsm0338", "ascii"), (0x03, "gsm0338", "latin-1"), (0x08, "gsm0338", "utf-16-be"),
     (0x18, "gsm0338", "utf-16-be"), (0xF0, "gsm0338", "gsm0338")],
)
def test_codecs(data_coding: int, default: str, codec: str) -> None:
    assert codec_name(data_coding, default) == codec  # type: ignore[arg-type]  # table strings


def test_gsm_default_alphabet() -> None:
    assert decode_user_data("gsm0338", bytes([0x48, 0x69, 0x00, 0x1B, 0x65])) == "Hi@€"
