"""Built-in SMSC simulator: a real SMPP 3.4 server on asyncio, with an explicit API for tests.

    async with SmscSimulator() as sim:                   # port 0: sim.port is the bound port
        ...                                              # an ESME binds to 127.0.0.1:sim.port
        mt = await sim.await_mt("989121110001")          # next complete MT for that number
        statuses = await sim.send_mo("989121110001", "20001", "سلام")

MT: every submit_sm is answered with a fresh message_id; parts (8/16-bit UDH or SAR TLVs) are
reassembled per (source, destination, ref) and only complete messages are recorded.
MO: deliver_sm to bound receivers/transceivers, round-robin, split by ``segmentation``.
aiosmpplib's PDU classes are the codec; the raw short_message is read here as well because
aiosmpplib mis-reads the 16-bit concatenation reference and decodes each part on its own.

Errors: ``NoReceiverBound`` (RuntimeError) when an MO has nobody to go to; ``TimeoutError``
when an ESME does not answer in time; ``ConnectionError`` when its connection drops first.
Logs (logger ``smpp.simulator``) name system_ids and masked numbers, never message text.
"""

from __future__ import annotations

import asyncio
import collections
import codecs
import hmac
import itertools
import logging
import secrets
import signal
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, cast

from aiosmpplib import (
    BindReceiverResp, BindTransceiver, BindTransceiverResp, BindTransmitterResp, DeliverSm,
    EnquireLinkResp, GenericNack, OptionalParam, PhoneNumber, SmppCommand, SmppCommandStatus,
    SmppMessage, SubmitSm, SubmitSmResp, UnbindResp,
)  # fmt: skip
from aiosmpplib.protocol import MESSAGE_TYPE_MAP, NULL, PDU_HEADER_LENGTH, SMPP_VERSION_3_4
from aiosmpplib.state import (
    MESSAGE_STATE, NPI, RECEIPTED_MESSAGE_ID, SAR_MSG_REF_NUM, SAR_SEGMENT_SEQNUM,
    SAR_TOTAL_SEGMENTS, TON, PduHeader, SmppDataCoding,
)  # fmt: skip

from smpp.segmentation import UCS2, UDHI, Concat, decode_text, decode_udh, encode_parts, is_gsm

log = logging.getLogger("smpp.simulator")

Status = SmppCommandStatus
RECEIPT_ESM_CLASS: Final[int] = 0x04
MAX_PDU_LENGTH: Final[int] = 64 * 1024
SAR_TAGS: Final = frozenset({SAR_MSG_REF_NUM, SAR_TOTAL_SEGMENTS, SAR_SEGMENT_SEQNUM})
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
# Receipt `stat:` word -> message_state TLV value (SMPP 3.4, 5.2.28).
MESSAGE_STATES: Final[dict[str, int]] = {
    "ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4,
    "UNDELIV": 5, "ACCEPTD": 6, "UNKNOWN": 7, "REJECTD": 8,
}  # fmt: skip
# Decodes any data_coding to one char per octet, so aiosmpplib's from_pdu never fails on text.
_LOSSLESS: Final[dict[str, codecs.CodecInfo]] = {
    name: codecs.lookup("latin-1") for name in SmppDataCoding.__members__
}
# Fields before short_message in submit_sm/deliver_sm: 0 = C-octet string, n = n fixed octets.
_FIELDS_BEFORE_SM: Final[tuple[int, ...]] = (0, 2, 0, 2, 0, 3, 0, 0, 5)


class NoReceiverBound(RuntimeError):
    """No ESME is bound as receiver or transceiver to take a deliver_sm."""


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
class _Part:
    """One accepted submit_sm."""

    message: SubmitSm
    concat: Concat | None
    body: bytes
    data_coding: int
    message_id: str
    submitted: datetime


class _Session:
    """One ESME connection: its bind and the deliver_sm it has not answered yet."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.bind: SmppCommand | None = None
        self.system_id = ""
        self.open = True
        self.pending: dict[int, asyncio.Future[Status]] = {}
        self._sequence = itertools.count(1)

    async def send(self, message: SmppMessage) -> None:
        self.writer.write(message.pdu())
        await self.writer.drain()

    async def push(self, message: SmppMessage) -> None:
        """Send a request with a fresh sequence number, not waiting for its response."""
        message.sequence_num = next(self._sequence)
        await self.send(message)
    async def request(self, message: SmppMessage) -> asyncio.Future[Status]:
        """Send a request with a fresh sequence number; the future gets the response status."""
        message.sequence_num = next(self._sequence)
        future: asyncio.Future[Status] = asyncio.get_running_loop().create_future()
        self.pending[message.sequence_num] = future
        try:
            await self.send(message)
        except ConnectionError:
            del self.pending[message.sequence_num]
            raise
        return future

    def cancel_pending(self) -> None:
        """The connection is gone: waiters see their futures cancelled (``_collect`` says why)."""
        for future in self.pending.values():
            future.cancel()
        self.pending.clear()


Handler = Callable[[_Session, bytes, PduHeader], Awaitable[None]]


class SmscSimulator:
    """An SMSC on ``host:port`` accepting ESMEs that bind with ``system_id``/``password``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        system_id: str = "hamta",
        password: str = "secret",
        *,
        receipts: bool = True,
    ) -> None:
        self.host, self.port = host, port
        self.system_id, self.password, self.receipts = system_id, password, receipts
        self.mt_log: list[MtMessage] = []
        self.submit_responses: collections.deque[Status] = collections.deque()
        self._unreturned: list[MtMessage] = []
        self._partial: dict[tuple[str, str, int], dict[int, _Part]] = {}
        self._parts_by_id: dict[str, _Part] = {}
        self._sessions: dict[_Session, asyncio.Task[None]] = {}
        self._changed = asyncio.Condition()
        self._round_robin = itertools.count()
        self._mo_ref = itertools.count(secrets.randbelow(256))
        self._server: asyncio.Server | None = None
        self._handlers: dict[SmppCommand, Handler] = {
            **{bind: self._on_bind for bind in BINDS},
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

    async def wait_bound(self, count: int = 1, timeout: float = 5.0) -> None:
        await self._wait_until(lambda: self.bound_count >= count, timeout)

    async def drop_binds(self) -> None:
        """Abort every ESME connection (no unbind) and wait until they are gone."""
        for session in list(self._sessions):
            session.writer.transport.abort()
        await asyncio.gather(*self._sessions.values(), return_exceptions=True)

    # -- MT ----------------------------------------------------------------------------------

    async def await_mt(self, destination: str | None = None, timeout: float = 5.0) -> MtMessage:
        """The oldest complete MT (to ``destination``, if given) not yet returned here."""

        def matching() -> MtMessage | None:
            return next((m for m in self._unreturned if destination in (None, m.destination)), None)

        await self._wait_until(lambda: matching() is not None, timeout)
        message = matching()
        assert message is not None
        self._unreturned.remove(message)
        return message

    async def send_receipt(self, message_id: str, stat: str = "DELIVRD") -> None:
        """Send a receipt for an accepted part to a bound receiver; KeyError for an unknown id."""
        part = self._parts_by_id[message_id]
        await self._receiver().push(_receipt(part, stat))

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
        messages = [_mo_part(source, destination, text, coding, p, mode) for p in parts]
        session = self._receiver()
        masked = mask_number(source), mask_number(destination)
        log.info("MO %s -> %s, %d part(s)", *masked, len(parts))
        futures = [await session.request(message) for message in messages]
        return await _collect(session, futures, timeout)

    async def send_raw_deliver(self, deliver_sm: DeliverSm, timeout: float = 5.0) -> Status:
        """Send a hand-made deliver_sm (its sequence number is replaced) and return the status."""
        session = self._receiver()
        return (await _collect(session, [await session.request(deliver_sm)], timeout))[0]

    # -- connection handling -----------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(reader, writer)
        task = asyncio.current_task()
        assert task is not None
        self._sessions[session] = task
        try:
            while session.open and (pdu := await _read_pdu(session)):
                await self._dispatch(session, pdu)
        except (ConnectionError, asyncio.IncompleteReadError):
            log.info("connection lost system_id=%s", session.system_id or "-")
        except Exception:  # one broken session must not take the simulator down
            log.exception("session failed system_id=%s", session.system_id or "-")
        finally:
            await self._forget(session)

    async def _forget(self, session: _Session) -> None:
        session.cancel_pending()
        session.writer.close()
        async with self._changed:
            del self._sessions[session]
            self._changed.notify_all()

    async def _dispatch(self, session: _Session, pdu: bytes) -> None:
        command_id, status, sequence = struct.unpack_from("!III", pdu, 4)
        if command_id not in SmppCommand._value2member_map_:
            await session.send(GenericNack(sequence, Status.ESME_RINVCMDID))
            return
        header = PduHeader(len(pdu), SmppCommand(command_id), _status(status), sequence)
        if command_id & 0x80000000:
            _resolve(session, header)
            return
        handler = self._handlers.get(header.smpp_command)
        if handler is None:
            await session.send(GenericNack(sequence, Status.ESME_RINVCMDID))
        else:
            await handler(session, pdu, header)

    async def _on_bind(self, session: _Session, pdu: bytes, header: PduHeader) -> None:
        status = self._bind_status(session, pdu, header)
        version = SMPP_VERSION_3_4 if status is Status.ESME_ROK else None
        response = BIND_RESPONSES[header.smpp_command]
        await session.send(response(header.sequence_num, status, self.system_id, version))
        if status is Status.ESME_RBINDFAIL:
            session.open = False
            return
        if status is Status.ESME_ROK:
            async with self._changed:
                session.bind = header.smpp_command
                self._changed.notify_all()
            mode = header.smpp_command.name.lower().removeprefix("bind_")
            log.info("bind %s system_id=%s", mode, session.system_id)

    def _bind_status(self, session: _Session, pdu: bytes, header: PduHeader) -> Status:
        if session.bind is not None:
            return Status.ESME_RALYBND
        try:
            parsed = MESSAGE_TYPE_MAP[header.smpp_command].from_pdu(pdu, header)
            bind = cast(BindTransceiver, parsed)
        except (ValueError, UnicodeDecodeError):  # aiosmpplib rejects over-long credentials
            return Status.ESME_RBINDFAIL
        session.system_id = bind.system_id
        if _same(bind.system_id, self.system_id) and _same(bind.password, self.password):
            return Status.ESME_ROK
        log.warning("bind refused system_id=%s", session.system_id)
        return Status.ESME_RBINDFAIL

    async def _on_enquire_link(self, session: _Session, pdu: bytes, header: PduHeader) -> None:
        await session.send(EnquireLinkResp(header.sequence_num))

    async def _on_unbind(self, session: _Session, pdu: bytes, header: PduHeader) -> None:
        await session.send(UnbindResp(header.sequence_num))
        session.open = False
        log.info("unbind system_id=%s", session.system_id)

    async def _on_submit(self, session: _Session, pdu: bytes, header: PduHeader) -> None:
        sequence = header.sequence_num
        if session.bind not in TRANSMITS:
            await session.send(SubmitSmResp(sequence, Status.ESME_RINVBNDSTS))
        elif self.submit_responses:
            await session.send(SubmitSmResp(sequence, self.submit_responses.popleft()))
        else:
            await self._accept(session, pdu, header)

    async def _accept(self, session: _Session, pdu: bytes, header: PduHeader) -> None:
        try:
            part = _decode_submit(pdu, header, secrets.token_hex(8))
        except (ValueError, UnicodeError, IndexError, struct.error) as exc:
            log.warning("undecodable submit_sm from system_id=%s: %s", session.system_id, exc)
            await session.send(SubmitSmResp(header.sequence_num, Status.ESME_RSYSERR))
            return
        await session.send(SubmitSmResp(header.sequence_num, message_id=part.message_id))
        await self._record(part)
        if self.receipts and part.message.registered_delivery & 1:
            await self._auto_receipt(session, part)

    async def _auto_receipt(self, session: _Session, part: _Part) -> None:
        """Receipt to the submitting transceiver, else to any receiver, else nobody."""
        try:
            target = session if session.bind in RECEIVES else self._receiver()
        except NoReceiverBound:
            log.info("no receiver bound for the receipt of %s", part.message_id)
            return
        await target.push(_receipt(part, "DELIVRD"))

    async def _record(self, part: _Part) -> None:
        self._parts_by_id[part.message_id] = part
        source, destination = part.message.source.number, part.message.destination.number
        log.info("MT %s -> %s", mask_number(source), mask_number(destination))
        parts = self._collect_parts(part)
        if parts is not None:
            async with self._changed:
                complete = _complete(parts)
                self.mt_log.append(complete)
                self._unreturned.append(complete)
                self._changed.notify_all()

    def _collect_parts(self, part: _Part) -> list[_Part] | None:
        """Every part of the message once ``part`` completes it, in order; else None."""
        if part.concat is None or part.concat.total <= 1:
            return [part]
        key = (part.message.source.number, part.message.destination.number, part.concat.ref)
        received = self._partial.setdefault(key, {})
        received[part.concat.seq] = part
        if len(received) < part.concat.total:
            return None
        del self._partial[key]
        return [received[seq] for seq in sorted(received)]

    def _receiver(self) -> _Session:
        receivers = [s for s in self._sessions if s.bind in RECEIVES]
        if not receivers:
            raise NoReceiverBound("no ESME is bound as receiver or transceiver")
        return receivers[next(self._round_robin) % len(receivers)]

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)


# -- PDU helpers ----------------------------------------------------------------------------


async def _read_pdu(session: _Session) -> bytes | None:
    """The next whole PDU, or None at a clean end of stream. An absurd length drops the link."""
    try:
        header = await session.reader.readexactly(PDU_HEADER_LENGTH)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None
    length = struct.unpack_from("!I", header)[0]
    if not PDU_HEADER_LENGTH <= length <= MAX_PDU_LENGTH:
        sequence = struct.unpack_from("!I", header, 12)[0]
        await session.send(GenericNack(sequence, Status.ESME_RINVCMDLEN))
        return None
    return header + await session.reader.readexactly(length - PDU_HEADER_LENGTH)


def _status(code: int) -> Status:
    """aiosmpplib rejects vendor-specific status codes; map them to ESME_RUNKNOWNERR."""
    return Status(code) if code in Status._value2member_map_ else Status.ESME_RUNKNOWNERR


def _resolve(session: _Session, header: PduHeader) -> None:
    future = session.pending.pop(header.sequence_num, None)
    if future is not None and not future.done():
        future.set_result(header.command_status)


async def _collect(
    session: _Session, futures: list[asyncio.Future[Status]], timeout: float
) -> list[Status]:
    """Every response status; TimeoutError if one is missing, ConnectionError if the link broke."""
    _, pending = await asyncio.wait(futures, timeout=timeout)
    for future in pending:
        future.cancel()
    session.pending = {seq: f for seq, f in session.pending.items() if f not in futures}
    if pending:
        raise TimeoutError(f"{len(pending)} deliver_sm not answered within {timeout}s")
    if any(f.cancelled() for f in futures):
        raise ConnectionError("ESME connection closed before answering")
    return [f.result() for f in futures]


def _decode_submit(pdu: bytes, header: PduHeader, message_id: str) -> _Part:
    message = SubmitSm.from_pdu(pdu, header, "gsm0338", _LOSSLESS)
    assert isinstance(message, SubmitSm)
    concat, body = _user_data(message, _short_message_bytes(pdu))
    coding = SmppDataCoding[message.encoding].value if message.encoding else 0
    return _Part(message, concat, body, coding, message_id, datetime.now())


def _short_message_bytes(pdu: bytes) -> bytes:
    """The raw short_message octets of a submit_sm/deliver_sm PDU."""
    index = PDU_HEADER_LENGTH
    for width in _FIELDS_BEFORE_SM:
        index = pdu.index(NULL, index) + 1 if width == 0 else index + width
    return pdu[index : index + pdu[index - 1]]


def _user_data(message: SubmitSm, short_message: bytes) -> tuple[Concat | None, bytes]:
    """Concatenation info and user data (UDH removed) from short_message or message_payload."""
    if message.esm_class & UDHI and short_message:
        return decode_udh(short_message)
    body = short_message or message.message_payload.encode("latin-1")
    if not message.is_segmented():
        return None, body
    ref, seq, total = message.get_segmentation_data()
    return Concat(ref, total, seq), body


def _complete(parts: list[_Part]) -> MtMessage:
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


def _mo_part(
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


def _receipt(part: _Part, stat: str) -> DeliverSm:
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


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def mask_number(number: str) -> str:
    """Mask a phone number for logs: ``09121234567`` -> ``0912***4567``; short codes -> ``***``."""
    digits = "".join(c for c in number if c.isdigit())
    return f"{digits[:4]}***{digits[-4:]}" if len(digits) > 8 else "***"


# -- running it on its own ------------------------------------------------------------------


async def serve_forever(sim: SmscSimulator, stop: asyncio.Event | None = None) -> None:
    """Run ``sim`` until ``stop`` is set (or the task is cancelled)."""
    async with sim:
        log.info("SMSC simulator listening on %s:%d", sim.host, sim.port)
        await (stop or asyncio.Event()).wait()


def run_simulator(host: str, port: int, system_id: str, password: str) -> None:
    """Blocking entry point for the CLI; stops cleanly on SIGINT/SIGTERM."""
    asyncio.run(_run_until_signalled(SmscSimulator(host, port, system_id, password)))


async def _run_until_signalled(sim: SmscSimulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve_forever(sim, stop)
