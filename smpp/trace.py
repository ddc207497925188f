"""The SMPP PDU trace (``logging.smpp_trace``): every PDU the ESME reads or writes, one DEBUG
line each on the logger ``hamta.smpp.trace``, with what is personal masked.

    in deliver_sm seq=7 status=ESME_ROK source=0912***0001/1/1 destination=7777/3/0
      esm_class=0 ... short_message=<hidden, 12 chars> ussd_service_op=1

The command, sequence and status always; then the PDU's fields. Never in clear: the text
(``short_message``, ``message_payload``: only their length, also for receipts, whose text may
quote the message), the bind password, and any TLV not known to be harmless. Subscriber addresses
are masked (`mask_address`). The call sites pass the bytes through (``writer.write(sent(data))``),
so a disabled trace costs one level check per PDU.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Final

from aiosmpplib import PhoneNumber, SmppMessage
from aiosmpplib import state as tags
from aiosmpplib.protocol import PDU_HEADER_LENGTH

from smpp import wire
from smpp.masking import mask_address

TRACE_LOGGER: Final = "hamta.smpp.trace"
log = logging.getLogger(TRACE_LOGGER)

_HIDDEN_TEXT: Final = frozenset({"short_message", "message_payload"})
_SECRET: Final = frozenset({"password"})
# In the header already, or aiosmpplib's own bookkeeping rather than the PDU's.
_SKIPPED: Final = frozenset({"sequence_num", "command_status", "log_id", "extra_data",
                             "auto_message_payload", "error_handling", "optional_params"})
# TLVs whose values say nothing about a person: shown; any other TLV only by its tag.
_SHOWN_TLVS: Final[dict[int, str]] = {
    getattr(tags, name): name.lower()
    for name in ("USSD_SERVICE_OP", "ITS_SESSION_INFO", "ITS_REPLY_TYPE", "RECEIPTED_MESSAGE_ID",
                 "MESSAGE_STATE", "NETWORK_ERROR_CODE", "SAR_MSG_REF_NUM", "SAR_TOTAL_SEGMENTS",
                 "SAR_SEGMENT_SEQNUM", "USER_MESSAGE_REFERENCE", "SOURCE_PORT", "DESTINATION_PORT",
                 "MORE_MESSAGES_TO_SEND", "PAYLOAD_TYPE", "SC_INTERFACE_VERSION",
                 "LANGUAGE_INDICATOR", "DELIVERY_FAILURE_REASON")
}


def received(frame: wire.Frame) -> wire.Frame:
    """Trace a PDU read from the SMSC; the frame is handed back unchanged."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", describe("in", frame))
    return frame


def sent(data: bytes) -> bytes:
    """Trace a PDU about to be written to the SMSC; the bytes are handed back unchanged."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug("%s", describe("out", wire.Frame.parse(data)))
    return data


def describe(direction: str, frame: wire.Frame) -> str:
    head = (f"{direction} {frame.name} seq={frame.sequence} "
            f"status={wire.status_label(frame.status_code)}")
    if len(frame.data) <= PDU_HEADER_LENGTH:
        return head
    try:
        message = wire.decode(frame)
    except wire.UndecodablePdu:
        return f"{head} undecodable ({len(frame.data)} octets)"
    return " ".join([head, *_fields(message)])


def _fields(message: SmppMessage) -> Iterator[str]:
    if not dataclasses.is_dataclass(message):
        return
    for field in dataclasses.fields(message):
        if field.name in _SKIPPED:
            continue
        value = getattr(message, field.name)
        if field.name in _HIDDEN_TEXT:
            if value:
                yield f"{field.name}=<hidden, {len(value)} chars>"
        elif field.name in _SECRET:
            yield f"{field.name}=***"
        elif isinstance(value, PhoneNumber):
            yield f"{field.name}={mask_address(value.number)}/{int(value.ton)}/{int(value.npi)}"
        elif value not in (None, ""):
            yield f"{field.name}={_plain(value)}"
    for param in getattr(message, "optional_params", None) or ():
        name = _SHOWN_TLVS.get(param.tag)
        yield f"{name}={_plain(param.value)}" if name else f"tlv_0x{param.tag:04x}=<hidden>"


def _plain(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex()
    return str(getattr(value, "name", value))
