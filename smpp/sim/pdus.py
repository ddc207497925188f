"""The SMSC simulator's PDU helpers: pure functions from and to aiosmpplib messages and bytes.

What comes in: a submit_sm turned into a `Part` (raw user data kept, because aiosmpplib
mis-reads the 16-bit concatenation reference and decodes each part on its own) and complete
parts into an `MtMessage`. What goes out: MO parts (UDH or SAR) and delivery receipts.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from aiosmpplib import DeliverSm, OptionalParam, PhoneNumber, SubmitSm
from aiosmpplib.state import (
    MESSAGE_STATE,
    NPI,
    RECEIPTED_MESSAGE_ID,
    SAR_MSG_REF_NUM,
    SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS,
    TON,
    SmppDataCoding,
)  # fmt: skip

from smpp import wire
from smpp.segmentation import UCS2, UDHI, Concat, decode_text, decode_udh, is_gsm

RECEIPT_ESM_CLASS: Final[int] = 0x04
SAR_TAGS: Final = frozenset({SAR_MSG_REF_NUM, SAR_TOTAL_SEGMENTS, SAR_SEGMENT_SEQNUM})
# Receipt `stat:` word -> message_state TLV value (SMPP 3.4, 5.2.28).
MESSAGE_STATES: Final[dict[str, int]] = {
    "ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4,
    "UNDELIV": 5, "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8,
}  # fmt: skip
# Decodes any data_coding to one char per octet, so aiosmpplib's from_pdu never fails on text.
_LOSSLESS: Final[dict[str, codecs.CodecInfo]] = {
    name: codecs.lookup("latin-1") for name in SmppDataCoding.__members__
}


@dataclass(frozen=True)
class MtMessage:
    """A complete MT (all parts received). ``optional_params`` are the first part's, minus SAR."""

    source: str
    destination: str
    text: str
    data_coding: int
    parts: int
    message_ids: list[str]
    registered_delivery: int
    esm_class: int
    optional_params: list[OptionalParam] = field(default_factory=list)


@dataclass(frozen=True)
class Part:
    """One accepted submit_sm."""

    message: SubmitSm
    concat: Concat | None
    body: bytes
    data_coding: int
    message_id: str
    submitted: datetime


def raw_pdu(command_id: int, status: int, sequence: int, body: bytes = b"") -> bytes:
    """A PDU from plain numbers: aiosmpplib refuses a command_status it does not list."""
    return wire.HEADER.pack(wire.HEADER.size + len(body), command_id, status, sequence) + body


def decode_submit(frame: wire.Frame, message_id: str) -> Part:
    """ValueError, UnicodeError, IndexError or struct.error when the submit_sm is malformed."""
    message = SubmitSm.from_pdu(frame.data, frame.header(), "gsm0338", _LOSSLESS)
    assert isinstance(message, SubmitSm)
    concat, body = _user_data(message, wire.short_message_bytes(frame.data))
    coding = SmppDataCoding[message.encoding].value if message.encoding else 0
    return Part(message, concat, body, coding, message_id, datetime.now())


def _user_data(message: SubmitSm, short_message: bytes) -> tuple[Concat | None, bytes]:
    """Concatenation info and user data (UDH removed) from short_message or message_payload."""
    if message.esm_class & UDHI and short_message:
        return decode_udh(short_message)
    body = short_message or message.message_payload.encode("latin-1")
    if not message.is_segmented():
        return None, body
    ref, seq, total = message.get_segmentation_data()
    return Concat(ref, total, seq), body


def complete(parts: list[Part]) -> MtMessage:
    first = parts[0].message
    coding = parts[0].data_coding
    return MtMessage(
        source=first.source.number,
        destination=first.destination.number,
        text=decode_text(coding, b"".join(p.body for p in parts)),
        data_coding=coding,
        parts=len(parts),
        message_ids=[p.message_id for p in parts],
        registered_delivery=first.registered_delivery,
        esm_class=first.esm_class,
        optional_params=[p for p in first.optional_params or [] if p.tag not in SAR_TAGS],
    )


def _address(number: str) -> PhoneNumber:
    """International ISDN for subscriber numbers, unknown for short codes."""
    if number.isdigit() and len(number) > 8:
        return PhoneNumber(number, TON.INTERNATIONAL, NPI.ISDN)
    return PhoneNumber(number)


def mo_part(
    source: str, destination: str, text: str, coding: int, part: bytes, mode: str | None
) -> DeliverSm:
    """One MO deliver_sm carrying ``part``: whole, with its UDH, or with the UDH as SAR TLVs."""
    info, body = decode_udh(part) if mode == "sar" else (None, part)
    message = DeliverSm(
        short_message=text,
        source=_address(source),
        destination=_address(destination),
        esm_class=UDHI if mode == "udh" else 0,
        registered_delivery=0,
        encoding="ucs2" if coding == UCS2 else None,
        optional_params=_sar_params(info) if info is not None else [],
    )
    message.set_encoded_message(body)
    return message


def _sar_params(info: Concat) -> list[OptionalParam]:
    return [
        OptionalParam(SAR_MSG_REF_NUM, info.ref),
        OptionalParam(SAR_TOTAL_SEGMENTS, info.total),
        OptionalParam(SAR_SEGMENT_SEQNUM, info.seq),
    ]


def receipt(part: Part, stat: str) -> DeliverSm:
    """A delivery receipt for one part, from the handset back to the sender."""
    stamp = "%y%m%d%H%M"
    snippet = decode_text(part.data_coding, part.body)[:20]
    text = (
        f"id:{part.message_id} sub:001 dlvrd:{int(stat == 'DELIVRD'):03d}"
        f" submit date:{part.submitted.strftime(stamp)} done date:{datetime.now().strftime(stamp)}"
        f" stat:{stat} err:000 text:{snippet if is_gsm(snippet) else ''}"
    )
    return DeliverSm(
        short_message=text,
        source=part.message.destination,
        destination=part.message.source,
        esm_class=RECEIPT_ESM_CLASS,
        registered_delivery=0,
        optional_params=[
            OptionalParam(RECEIPTED_MESSAGE_ID, part.message_id),
            OptionalParam(MESSAGE_STATE, MESSAGE_STATES.get(stat, MESSAGE_STATES["UNKNOWN"])),
        ],
    )
