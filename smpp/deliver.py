"""A deliver_sm read from its raw octets: what the intake needs, nothing decoded too early.

aiosmpplib decodes each part's text on its own (a UCS-2 surrogate pair split across two parts
fails), reads only the first UDH element, and parses receipts strictly. Here the envelope,
the user data (UDH removed, text still octets), the concatenation data (every UDH information
element walked: 8- and 16-bit references; or the SAR TLVs) and the TLVs are read straight from
the PDU, so a message is decoded once, after reassembly (`decode_user_data`).

    mo = read_deliver(frame.data)
    mo.concat            # Concat(ref, total, seq) or None
    mo.is_receipt        # esm_class says delivery receipt/notification, or receipted_message_id
    mo.text_octets       # short_message, or message_payload when short_message is empty
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from aiosmpplib.state import (
    MESSAGE_PAYLOAD,
    RECEIPTED_MESSAGE_ID,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
    USSD_SERVICE_OP,
)

from smpp import wire
from smpp.segmentation import CODECS, UDHI, Concat, decode_octets, decode_udh

# How the SMSC default alphabet (data_coding 0) is read: GSM 03.38 unless the SMSC says otherwise.
DefaultCoding = Literal["gsm0338", "latin1", "ascii"]

# esm_class bits 2..5 (SMPP 3.4, 5.2.12): SMSC delivery receipt, intermediate notification.
_MESSAGE_TYPE_MASK: Final = 0x3C
_RECEIPT_TYPES: Final = frozenset({0x04, 0x20})



@dataclass(frozen=True, slots=True)
class DeliverPdu:
    source: str
    destination: str
    esm_class: int
    data_coding: int
    user_data: bytes  # the text's octets, UDH removed
    concat: Concat | None
    tlvs: dict[int, bytes] = field(repr=False)

    @property
    def is_receipt(self) -> bool:
        return (self.esm_class & _MESSAGE_TYPE_MASK) in _RECEIPT_TYPES or (
            RECEIPTED_MESSAGE_ID in self.tlvs and USSD_SERVICE_OP not in self.tlvs)

    @property
    def is_ussd(self) -> bool:
        return USSD_SERVICE_OP in self.tlvs


def read_deliver(pdu: bytes, read: tuple[wire.SmLayout, dict[int, bytes]] | None = None) -> DeliverPdu:
    """ValueError when the body, a TLV or the UDH is cut short. `read`: its layout and TLVs as
    `smpp.wire.check_deliver` read them already."""
    if read is None:
        at = wire.layout(pdu)
        tlvs = dict(wire.tlvs(pdu[at.tlvs:]))
    else:
        at, tlvs = read
    esm_class = pdu[at.esm_class]
    octets = pdu[at.short_message] or tlvs.get(MESSAGE_PAYLOAD, b"")
    concat: Concat | None = None
    if esm_class & UDHI and octets:
        concat, octets = decode_udh(octets)
    if concat is None:
        concat = _sar(tlvs)
    source, destination = wire.addresses(pdu, at)  # the layout read once
    return DeliverPdu(
        source=source, destination=destination,
        esm_class=esm_class, data_coding=pdu[at.data_coding], user_data=octets,
        concat=concat if concat is not None and concat.total > 1 else None, tlvs=tlvs,
    )


def codec_name(data_coding: int, default: DefaultCoding = "gsm0338") -> str:
    """The codec the user data of this data_coding decodes with; UndecodablePdu if none."""
    coding = wire.known_coding(data_coding)
    if coding == 0:
        return "latin-1" if default == "latin1" else default
    return CODECS.get(coding, "latin-1")


def decode_user_data(codec: str, octets: bytes) -> str:
    """Text from reassembled user data; what cannot be read becomes U+FFFD, never an error."""
    return decode_octets(codec, octets)


def _sar(tlvs: dict[int, bytes]) -> Concat | None:
    parts = [tlvs.get(tag) for tag in (SAR_MSG_REF_NUM, SAR_TOTAL_SEGMENTS, SAR_SEGMENT_SEQNUM)]
    if any(value is None or not value for value in parts):
        return None
    ref, total, seq = (int.from_bytes(value or b"", "big") for value in parts)
    return Concat(ref, total, seq)
