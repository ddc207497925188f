"""Built-in SMSC simulator: a real SMPP 3.4 server on asyncio, with an explicit API for tests.

    async with SmscSimulator() as sim:                   # port 0: sim.port is the bound port
        ...                                              # an ESME binds to 127.0.0.1:sim.port
        mt = await sim.await_mt("989121110001")          # next complete MT for that number
        statuses = await sim.send_mo("989121110001", "20001", "سلام")

MT: every submit_sm is answered with a fresh message_id; parts (8/16-bit UDH or SAR TLVs) are
reassembled per (source, destination, ref) and only complete messages are recorded.
MO: deliver_sm to bound receivers/transceivers, round-robin, split by ``segmentation``.
USSD: ``await sim.ussd_start(msisdn, code)`` opens a dialogue, in the op codes of the
``ussd_dialect`` given (SMPP 3.4's by default); submit_sm carrying ``ussd_service_op`` are its
screens, never MTs (see `smpp.sim.ussd`).
Framing is `smpp.wire`'s; PDU building and reading is in `smpp.sim.pdus`.

Knobs for fault injection, all plain attributes:
``submit_responses``  statuses (vendor numbers too) to answer the next submit_sm with, in order;
``submit_nacks``      statuses to answer the next submit_sm with as generic_nack (before those);
``submit_times``      the event-loop time each submit_sm arrived at (TPS measurements);
``submit_gate``       an Event, set; while cleared, submit_sm are read but not answered
                      (``submits_in_flight`` / ``peak_submits_in_flight`` count them);
``ignore_enquire_link`` how many of the next enquire_link to leave unanswered;
``refuse_binds``      bind commands (e.g. ``SmppCommand.BIND_RECEIVER``) answered ESME_RBINDFAIL;
``received``          requests received so far, by command id (`wait_received` waits on it).

Watching: ``mt_observers`` are called with every complete MT as it is recorded, without taking
it from `await_mt` (the web console's phone watches every number while the terminal phone
awaits its own).

Links: ``drop_binds(command)`` aborts the connections (of one bind kind, if given),
``unbind_esmes(command)`` ends them with an orderly unbind, ``push_raw`` writes PDU bytes
as they are, expecting no answer (a generic_nack storm).

Errors: ``NoReceiverBound`` (in the tree of `smpp.errors`; a RuntimeError too) when an MO
has nobody to go to; ``TimeoutError`` when an ESME does not answer in time;
``ConnectionError`` when its connection drops first.
Logs (logger ``smpp.sim.server``) name system_ids and masked numbers, never message text.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import itertools
import logging
import secrets
import struct
from collections.abc import Awaitable, Callable
from typing import Final, Literal, cast

from aiosmpplib import (
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitterResp,
    DeliverSm,
    EnquireLinkResp,
    GenericNack,
    SmppCommand,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)  # fmt: skip
from aiosmpplib.protocol import MESSAGE_TYPE_MAP, SMPP_VERSION_3_4

from smpp import wire
from smpp.errors import NoReceiverBound
from smpp.masking import mask_number
from smpp.segmentation import encode_parts
from smpp.sim.inbox import MtInbox, PartCollector
from smpp.sim.pdus import (
    MtMessage,
    Part,
    complete,
    decode_submit,
    mo_part,
    raw_pdu,
    receipt,
)  # fmt: skip
from smpp.sim.session import Session
from smpp.sim.ussd import UssdCenter, UssdDialogue, UssdScreen, UssdStateError
from smpp.ussd import SMPP34, UssdDialect
from smpp.wire import Status

__all__ = ["MtMessage", "NoReceiverBound", "SmscSimulator", "UssdDialogue", "UssdScreen",
           "UssdStateError", "mask_number"]  # fmt: skip

log = logging.getLogger("smpp.sim.server")

BINDS: Final[frozenset[SmppCommand]] = frozenset(
    {SmppCommand.BIND_TRANSCEIVER, SmppCommand.BIND_RECEIVER, SmppCommand.BIND_TRANSMITTER}
)
BIND_RESPONSES: Final[dict[SmppCommand, type[BindTransceiverResp]]] = {
    SmppCommand.BIND_TRANSCEIVER: BindTransceiverResp,
    SmppCommand.BIND_RECEIVER: BindReceiverResp,
    SmppCommand.BIND_TRANSMITTER: BindTransmitterResp,
}
RECEIVES: Final[frozenset[SmppCommand]] = BINDS - {SmppCommand.BIND_TRANSMITTER}
TRANSMITS: Final[frozenset[SmppCommand]] = BINDS - {SmppCommand.BIND_RECEIVER}


Handler = Callable[[Session, wire.Frame], Awaitable[None]]


class SmscSimulator:
    """An SMSC on ``host:port`` accepting ESMEs that bind with ``system_id``/``password``.

    It keeps every MT, accepted part and submit time for tests to look at (`mt_log`,
    `send_receipt`, `submit_times`); with ``keep=False`` it keeps none, so a long run (the
    bench's router) holds nothing per message.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = "hamta",
        password: str = "secret",
        *,
        receipts: bool = True,
        ussd_dialect: UssdDialect = SMPP34,
        keep: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.keep = keep
        self.system_id, self.password, self.receipts = system_id, password, receipts
        self.mt_log: list[MtMessage] = []
        self.submit_responses: collections.deque[Status | int] = collections.deque()
        self.submit_nacks: collections.deque[Status | int] = collections.deque()
        self.submit_times: list[float] = []
        self.submit_gate = asyncio.Event()
        self.submit_gate.set()
        self.submits_in_flight = 0
        self.peak_submits_in_flight = 0
        self.ignore_enquire_link = 0
        self.refuse_binds: set[SmppCommand] = set()
        self.received: collections.Counter[int] = collections.Counter()
        self.mt_observers: list[Callable[[MtMessage], None]] = []
        self._mt_inbox = MtInbox()
        self.ussd = UssdCenter(ussd_dialect, self.send_raw)
        self._partial = PartCollector()
        self._parts_by_id: dict[str, Part] = {}
        self._sessions: dict[Session, asyncio.Task[None]] = {}
        self._changed = asyncio.Condition()
        self._round_robin = itertools.count()
        self._mo_ref = itertools.count(secrets.randbelow(256))
        self._server: asyncio.Server | None = None
        self._handlers: dict[SmppCommand, Handler] = {
            **dict.fromkeys(BINDS, self._on_bind),
            SmppCommand.SUBMIT_SM: self._on_submit,
            SmppCommand.ENQUIRE_LINK: self._on_enquire_link,
            SmppCommand.UNBIND: self._on_unbind,
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self.drop_binds()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> SmscSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def bound_count(self) -> int:
        return sum(1 for session in self._sessions if session.bind is not None)

    def bound_as(self, command: SmppCommand) -> int:
        """How many ESMEs are bound with that bind command right now."""
        return sum(1 for session in self._sessions if session.bind == command)

    async def wait_bound(
        self, count: int = 1, timeout: float = 5.0, *, command: SmppCommand | None = None
    ) -> None:
        """Until ``count`` ESMEs are bound (with ``command``, if given)."""
        def enough() -> bool:
            bound = self.bound_count if command is None else self.bound_as(command)
            return bound >= count

        await self._wait_until(enough, timeout)

    @property
    def ready(self) -> bool:
        """Some bound ESME takes MOs (receiver or transceiver) and some submits MTs."""
        binds = {session.bind for session in self._sessions}
        return bool(binds & RECEIVES) and bool(binds & TRANSMITS)

    async def wait_ready(self, timeout: float = 5.0) -> None:
        """Until `ready`: a transceiver, or a receiver and a transmitter, have bound."""
        await self._wait_until(lambda: self.ready, timeout)

    async def wait_connections(self, count: int, timeout: float = 5.0) -> None:
        """Until exactly ``count`` ESME connections are open (a killed ESME's has gone)."""
        await self._wait_until(lambda: len(self._sessions) == count, timeout)

    async def wait_received(self, command: int, count: int = 1, timeout: float = 5.0) -> None:
        """Until ``count`` requests with that command id have arrived, in all."""
        await self._wait_until(lambda: self.received[command] >= count, timeout)

    async def drop_binds(self, command: SmppCommand | None = None) -> None:
        """Abort every ESME connection (bound with ``command``, if given; no unbind) and wait
        until they are gone."""
        tasks = [self._sessions[session] for session in self._of_bind(command)]
        for session in self._of_bind(command):
            session.writer.transport.abort()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def unbind_esmes(self, command: SmppCommand | None = None, timeout: float = 5.0) -> None:
        """Send unbind to every bound ESME (bound with ``command``, if given), wait for each
        unbind_resp, close those connections and wait until they are gone."""
        sessions = [s for s in self._of_bind(command) if s.bind is not None]
        tasks = [self._sessions[session] for session in sessions]
        for session in sessions:
            await session.collect([await session.request(Unbind().pdu())], timeout)
            session.open = False
            session.writer.close()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _of_bind(self, command: SmppCommand | None) -> list[Session]:
        return [s for s in self._sessions if command is None or s.bind == command]

    # -- MT ----------------------------------------------------------------------------------

    async def await_mt(self, destination: str | None = None, timeout: float = 5.0) -> MtMessage:
        """The oldest complete MT (to ``destination``, if given) not yet returned here."""

        return await self._mt_inbox.take(destination, timeout)

    async def send_receipt(self, message_id: str, stat: str = "DELIVRD") -> None:
        """Send a receipt for an accepted part to a bound receiver; KeyError for an unknown id."""
        part = self._parts_by_id[message_id]
        await self._receiver().push(receipt(part, stat))

    # -- MO ----------------------------------------------------------------------------------

    async def send_mo(
        self,
        source: str,
        destination: str,
        text: str,
        *,
        concat: Literal["udh", "sar"] = "udh",
        data_coding: int | None = None,
        timeout: float = 5.0,
    ) -> list[Status]:
        """Deliver ``text`` as MO and return the deliver_sm_resp status of each part."""
        ref = next(self._mo_ref) % 256
        coding, parts = encode_parts(text, ref, data_coding=data_coding)
        mode = concat if len(parts) > 1 else None
        messages = [mo_part(source, destination, text, coding, p, mode) for p in parts]
        session = self._receiver()
        masked = mask_number(source), mask_number(destination)
        log.info("MO %s -> %s, %d part(s)", *masked, len(parts))
        futures = [await session.request(message.pdu()) for message in messages]
        return [frame.status for frame in await session.collect(futures, timeout)]

    async def send_raw_deliver(self, deliver_sm: DeliverSm, timeout: float = 5.0) -> Status:
        """Send a hand-made deliver_sm (its sequence number is replaced) and return the status."""
        return (await self.send_raw(deliver_sm.pdu(), timeout)).status

    async def send_raw(self, pdu: bytes, timeout: float = 5.0) -> wire.Frame:
        """Send hand-made PDU bytes (sequence number replaced) to a receiver; its response."""
        session = self._receiver()
        return (await session.collect([await session.request(pdu)], timeout))[0]

    async def push_raw(self, pdu: bytes, count: int = 1) -> None:
        """Write ``pdu`` ``count`` times, as it is (sequence number too), to a receiver,
        waiting for no response: how a generic_nack or a stray response is sent."""
        session = self._receiver()
        for _ in range(count):
            session.writer.write(pdu)
        await session.writer.drain()

    # -- USSD ------------------------------------------------------------------------------------

    async def ussd_start(self, msisdn: str, code: str = "*7777#", timeout: float = 5.0) -> UssdDialogue:
        """Dial ``code`` from ``msisdn``: a begin deliver_sm; the dialogue's handle comes back."""
        return await self.ussd.start(msisdn, code, timeout)

    async def ussd_network_timeout(self, dialogue: UssdDialogue, timeout: float = 5.0) -> Status | None:
        """The network ends the dialogue; the ESME is told if the dialect has a timeout op."""
        return await self.ussd.timeout(dialogue, timeout)

    # -- connection handling -----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer)
        task = asyncio.current_task()
        assert task is not None
        self._sessions[session] = task
        try:
            while session.open and (frame := await session.next_frame()):
                await self._dispatch(session, frame)
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("connection lost system_id=%s", session.system_id or "-")
        except Exception:  # one broken session must not take the simulator down
            log.exception("session failed system_id=%s", session.system_id or "-")
        finally:
            await self._forget(session)

    async def _forget(self, session: Session) -> None:
        session.close()
        async with self._changed:
            del self._sessions[session]
            self._changed.notify_all()

    async def _dispatch(self, session: Session, frame: wire.Frame) -> None:
        if frame.is_response:
            session.resolve(frame)
            return
        async with self._changed:
            self.received[frame.command_id] += 1
            self._changed.notify_all()
        handler = self._handlers.get(frame.command) if frame.command is not None else None
        if handler is None:
            await session.send(GenericNack(frame.sequence, Status.ESME_RINVCMDID))
        else:
            await handler(session, frame)

    async def _on_bind(self, session: Session, frame: wire.Frame) -> None:
        status = self._bind_status(session, frame)
        version = SMPP_VERSION_3_4 if status is Status.ESME_ROK else None
        command = cast(SmppCommand, frame.command)
        await session.send(BIND_RESPONSES[command](frame.sequence, status, self.system_id, version))
        if status is Status.ESME_RBINDFAIL:
            session.open = False
            return
        if status is Status.ESME_ROK:
            async with self._changed:
                session.bind = command
                self._changed.notify_all()
            log.info("bind %s system_id=%s", frame.name.removeprefix("bind_"), session.system_id)

    def _bind_status(self, session: Session, frame: wire.Frame) -> Status:
        if session.bind is not None:
            return Status.ESME_RALYBND
        if frame.command in self.refuse_binds:
            log.info("%s refused on purpose", frame.name)
            return Status.ESME_RBINDFAIL
        header = frame.header()
        try:
            parsed = MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(frame.data, header)
            bind = cast(BindTransceiver, parsed)
        except (ValueError, UnicodeDecodeError):  # aiosmpplib rejects over-long credentials
            return Status.ESME_RBINDFAIL
        session.system_id = bind.system_id
        if _same(bind.system_id, self.system_id) and _same(bind.password, self.password):
            return Status.ESME_ROK
        log.warning("bind refused system_id=%s", session.system_id)
        return Status.ESME_RBINDFAIL

    async def _on_enquire_link(self, session: Session, frame: wire.Frame) -> None:
        if self.ignore_enquire_link > 0:
            self.ignore_enquire_link -= 1
            log.info("enquire_link left unanswered system_id=%s", session.system_id)
            return
        await session.send(EnquireLinkResp(frame.sequence))

    async def _on_unbind(self, session: Session, frame: wire.Frame) -> None:
        await session.send(UnbindResp(frame.sequence))
        session.open = False
        log.info("unbind system_id=%s", session.system_id)

    async def _on_submit(self, session: Session, frame: wire.Frame) -> None:
        if self.keep:
            self.submit_times.append(asyncio.get_running_loop().time())
        self.submits_in_flight += 1
        self.peak_submits_in_flight = max(self.peak_submits_in_flight, self.submits_in_flight)
        if self.submit_gate.is_set():
            await self._answer_submit(session, frame)
        else:
            session.spawn(self._held_submit(session, frame))

    async def _held_submit(self, session: Session, frame: wire.Frame) -> None:
        try:
            await self.submit_gate.wait()
        except asyncio.CancelledError:  # the connection went away: never to be answered
            self.submits_in_flight -= 1
            raise
        try:
            await self._answer_submit(session, frame)
        except ConnectionError:
            log.info("connection lost before a held submit_sm was answered system_id=%s",
                     session.system_id)

    async def _answer_submit(self, session: Session, frame: wire.Frame) -> None:
        self.submits_in_flight -= 1
        sequence = frame.sequence
        if session.bind not in TRANSMITS:
            await session.send(SubmitSmResp(sequence, Status.ESME_RINVBNDSTS))
        elif self.submit_nacks:
            status = self.submit_nacks.popleft()
            await session.send_bytes(raw_pdu(SmppCommand.GENERIC_NACK, status, sequence))
        elif self.submit_responses:
            status = self.submit_responses.popleft()
            await session.send_bytes(raw_pdu(SmppCommand.SUBMIT_SM_RESP, status, sequence, b"\0"))
        else:
            await self._accept(session, frame)

    async def _accept(self, session: Session, frame: wire.Frame) -> None:
        screen_status = self.ussd.on_submit(frame.data)
        if screen_status is not None:
            message_id = secrets.token_hex(8) if screen_status is Status.ESME_ROK else ""
            await session.send(SubmitSmResp(frame.sequence, screen_status, message_id=message_id))
            return
        try:
            part = decode_submit(frame, secrets.token_hex(8))
        except (ValueError, UnicodeError, IndexError, struct.error) as exc:
            log.warning("undecodable submit_sm from system_id=%s: %s", session.system_id, exc)
            await session.send(SubmitSmResp(frame.sequence, Status.ESME_RSYSERR))
            return
        await session.send(SubmitSmResp(frame.sequence, message_id=part.message_id))
        await self._record(part)
        if self.receipts and part.message.registered_delivery & 1:
            await self._auto_receipt(session, part)

    async def _auto_receipt(self, session: Session, part: Part) -> None:
        """Receipt to the submitting transceiver, else to any receiver, else nobody."""
        try:
            target = session if session.bind in RECEIVES else self._receiver()
        except NoReceiverBound:
            log.info("no receiver bound for the receipt of %s", part.message_id)
            return
        await target.push(receipt(part, "DELIVRD"))

    async def _record(self, part: Part) -> None:
        if self.keep:
            self._parts_by_id[part.message_id] = part
        source, destination = part.message.source.number, part.message.destination.number
        if log.isEnabledFor(logging.INFO):
            log.info("MT %s -> %s", mask_number(source), mask_number(destination))
        parts = self._partial.add(part)
        if parts is not None:
            message = complete(parts)
            if self.keep:
                self.mt_log.append(message)
            self._mt_inbox.put(message)
            for observe in self.mt_observers:
                observe(message)

    def _receiver(self) -> Session:
        receivers = [s for s in self._sessions if s.bind in RECEIVES]
        if not receivers:
            raise NoReceiverBound("no ESME is bound as receiver or transceiver")
        return receivers[next(self._round_robin) % len(receivers)]

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
