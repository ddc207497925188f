"""SMPP framing over asyncio streams, with aiosmpplib's PDU classes as the codec."""

from __future__ import annotations

import asyncio

from aiosmpplib import SmppMessage, SubmitSm
from aiosmpplib.protocol import MESSAGE_TYPE_MAP, PDU_HEADER_LENGTH
from aiosmpplib.state import COMMAND_RESPONSE_MAP, PduHeader, SmppCommand

MAX_PDU_LENGTH = 64 * 1024
UDHI = 0x40


class PduFramingError(ValueError):
    """The peer sent bytes that are not an SMPP PDU; the connection must be dropped."""


async def read_pdu(reader: asyncio.StreamReader) -> tuple[bytes, PduHeader]:
    head = await reader.readexactly(PDU_HEADER_LENGTH)
    try:
        header = SmppMessage.parse_header(head)
    except ValueError as exc:
        raise PduFramingError(f"bad PDU header {head.hex()}") from exc
    if not PDU_HEADER_LENGTH <= header.pdu_length <= MAX_PDU_LENGTH:
        raise PduFramingError(f"PDU length {header.pdu_length} out of range")
    body = await reader.readexactly(header.pdu_length - PDU_HEADER_LENGTH)
    return head + body, header


def decode(pdu: bytes, header: PduHeader) -> SmppMessage:
    """Raises ValueError (or KeyError for unknown commands) when the body cannot be parsed."""
    return MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(pdu, header)


def is_request(command: SmppCommand) -> bool:
    return command in COMMAND_RESPONSE_MAP


def response_class(command: SmppCommand) -> type[SmppMessage]:
    return MESSAGE_TYPE_MAP[COMMAND_RESPONSE_MAP[command]]


def concatenation(deliver: SubmitSm) -> tuple[int, int, int]:
    """(reference, part, total) of a deliver_sm/submit_sm part; (0, 0, 0) when not split.

    aiosmpplib reads a 16-bit UDH reference as 4 bytes (reference, total and part number
    together), so for UDH messages such a value is shifted back to the 16-bit reference.
    SAR references (TLVs) are read correctly and kept as they are.
    """
    ref, part, total = deliver.get_segmentation_data()
    if deliver.esm_class & UDHI and ref > 0xFF:
        ref >>= 16
    return ref, part, total
