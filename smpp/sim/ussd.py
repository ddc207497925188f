"""USSD dialogues in the SMSC simulator: the subscriber's side of each, driven by a test or a console.

    dialogue = await sim.ussd_start("989121110001", "*7777#")   # deliver_sm, begin op
    screen = await dialogue.screen()                           # UssdScreen(text, ends)
    await dialogue.reply("1")                                  # deliver_sm, continue op
    await dialogue.abort()                                     # the subscriber hangs up
    await sim.ussd_network_timeout(dialogue)                   # the network gives up

Every deliver_sm carries ``ussd_service_op`` as the simulator's dialect says (begin, continue,
abort, timeout; nothing is sent for an event the dialect has no op code for) and a 2-octet
``its_session_info`` allocated per dialogue, its first octet >= 0x80. A submit_sm with
``ussd_service_op`` is a screen for the live dialogue of its destination and
``its_session_info``: the dialect's continue op shows it and waits for the subscriber, its end
op shows it and ends the dialogue. Refused (``refusal_status``, ESME_RSUBMITFAIL by default) is
a screen for no live dialogue, or a second screen before the subscriber answered the first;
one that does not fit a screen gets ESME_RINVMSGLEN, an unknown op ESME_RINVOPTPARAMVAL.

Errors: ``UssdStateError`` (in the tree of `smpp.errors`; a RuntimeError too) when the
subscriber acts out of turn (answers no screen, or acts on an ended dialogue);
TimeoutError/ConnectionError as for any deliver_sm.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal

from aiosmpplib import NPI, TON, SmppCommand

from smpp import wire
from smpp.errors import UssdStateError as UssdStateError  # re-exported
from smpp.errors import UssdTlvError
from smpp.masking import mask_number
from smpp.segmentation import decode_text
from smpp.sim.pdus import raw_pdu
from smpp.ussd import (
    InboundEvent,
    UssdDialect,
    encode_screen,
    inbound_op,
    screen_ends,
    ussd_params,
    ussd_tlvs,
)  # fmt: skip
from smpp.wire import Status

log = logging.getLogger("smpp.sim.server")

SendDeliver = Callable[[bytes, float], Awaitable[wire.Frame]]
State = Literal["network", "user", "ended"]  # whose turn it is
EndedBy = Literal["", "gateway", "user", "network", "refused"]
TIMEOUT: Final = 5.0


@dataclass(frozen=True, slots=True)
class UssdScreen:
    text: str
    ends: bool


class UssdDialogue:
    """One subscriber's dialogue; made by `UssdCenter.start`."""

    def __init__(self, center: UssdCenter, msisdn: str, code: str, session_info: bytes) -> None:
        self.msisdn, self.code, self.session_info = msisdn, code, session_info
        self.state: State = "network"
        self.ended_by: EndedBy = ""
        self.status: Status | None = None  # the last deliver_sm_resp
        self.shown: list[UssdScreen] = []
        self._center = center
        self._screens: asyncio.Queue[UssdScreen] = asyncio.Queue()

    async def screen(self, timeout: float = TIMEOUT) -> UssdScreen:
        """The next screen the gateway showed (TimeoutError if none comes in time)."""
        async with asyncio.timeout(timeout):
            return await self._screens.get()

    async def reply(self, text: str, timeout: float = TIMEOUT) -> Status:
        """Answer the waiting screen; the deliver_sm_resp status (not OK ends the dialogue)."""
        if self.state != "user":
            raise UssdStateError(f"no screen waits for an answer (the turn is {self.state}'s)")
        self.state = "network"
        return await self._center.deliver(self, "continue", text, timeout)

    async def abort(self, timeout: float = TIMEOUT) -> Status | None:
        """The subscriber hangs up; the status, or None if the dialect tells the ESME nothing."""
        return await self._center.end(self, "abort", "user", timeout)

    def show(self, screen: UssdScreen) -> None:
        self.shown.append(screen)
        self._screens.put_nowait(screen)
        self.state = "ended" if screen.ends else "user"
        self.ended_by = "gateway" if screen.ends else ""


class UssdCenter:
    """The simulator's live USSD dialogues, by (msisdn, its_session_info)."""

    def __init__(self, dialect: UssdDialect, send: SendDeliver) -> None:
        self.dialect = dialect
        self.refusal_status: Status = Status.ESME_RSUBMITFAIL
        self.refused = 0
        self._send = send
        self._live: dict[tuple[str, bytes], UssdDialogue] = {}
        self._numbers = itertools.count(secrets.randbelow(0x8000))

    async def start(self, msisdn: str, code: str, timeout: float = TIMEOUT) -> UssdDialogue:
        dialogue = UssdDialogue(self, msisdn, code, self._session_info(msisdn))
        self._live[msisdn, dialogue.session_info] = dialogue
        log.info("USSD %s dials, session %s", mask_number(msisdn), dialogue.session_info.hex())
        await self.deliver(dialogue, "begin", code, timeout)
        return dialogue

    async def timeout(self, dialogue: UssdDialogue, timeout: float = TIMEOUT) -> Status | None:
        return await self.end(dialogue, "timeout", "network", timeout)

    def _session_info(self, msisdn: str) -> bytes:
        """Two octets, the first >= 0x80, not in use by another live dialogue of ``msisdn``."""
        while True:
            info = struct.pack("!H", 0x8000 | next(self._numbers) % 0x8000)
            if (msisdn, info) not in self._live:
                return info

    async def end(
        self, dialogue: UssdDialogue, event: InboundEvent, by: EndedBy, timeout: float
    ) -> Status | None:
        if dialogue.state == "ended":
            raise UssdStateError(f"the dialogue has ended (by {dialogue.ended_by})")
        self._close(dialogue, by)
        if inbound_op(self.dialect, event) is None:
            return None
        return await self.deliver(dialogue, event, "", timeout)

    def _close(self, dialogue: UssdDialogue, by: EndedBy) -> None:
        dialogue.state, dialogue.ended_by = "ended", by
        self._live.pop((dialogue.msisdn, dialogue.session_info), None)
        log.info("USSD session %s ended by %s", dialogue.session_info.hex(), by)

    async def deliver(
        self, dialogue: UssdDialogue, event: InboundEvent, text: str, timeout: float
    ) -> Status:
        op = inbound_op(self.dialect, event)
        assert op is not None, f"dialect {self.dialect.name} has no {event} op"
        pdu = deliver_pdu(dialogue, self.dialect.service_type, text, op)
        try:
            dialogue.status = (await self._send(pdu, timeout)).status
        except BaseException:
            if dialogue.state != "ended":
                self._close(dialogue, "refused")
            raise
        if dialogue.status is not Status.ESME_ROK and dialogue.state != "ended":
            self._close(dialogue, "refused")
        return dialogue.status

    def on_submit(self, pdu: bytes) -> Status | None:
        """The answer to a submit_sm if it is a USSD screen, else None (an ordinary MT)."""
        try:
            params = ussd_params(pdu)
        except UssdTlvError:
            return Status.ESME_RINVOPTPARAMVAL
        except ValueError:
            return None  # cut short: the ordinary path refuses it
        if params is None:
            return None
        ends = screen_ends(self.dialect, params.op)
        if ends is None:
            return Status.ESME_RINVOPTPARAMVAL
        return self._show(pdu, params.session_info, ends)

    def _show(self, pdu: bytes, session_info: bytes, ends: bool) -> Status:
        msisdn = wire.destination_address(pdu)
        dialogue = self._live.get((msisdn, session_info))
        if dialogue is None or dialogue.state != "network":
            self.refused += 1
            log.warning("USSD screen to %s refused: no dialogue waits for one (session %s)",
                        mask_number(msisdn), session_info.hex())
            return self.refusal_status
        text = screen_text(pdu)
        if text is None:
            return Status.ESME_RINVMSGLEN
        dialogue.show(UssdScreen(text, ends))
        if ends:
            self._live.pop((msisdn, session_info), None)
        return Status.ESME_ROK


def screen_text(pdu: bytes) -> str | None:
    """The text of a screen submit_sm, None when it does not fit one screen or cannot be read."""
    at = wire.layout(pdu)
    octets, coding = pdu[at.short_message], pdu[at.data_coding]
    try:
        text = decode_text(coding, octets)
        encode_screen(text)
    except (ValueError, KeyError):
        return None
    return text


def deliver_pdu(dialogue: UssdDialogue, service_type: str, text: str, op: int) -> bytes:
    """A USSD deliver_sm from the subscriber to the code dialled (sequence number 0)."""
    coding, octets = encode_screen(text)
    body = b"".join((
        service_type.encode("ascii"), b"\0",
        bytes([TON.INTERNATIONAL, NPI.ISDN]), dialogue.msisdn.encode("ascii"), b"\0",
        bytes([TON.UNKNOWN, NPI.UNKNOWN]), dialogue.code.encode("ascii"), b"\0",
        bytes([0, 0, 0]), b"\0", b"\0",  # esm_class, protocol_id, priority; no schedule, validity
        bytes([0, 0, coding, 0, len(octets)]), octets,
        ussd_tlvs(op, dialogue.session_info),
    ))  # fmt: skip
    return raw_pdu(SmppCommand.DELIVER_SM, 0, 0, body)
