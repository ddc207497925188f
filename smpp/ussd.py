"""USSD over SMPP: the operator's op codes as a dialect table, and the two TLVs read and written raw.

A USSD dialogue rides on deliver_sm (the subscriber's input) and submit_sm (the ESME's screen),
each carrying two TLVs:

- ``ussd_service_op`` (0x0501, 1 octet): what the PDU means. SMPP 3.4 (5.3.2.44) defines
  1 PSSR indication (the subscriber dialled: a dialogue begins), 18 USSR confirm (the
  subscriber answered a screen), 2 USSR request (a screen that waits for an answer) and
  17 PSSR response (a last screen: the dialogue ends). 32..255 are left to vendors, and
  operators use them (and sometimes the standard values) differently: hence `UssdDialect`,
  one table per SMSC, chosen and extended in ``config.yaml`` (`gateway.settings.UssdSettings`).
- ``its_session_info`` (0x1383, 2 octets): the SMSC's dialogue reference. It is echoed back
  octet for octet on every screen of that dialogue.

Both are read and written as raw octets: aiosmpplib reads ``ussd_service_op`` as an ASCII
string (0 reads as empty) and fails on an ``its_session_info`` octet >= 0x80, both ways.

    params = ussd_params(frame.data)                  # None: not a USSD PDU
    event = event_of(dialect, params.op)              # "begin" | "continue" | "abort" | "timeout"
    submit = build_screen(text, msisdn, addressing, dialect, end=True,
                          session_info=params.session_info)
    await client.submit(submit)                       # the TLVs go out exactly as built

Errors (in the tree of `smpp.errors`; both ValueError too, neither retryable: the same PDU
never reads differently): `UssdTlvError` a ussd_service_op that is not one octet;
`UnknownUssdOp` an op code the dialect does not list for incoming PDUs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Literal

from aiosmpplib import SubmitSm
from aiosmpplib.codec import find_codec_info
from aiosmpplib.protocol import DEFAULT_ENCODING
from aiosmpplib.state import ITS_SESSION_INFO, USSD_SERVICE_OP

from smpp import wire
from smpp.errors import UnknownUssdOp as UnknownUssdOp  # re-exported
from smpp.errors import UssdTlvError as UssdTlvError  # re-exported
from smpp.segmentation import GSM, UCS2, is_gsm
from smpp.submit import Addressing

InboundEvent = Literal["begin", "continue", "abort", "timeout"]
OpCode = int

# SMPP 3.4, 5.3.2.44
PSSD_INDICATION: Final = 0
PSSR_INDICATION: Final = 1
USSR_REQUEST: Final = 2
USSN_REQUEST: Final = 3
PSSD_RESPONSE: Final = 16
PSSR_RESPONSE: Final = 17
USSR_CONFIRM: Final = 18
USSN_CONFIRM: Final = 19

# One screen: 182 GSM 7-bit characters (sent one septet per octet), or 160 octets of UCS-2.
MAX_SCREEN_SEPTETS: Final = 182
MAX_SCREEN_UCS2_OCTETS: Final = 160


@dataclass(frozen=True, slots=True)
class UssdDialect:
    """What one SMSC's op codes mean. ``*_ops`` come in (deliver_sm); the two ``*_op`` go out."""

    name: str
    begin_ops: tuple[OpCode, ...]
    continue_ops: tuple[OpCode, ...]
    abort_ops: tuple[OpCode, ...]
    timeout_ops: tuple[OpCode, ...]
    continue_op: OpCode  # a screen that waits for the subscriber's answer
    end_op: OpCode  # a last screen
    service_type: str = "USSD"

    def __post_init__(self) -> None:
        incoming = [op for ops in self.inbound.values() for op in ops]
        if len(set(incoming)) != len(incoming):
            raise ValueError(f"dialect {self.name!r}: an incoming op code has two meanings")
        if not self.begin_ops or not self.continue_ops:
            raise ValueError(f"dialect {self.name!r}: needs begin and continue op codes")
        if self.continue_op == self.end_op:
            raise ValueError(f"dialect {self.name!r}: continue_op and end_op are the same")
        if not all(0 <= op <= 0xFF for op in (*incoming, self.continue_op, self.end_op)):
            raise ValueError(f"dialect {self.name!r}: op codes are one octet (0..255)")

    @property
    def inbound(self) -> dict[InboundEvent, tuple[OpCode, ...]]:
        return {"begin": self.begin_ops, "continue": self.continue_ops,
                "abort": self.abort_ops, "timeout": self.timeout_ops}  # fmt: skip


SMPP34: Final = UssdDialect(
    "smpp34", begin_ops=(PSSR_INDICATION,), continue_ops=(USSR_CONFIRM,), abort_ops=(),
    timeout_ops=(), continue_op=USSR_REQUEST, end_op=PSSR_RESPONSE,
)  # fmt: skip
# Examples of operator dialects seen in the field, as data; neither is any one vendor's spec.
# A gateway that prompts with USSN request (3) and gets the answers as USSN confirm (19),
# also taking a PSSD indication (0) as a dial.
EXAMPLE_USSN_CONFIRM: Final = UssdDialect(
    "example_ussn_confirm", begin_ops=(PSSR_INDICATION, PSSD_INDICATION),
    continue_ops=(USSN_CONFIRM, USSR_CONFIRM), abort_ops=(), timeout_ops=(),
    continue_op=USSN_REQUEST, end_op=PSSR_RESPONSE,
)  # fmt: skip
# Standard dialogue codes, plus vendor-range notices: 32 the subscriber released the dialogue,
# 33 the network timed it out.
EXAMPLE_VENDOR_RELEASE: Final = UssdDialect(
    "example_vendor_release", begin_ops=(PSSR_INDICATION,), continue_ops=(USSR_CONFIRM,),
    abort_ops=(0x20,), timeout_ops=(0x21,), continue_op=USSR_REQUEST, end_op=PSSR_RESPONSE,
)  # fmt: skip
BUILTIN_DIALECTS: Final[dict[str, UssdDialect]] = {
    d.name: d for d in (SMPP34, EXAMPLE_USSN_CONFIRM, EXAMPLE_VENDOR_RELEASE)
}


def event_of(dialect: UssdDialect, op: int) -> InboundEvent:
    """What an incoming op code means; UnknownUssdOp when the dialect does not list it."""
    for event, ops in dialect.inbound.items():
        if op in ops:
            return event
    raise UnknownUssdOp(dialect.name, op)


def inbound_op(dialect: UssdDialect, event: InboundEvent) -> int | None:
    """The op code an SMSC of this dialect sends for ``event``; None if it never tells."""
    ops = dialect.inbound[event]
    return ops[0] if ops else None


def reply_op(dialect: UssdDialect, end: bool) -> int:
    return dialect.end_op if end else dialect.continue_op


def screen_ends(dialect: UssdDialect, op: int) -> bool | None:
    """For an outgoing op code: True a last screen, False a waiting one, None not a screen."""
    return {dialect.end_op: True, dialect.continue_op: False}.get(op)


# -- the TLVs, raw ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UssdParams:
    """A USSD PDU's ussd_service_op and its_session_info (b"" when absent), as sent."""

    op: int
    session_info: bytes


def ussd_params(pdu: bytes) -> UssdParams | None:
    """The USSD TLVs of a deliver_sm/submit_sm PDU; None when it has no ussd_service_op.

    UssdTlvError when ussd_service_op is not one octet; ValueError for a body cut short.
    """
    return ussd_params_in(wire.raw_tlvs(pdu))


def ussd_params_in(found: dict[int, bytes]) -> UssdParams | None:
    """`ussd_params` from TLVs already read (by tag, raw octets)."""
    op = found.get(USSD_SERVICE_OP)
    if op is None:
        return None
    if len(op) != 1:
        raise UssdTlvError(f"ussd_service_op of {len(op)} octets, expected 1")
    return UssdParams(op[0], found.get(ITS_SESSION_INFO, b""))


def ussd_tlvs(op: int, session_info: bytes) -> bytes:
    """ussd_service_op (one octet) and, unless empty, its_session_info byte for byte."""
    encoded = wire.tlv_bytes(USSD_SERVICE_OP, bytes([op]))
    return encoded + (wire.tlv_bytes(ITS_SESSION_INFO, session_info) if session_info else b"")


def reply_tlvs(dialect: UssdDialect, end: bool, session_info: bytes) -> bytes:
    """The TLVs of a screen answering the dialogue ``session_info`` came with."""
    return ussd_tlvs(reply_op(dialect, end), session_info)


@dataclass
class UssdSubmitSm(SubmitSm):  # type: ignore[misc]  # aiosmpplib ships no types: SubmitSm is Any
    """A submit_sm whose encoded TLVs ``ussd_tlvs`` go on the wire as they are."""

    ussd_tlvs: bytes = field(default=b"", repr=False)

    def pdu(self) -> bytes:
        return wire.append_tlvs(super().pdu(), self.ussd_tlvs)


def encode_screen(text: str) -> tuple[int, bytes]:
    """(data_coding, octets) of one screen; ValueError when it does not fit one screen."""
    if is_gsm(text):
        octets = find_codec_info(DEFAULT_ENCODING, None).encode(text)[0]
        limit, coding = MAX_SCREEN_SEPTETS, GSM
    else:
        octets, limit, coding = text.encode("utf-16-be"), MAX_SCREEN_UCS2_OCTETS, UCS2
    if len(octets) > limit:
        raise ValueError(f"USSD screen of {len(octets)} octets, at most {limit}")
    return coding, octets


def build_screen(
    text: str, destination: str, addressing: Addressing, dialect: UssdDialect, *,
    end: bool, session_info: bytes,
) -> UssdSubmitSm:  # fmt: skip
    """One submit_sm showing ``text``; no receipt asked (a screen is shown or lost at once)."""
    coding, octets = encode_screen(text)
    message = UssdSubmitSm(
        short_message="-",  # placeholder; the encoded screen below is what goes on the wire
        source=addressing.source_address(),
        destination=addressing.destination_address(destination),
        service_type=dialect.service_type,
        registered_delivery=0,
        encoding="ucs2" if coding == UCS2 else None,
        auto_message_payload=False,
        ussd_tlvs=reply_tlvs(dialect, end, session_info),
    )
    message.set_encoded_message(octets)
    return message
