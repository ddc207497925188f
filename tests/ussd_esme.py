"""A bare transceiver for USSD tests: deliver_sm are kept raw (USSD TLVs and all), screens are
built with `smpp.ussd.build_screen`. `menu_responder` turns it into a tiny USSD application."""

from __future__ import annotations

import asyncio
import itertools
import struct
from collections.abc import Callable
from dataclasses import dataclass

from aiosmpplib import (
    BindTransceiver,
    DeliverSm,
    DeliverSmResp,
    EnquireLinkResp,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
)  # fmt: skip

from smpp import wire
from smpp.submit import Addressing, build_parts
from smpp.ussd import UssdDialect, UssdParams, build_screen, ussd_params

Status = SmppCommandStatus
TIMEOUT = 5.0
SERVICE = Addressing("7777")


@dataclass(frozen=True)
class Inbound:
    """One deliver_sm: its bytes, aiosmpplib's reading of it, and its USSD TLVs (raw)."""

    frame: wire.Frame
    deliver: DeliverSm
    params: UssdParams | None

    @property
    def msisdn(self) -> str:
        return self.deliver.source.number

    @property
    def text(self) -> str:
        return self.deliver.short_message


class UssdEsme:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.inbound: asyncio.Queue[Inbound] = asyncio.Queue()
        self.seen: list[Inbound] = []  # every deliver_sm, whoever took it from `inbound`
        self.deliver_status = Status.ESME_ROK
        self._pending: dict[int, asyncio.Future[wire.Frame]] = {}
        self._sequence = itertools.count(1)
        self._task = asyncio.create_task(self._read_loop())

    @classmethod
    async def bound(cls, port: int) -> UssdEsme:
        esme = cls(*await asyncio.open_connection("127.0.0.1", port))
        bind = await esme.request(BindTransceiver(system_id="hamta", password="secret").pdu())
        assert bind.status is Status.ESME_ROK
        return esme

    async def request(self, pdu: bytes) -> wire.Frame:
        sequence = next(self._sequence)
        future: asyncio.Future[wire.Frame] = asyncio.get_running_loop().create_future()
        self._pending[sequence] = future
        self.writer.write(pdu[:12] + struct.pack("!I", sequence) + pdu[16:])
        await self.writer.drain()
        async with asyncio.timeout(TIMEOUT):  # unlike 3.11's wait_for, never eats a cancel
            return await future

    async def screen(
        self, dialect: UssdDialect, to: Inbound, text: str, *, end: bool
    ) -> Status:
        """Show ``text`` in the dialogue ``to`` came from; the submit_sm_resp status."""
        assert to.params is not None
        submit = build_screen(text, to.msisdn, SERVICE, dialect, end=end,
                              session_info=to.params.session_info)
        return (await self.request(submit.pdu())).status

    async def sms(self, msisdn: str, text: str) -> Status:
        (part,) = build_parts(text, msisdn, SERVICE, ref=1)
        part.registered_delivery = 0
        return (await self.request(part.pdu())).status

    async def next_inbound(self, timeout: float = TIMEOUT) -> Inbound:
        async with asyncio.timeout(timeout):
            return await self.inbound.get()

    async def close(self) -> None:
        self._task.cancel()
        self.writer.close()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _read_loop(self) -> None:
        while True:
            frame = await wire.read_pdu(self.reader)
            if frame.is_response:
                self._pending.pop(frame.sequence).set_result(frame)
            elif frame.command == SmppCommand.DELIVER_SM:
                await self._deliver(frame)
            elif frame.command == SmppCommand.ENQUIRE_LINK:
                await self._send(EnquireLinkResp(frame.sequence))

    async def _deliver(self, frame: wire.Frame) -> None:
        deliver = wire.decode(frame)
        assert isinstance(deliver, DeliverSm)
        inbound = Inbound(frame, deliver, ussd_params(frame.data))
        self.seen.append(inbound)
        await self.inbound.put(inbound)
        await self._send(DeliverSmResp(frame.sequence, self.deliver_status))

    async def _send(self, message: SmppMessage) -> None:
        self.writer.write(message.pdu())
        await self.writer.drain()


@dataclass(frozen=True)
class Answer:
    """What a tiny application answers: a screen, and maybe an SMS before or after it."""

    screen: str
    end: bool
    sms: str = ""
    sms_after: bool = False


Menu = Callable[[Inbound], Answer | None]


async def menu_responder(esme: UssdEsme, dialect: UssdDialect, menu: Menu) -> None:
    """Answer every USSD input with ``menu``'s screen (None: no screen, e.g. after an abort)."""
    while True:
        inbound = await esme.inbound.get()
        answer = menu(inbound) if inbound.params is not None else None
        if answer is None:
            continue
        if answer.sms and not answer.sms_after:
            await esme.sms(inbound.msisdn, answer.sms)
        await esme.screen(dialect, inbound, answer.screen, end=answer.end)
        if answer.sms and answer.sms_after:
            await esme.sms(inbound.msisdn, answer.sms)


def run_responder(esme: UssdEsme, dialect: UssdDialect, menu: Menu) -> asyncio.Task[None]:
    return asyncio.create_task(menu_responder(esme, dialect, menu))
