"""Turning a reply text into submit_sm PDUs: UCS-2 or GSM 03.38, concatenated with a UDH."""

from __future__ import annotations

from dataclasses import dataclass

from aiosmpplib import NPI, TON, PhoneNumber, SubmitSm

from smpp.segmentation import encode_parts

UDHI = 0x40
UCS2 = 8
REQUEST_RECEIPT = 0x01


@dataclass(frozen=True, slots=True)
class Addressing:
    source: str
    source_ton: int = 3
    source_npi: int = 0


def build_parts(text: str, destination: str, addressing: Addressing, ref: int) -> list[SubmitSm]:
    """One submit_sm per segment, each asking for a delivery receipt."""
    data_coding, parts = encode_parts(text, ref % 256)
    esm_class = UDHI if len(parts) > 1 else 0
    return [_submit(part, data_coding, esm_class, destination, addressing) for part in parts]


def _submit(
    payload: bytes, data_coding: int, esm_class: int, destination: str, addressing: Addressing
) -> SubmitSm:
    message = SubmitSm(
        short_message="-",  # placeholder; the encoded payload below is what goes on the wire
        source=PhoneNumber(addressing.source, TON(addressing.source_ton), NPI(addressing.source_npi)),
        destination=PhoneNumber(destination, TON.INTERNATIONAL, NPI.ISDN),
        esm_class=esm_class,
        registered_delivery=REQUEST_RECEIPT,
        encoding="ucs2" if data_coding == UCS2 else None,
        auto_message_payload=False,
    )
    message.set_encoded_message(payload)
    return message
