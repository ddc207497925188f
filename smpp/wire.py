"""SMPP framing over asyncio streams, with aiosmpplib's PDU classes as the codec.

Framing never fails on what a PDU *says*, only on what it *is*: the header is read as four
numbers, so a vendor-specific command_status or an unknown command_id still gives a `Frame`
(the peer answers it, the link stays up). aiosmpplib's own header parser raises on both.

Errors (in the tree of `smpp.errors`; both ValueError too, neither retryable):
`PduFramingError` the bytes are not an SMPP PDU (length out of range): drop the link;
`UndecodablePdu` a well-framed PDU whose body cannot be read: answer it with an error.

Before a submit_sm/deliver_sm body is handed to aiosmpplib, the quirks it cannot read are
smoothed over (`readable`): data_coding values from GSM 03.38's message-class and
message-waiting groups become the SMPP value with the same alphabet (`DATA_CODING_ALIASES`),
out-of-range TON/NPI become "unknown", and TLVs aiosmpplib would choke on are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, TypeAlias

from aiosmpplib import SmppCommandStatus, SmppMessage, SubmitSm, SubmitSmResp
from aiosmpplib.protocol import (
    DEFAULT_ENCODING,
    MESSAGE_TYPE_MAP,
    NULL,
    PDU_HEADER_LENGTH,
)
from aiosmpplib.state import (
    COMMAND_RESPONSE_MAP,
    MESSAGE_PAYLOAD,
    NPI,
    RECEIPTED_MESSAGE_ID,
    TON,
    USSD_SERVICE_OP,
    PduHeader,
    SmppCommand,
    SmppDataCoding,
    tag_data_type,
)  # fmt: skip

from smpp.errors import PduFramingError as PduFramingError  # re-exported
from smpp.errors import UndecodablePdu as UndecodablePdu  # re-exported

log = logging.getLogger("smpp.wire")

# aiosmpplib ships no types, so to mypy this is Any; it names what a value is all the same.
Status: TypeAlias = SmppCommandStatus

MAX_PDU_LENGTH: Final = 64 * 1024
UDHI: Final = 0x40
RESPONSE_BIT: Final = 0x80000000
HEADER: Final = struct.Struct("!IIII")
TLV_HEADER: Final = struct.Struct("!HH")
MAX_MESSAGE_ID: Final = 64  # SubmitSmResp refuses longer ids

# data_coding aiosmpplib has no codec for -> the SMPP data_coding with the same alphabet.
# GSM 03.38 section 4: general groups (uncompressed) and data-coding/message-class group say
# "default alphabet / 8-bit / UCS2" in their bits; message-waiting groups fix it by range.
_ALPHABETS: Final = (0x00, 0x04, 0x08)  # bits 3..2 = 00, 01, 10; 11 is reserved
DATA_CODING_ALIASES: Final[dict[int, int]] = {
    **{dc: _ALPHABETS[(dc >> 2) & 3] for dc in range(0x10, 0x20) if (dc >> 2) & 3 < 3},
    **{dc: _ALPHABETS[(dc >> 2) & 3] for dc in range(0x40, 0x60) if (dc >> 2) & 3 < 3},
    **dict.fromkeys(range(192, 224), 0),
    **dict.fromkeys(range(224, 240), 8),
    **{dc: 0x04 if dc & 0x04 else 0x00 for dc in range(0xF0, 0x100)},
}
_KNOWN_CODINGS: Final = frozenset(coding.value for coding in SmppDataCoding)
_TONS: Final = frozenset(ton.value for ton in TON)
_NPIS: Final = frozenset(npi.value for npi in NPI)
_INT_TLV_LENGTHS: Final = frozenset({1, 2, 4})


@dataclass(frozen=True, slots=True)
class Frame:
    """One PDU as read: its bytes and header numbers, unknown values kept as they came."""

    data: bytes
    command_id: int
    status_code: int
    sequence: int

    @classmethod
    def parse(cls, data: bytes) -> Frame:
        _length, command_id, status_code, sequence = HEADER.unpack_from(data)
        return cls(data, command_id, status_code, sequence)

    @property
    def command(self) -> SmppCommand | None:
        """None for a command id aiosmpplib does not list."""
        known = self.command_id in SmppCommand._value2member_map_
        return SmppCommand(self.command_id) if known else None

    @property
    def status(self) -> SmppCommandStatus:
        return status_of(self.status_code)

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    @property
    def name(self) -> str:
        command = self.command
        return command.name.lower() if command is not None else f"command 0x{self.command_id:08x}"

    def header(self) -> PduHeader:
        """aiosmpplib's header (status mapped by `status_of`); UndecodablePdu if unknown command."""
        command = self.command
        if command is None:
            raise UndecodablePdu(f"unknown command id 0x{self.command_id:08x}")
        return PduHeader(len(self.data), command, self.status, self.sequence)


def deliver_sm_resp(sequence: int, status: SmppCommandStatus) -> bytes:
    """A deliver_sm_resp PDU: the header and the unused message_id, empty (SMPP 3.4, 4.6.2), as
    aiosmpplib's DeliverSmResp writes it; packed directly, for one is sent per deliver_sm."""
    return HEADER.pack(PDU_HEADER_LENGTH + 1, SmppCommand.DELIVER_SM_RESP, status, sequence) + b"\x00"


async def read_pdu(reader: asyncio.StreamReader) -> Frame:
    """The next PDU. asyncio.IncompleteReadError at end of stream, PduFramingError on garbage."""
    head = await reader.readexactly(PDU_HEADER_LENGTH)
    length, _command, _status, sequence = HEADER.unpack(head)
    if not PDU_HEADER_LENGTH <= length <= MAX_PDU_LENGTH:
        raise PduFramingError(f"PDU length {length} out of range", sequence)
    body = await reader.readexactly(length - PDU_HEADER_LENGTH)
    return Frame.parse(head + body)


def status_of(code: int) -> SmppCommandStatus:
    """A vendor-specific or unknown command_status reads as ESME_RUNKNOWNERR."""
    if code in SmppCommandStatus._value2member_map_:
        return SmppCommandStatus(code)
    return SmppCommandStatus.ESME_RUNKNOWNERR


def status_label(code: int) -> str:
    """For logs: the status name, or the real number of one `status_of` maps to unknown."""
    if code in SmppCommandStatus._value2member_map_:
        name: str = SmppCommandStatus(code).name
        return name
    return f"0x{code:08x} (read as ESME_RUNKNOWNERR)"


def decode(frame: Frame) -> SmppMessage:
    """The PDU as an aiosmpplib message; UndecodablePdu when its body cannot be read."""
    try:
        return _decode(frame)
    except (ValueError, LookupError, struct.error) as exc:
        raise UndecodablePdu(f"{frame.name}: {exc}") from exc


def check_deliver(pdu: bytes) -> tuple[SmLayout, dict[int, bytes]]:
    """UndecodablePdu unless the gateway's own reader (smpp/deliver.py) can take this
    deliver_sm: the body and its TLVs whole, a data_coding with a known alphabet, and text
    (short_message or message_payload), except in a USSD PDU or a TLV-only receipt.

    What every deliver_sm goes through before it is answered; the aiosmpplib message is
    decoded only when something asks for it (`smpp.events.Delivered.deliver`), because a
    decode per PDU was a tenth of a loaded gateway's time for a value nothing read.
    Returns what it read (the layout and the TLVs by tag), so the reader need not read it again.
    """
    try:
        at = layout(pdu)
        found = dict(tlvs(pdu[at.tlvs :]))
        known_coding(pdu[at.data_coding])
    except (ValueError, LookupError, struct.error) as exc:
        raise UndecodablePdu(f"deliver_sm: {exc}") from exc
    if at.short_message.start == at.short_message.stop and MESSAGE_PAYLOAD not in found \
            and not found.keys() & _TEXTLESS_ALLOWED:
        raise UndecodablePdu("deliver_sm: neither short_message nor message_payload")
    return at, found


def _decode(frame: Frame) -> SmppMessage:
    header = frame.header()
    if header.smpp_command == SmppCommand.SUBMIT_SM_RESP:
        return _submit_sm_resp(frame, header)
    if header.smpp_command in (SmppCommand.SUBMIT_SM, SmppCommand.DELIVER_SM):
        data = readable(frame.data)
        try:
            return _decode_sm(data, header, blank_text=_textless(data))
        except (ValueError, LookupError, struct.error):
            if header.smpp_command != SmppCommand.DELIVER_SM or not _has_text_octets(data):
                raise
            # Its text alone is unreadable on its own (half of a surrogate pair that the next
            # part completes, a truncated GSM escape): the envelope is read here, and the
            # gateway reads the text from the raw octets once the message is whole
            # (smpp/deliver.py).
            return _decode_sm(_without_payload(data), header, blank_text=True)
    return MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(frame.data, header)


def _decode_sm(data: bytes, header: PduHeader, *, blank_text: bool) -> SmppMessage:
    data = _with_placeholder_text(data) if blank_text else data
    header = PduHeader(len(data), header.smpp_command, header.command_status, header.sequence_num)
    message = MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(data, header, DEFAULT_ENCODING)
    if blank_text:
        message.short_message = ""
        message.message_payload = ""
    return message


def _has_text_octets(pdu: bytes) -> bool:
    at = layout(pdu)
    return at.short_message.start < at.short_message.stop or any(
        tag == MESSAGE_PAYLOAD and value for tag, value in tlvs(pdu[at.tlvs :]))


def _without_payload(pdu: bytes) -> bytes:
    """The PDU without its short_message octets, message_payload TLV and UDH indicator."""
    at = layout(pdu)
    kept = b"".join(tlv_bytes(tag, value) for tag, value in tlvs(pdu[at.tlvs :]) if tag != MESSAGE_PAYLOAD)
    data = bytearray(pdu[: at.short_message.start - 1]) + b"\x00" + kept
    data[at.esm_class] &= ~UDHI & 0xFF
    struct.pack_into("!I", data, 0, len(data))
    return bytes(data)


# aiosmpplib refuses a submit_sm/deliver_sm without text. A USSD one may have none (an abort
# or timeout notice), and so may a delivery receipt that says it all in its TLVs
# (receipted_message_id, message_state): they are read with this placeholder, then their text
# set back to "". An SMS without text stays undecodable.
_TEXTLESS_ALLOWED: Final = frozenset({USSD_SERVICE_OP, RECEIPTED_MESSAGE_ID})
_PLACEHOLDER: Final = b"\x00\x20"  # " " in UCS-2, "@ " in GSM 03.38: readable either way


def _textless(pdu: bytes) -> bool:
    """No short_message and no message_payload, in a USSD PDU or a TLV-only receipt."""
    at = layout(pdu)
    tags = {tag for tag, _ in tlvs(pdu[at.tlvs :])}
    empty = at.short_message.start == at.short_message.stop
    return empty and bool(tags & _TEXTLESS_ALLOWED) and MESSAGE_PAYLOAD not in tags


def _with_placeholder_text(pdu: bytes) -> bytes:
    at = layout(pdu)
    data = bytearray(pdu[: at.tlvs - 1]) + bytes([len(_PLACEHOLDER)]) + _PLACEHOLDER + pdu[at.tlvs :]
    struct.pack_into("!I", data, 0, len(data))
    return bytes(data)


def _submit_sm_resp(frame: Frame, header: PduHeader) -> SubmitSmResp:
    """Leniently: an accepted submit_sm must not read as lost because of an odd message id."""
    raw = frame.data[PDU_HEADER_LENGTH:].split(NULL, 1)[0]
    message_id = raw.decode("ascii", "replace")[:MAX_MESSAGE_ID]
    return SubmitSmResp(header.sequence_num, header.command_status, message_id=message_id)


def response_class(command: SmppCommand) -> type[SmppMessage]:
    response: type[SmppMessage] = MESSAGE_TYPE_MAP[COMMAND_RESPONSE_MAP[command]]
    return response


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


# -- submit_sm / deliver_sm bodies ---------------------------------------------------------

# Fields before short_message: 0 = C-octet string, n = n fixed octets (SMPP 3.4, 4.4.1).
_FIELDS_BEFORE_SM: Final = (0, 2, 0, 2, 0, 3, 0, 0, 5)


@dataclass(frozen=True, slots=True)
class SmLayout:
    """Where the fields read or rewritten raw sit in a submit_sm/deliver_sm PDU."""

    source_ton: int
    dest_ton: int
    esm_class: int
    data_coding: int
    short_message: slice
    tlvs: int


def layout(pdu: bytes) -> SmLayout:
    """ValueError when the body is cut short or a C-octet string is not terminated."""
    offsets, index = [], PDU_HEADER_LENGTH
    for width in _FIELDS_BEFORE_SM:
        offsets.append(index)
        index = pdu.index(NULL, index) + 1 if width == 0 else index + width
    end = index + pdu[index - 1] if index <= len(pdu) else len(pdu) + 1
    if end > len(pdu):
        raise ValueError("submit_sm/deliver_sm body cut short")
    return SmLayout(offsets[1], offsets[3], offsets[5], index - 3, slice(index, end), end)


def short_message_bytes(pdu: bytes) -> bytes:
    """The raw short_message octets of a submit_sm/deliver_sm PDU."""
    return pdu[layout(pdu).short_message]


def source_address(pdu: bytes) -> str:
    """source_addr of a submit_sm/deliver_sm, for (masked) logs; "" when unreadable."""
    try:
        return _address_at(pdu, layout(pdu).source_ton + 2)
    except ValueError:
        return ""


def destination_address(pdu: bytes) -> str:
    """destination_addr of a submit_sm/deliver_sm; "" when unreadable."""
    try:
        return _address_at(pdu, layout(pdu).dest_ton + 2)
    except ValueError:
        return ""


def addresses(pdu: bytes, at: SmLayout) -> tuple[str, str]:
    """source_addr and destination_addr of a submit_sm/deliver_sm whose `layout` is `at`."""
    return _address_at(pdu, at.source_ton + 2), _address_at(pdu, at.dest_ton + 2)


def _address_at(pdu: bytes, start: int) -> str:
    return pdu[start : pdu.index(NULL, start)].decode("ascii", "replace")


def tlv_bytes(tag: int, value: bytes) -> bytes:
    """One TLV as it goes on the wire, the value octets exactly as given."""
    return TLV_HEADER.pack(tag, len(value)) + value


def raw_tlvs(pdu: bytes) -> dict[int, bytes]:
    """The TLVs of a submit_sm/deliver_sm as raw octets, by tag (the last wins if repeated).

    ValueError when the body or a TLV is cut short.
    """
    return dict(tlvs(pdu[layout(pdu).tlvs :]))


def append_tlvs(pdu: bytes, extra: bytes) -> bytes:
    """The PDU with ``extra`` (encoded TLVs) added at its end and command_length updated."""
    data = bytearray(pdu + extra)
    struct.pack_into("!I", data, 0, len(data))
    return bytes(data)


def readable(pdu: bytes) -> bytes:
    """The PDU with the quirks aiosmpplib cannot read smoothed over (see the module docstring).

    UndecodablePdu for a data_coding with no known alphabet; ValueError for a broken body.
    """
    at = layout(pdu)
    data = bytearray(pdu[: at.tlvs])
    for ton in (at.source_ton, at.dest_ton):
        data[ton] = data[ton] if data[ton] in _TONS else TON.UNKNOWN
        data[ton + 1] = data[ton + 1] if data[ton + 1] in _NPIS else NPI.UNKNOWN
    data[at.data_coding] = known_coding(data[at.data_coding])
    data += _readable_tlvs(pdu[at.tlvs :])
    struct.pack_into("!I", data, 0, len(data))
    return bytes(data)


def known_coding(data_coding: int) -> int:
    """A data_coding aiosmpplib can decode with the same alphabet; UndecodablePdu if none."""
    if data_coding in _KNOWN_CODINGS:
        return data_coding
    if data_coding in DATA_CODING_ALIASES:
        return DATA_CODING_ALIASES[data_coding]
    raise UndecodablePdu(f"data_coding 0x{data_coding:02x} has no known alphabet")


def _readable_tlvs(raw: bytes) -> bytes:
    kept, dropped = bytearray(), []
    for tag, value in tlvs(raw):
        if _tlv_readable(tag, value):
            kept += tlv_bytes(tag, value)
        else:
            dropped.append(f"0x{tag:04x}")
    if dropped:
        log.info("TLVs aiosmpplib cannot read were dropped: %s", ", ".join(dropped))
    return bytes(kept)


def tlvs(raw: bytes) -> Iterator[tuple[int, bytes]]:
    """(tag, value) of each TLV; ValueError when the last one is cut short."""
    index = 0
    while index < len(raw):
        if index + TLV_HEADER.size > len(raw):
            raise ValueError("TLV header cut short")
        tag, length = TLV_HEADER.unpack_from(raw, index)
        value = raw[index + TLV_HEADER.size : index + TLV_HEADER.size + length]
        if len(value) < length:
            raise ValueError(f"TLV 0x{tag:04x} cut short")
        yield tag, value
        index += TLV_HEADER.size + length


def _tlv_readable(tag: int, value: bytes) -> bool:
    """message_payload is decoded with the message; ints need 1/2/4 octets; strings ASCII."""
    kind = tag_data_type(tag)
    if tag == MESSAGE_PAYLOAD or kind is bool:
        return True
    if kind is int:
        return len(value) in _INT_TLV_LENGTHS
    return value.isascii()
