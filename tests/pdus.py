"""Raw SMPP PDUs for tests, built with aiosmpplib's encoder and then set octet by octet where a
real SMSC does what aiosmpplib would not (any data_coding, raw TLVs)."""

from __future__ import annotations

from aiosmpplib import NPI, TON, DeliverSm, OptionalParam, PhoneNumber

from smpp import wire

PHONE = "989121110001"
SHORTCODE = "20001"


def deliver_pdu(
    payload: bytes = b"hi", data_coding: int = 0, esm_class: int = 0,
    params: list[OptionalParam] | None = None, *, source: str = PHONE, destination: str = SHORTCODE,
    raw_tlvs: bytes = b"",
) -> bytes:
    """A deliver_sm whose short_message is ``payload`` as is, data_coding any octet, and
    ``raw_tlvs`` (encoded TLVs) appended as they are."""
    message = DeliverSm(
        short_message="-", source=PhoneNumber(source, TON.INTERNATIONAL, NPI.ISDN),
        destination=PhoneNumber(destination), esm_class=esm_class, optional_params=params or [],
    )
    message.sequence_num = 7
    message.set_encoded_message(payload)
    pdu = bytearray(message.pdu())
    at = wire.layout(bytes(pdu))
    pdu[at.data_coding] = data_coding
    if not payload:  # sm_length 0 (aiosmpplib keeps its placeholder for empty text)
        del pdu[at.short_message]
        pdu[at.short_message.start - 1] = 0
        pdu[:4] = len(pdu).to_bytes(4, "big")
    return wire.append_tlvs(bytes(pdu), raw_tlvs) if raw_tlvs else bytes(pdu)
