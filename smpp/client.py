"""The gateway's ESME: one SMPP 3.4 session to the SMSC, kept bound for as long as it runs.

- binds (transceiver) with the configured credentials, reconnecting with capped exponential
  backoff and jitter (the backoff starts over after each successful bind);
- hands what the SMSC tells it (each deliver_sm, and each accepted submit_sm) to its
  `EventHandler` in arrival order, in batches: the read loop never waits on storage, and the
  handler can store a whole batch in one round trip. Each deliver_sm is answered with the
  status the handler returns for it, only after the handler returned (so an MO is
  acknowledged after it is stored, or refused with ESME_RX_T_APPN); a deliver_sm that cannot
  be decoded is answered `UNDECODABLE`, and every deliver_sm of a batch `HANDLER_FAILED` when
  the handler fails or returns a status count that does not match, so none takes the link
  down or is left unanswered. An accepted submit_sm is queued before the receipt that may follow it,
  so its correlation is always stored first;
- submits with a window (maximum outstanding submit_sm) and a TPS limit, one PDU at a time per
  call, returning the SMSC's response; responses are matched by sequence number in a dict, so
  correlation is O(1) per PDU;
- sends enquire_link when the link is idle and drops a link that stops answering.

A vendor-specific command_status reads as ESME_RUNKNOWNERR (the real number is logged); a
request with a command id it does not handle gets generic_nack ESME_RINVCMDID. Only bytes that
are not SMPP at all (`wire.PduFramingError`) drop the link.

Errors: `SubmitFailed` (a request got no response) and `BindRefused`, both retryable; the
tree of every SMPP error is drawn in `smpp.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiosmpplib import (
    BindTransceiver,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)

from smpp import wire
from smpp.errors import BindRefused as BindRefused  # re-exported
from smpp.errors import SubmitFailed as SubmitFailed  # re-exported
from smpp.masking import mask_number
from smpp.pacing import TokenBucket

log = logging.getLogger("smpp.client")


@dataclass(frozen=True, slots=True)
class Accepted:
    """The SMSC accepted a submit_sm part (its receipt may follow)."""

    submit: SubmitSm
    response: SubmitSmResp


@dataclass(frozen=True, slots=True)
class Delivered:
    """A deliver_sm (an MO or a receipt), with its raw PDU for what aiosmpplib cannot read
    faithfully (the USSD TLVs)."""

    deliver: DeliverSm
    pdu: bytes


SmscEvent = Delivered | Accepted
# One status per event, in order; the statuses of `Accepted` events are not used. The second
# argument names the bind the deliver_sm came on (unique across processes and reconnects):
# '<client instance>:<bind number>', so binds of one process share what precedes the colon.
EventHandler = Callable[[list[SmscEvent], str], Awaitable[list[SmppCommandStatus]]]
MAX_BATCH: Final = 256

# A deliver_sm we can never read: retrying the same bytes cannot help, so a permanent error.
UNDECODABLE: Final = SmppCommandStatus.ESME_RX_P_APPN
# The deliver handler raised: the MO was not stored, the SMSC should try again later.
HANDLER_FAILED: Final = SmppCommandStatus.ESME_RX_T_APPN
# Requests SMPP 3.4 defines no response for: logged and otherwise ignored.
UNANSWERED: Final = frozenset({SmppCommand.ALERT_NOTIFICATION, SmppCommand.OUTBIND})


@dataclass(frozen=True, slots=True)
class ClientConfig:
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    enquire_link_seconds: float = 30.0
    response_timeout_seconds: float = 10.0
    reconnect_min_seconds: float = 0.5
    reconnect_max_seconds: float = 30.0
    window: int = 10
    tps: float = 100.0


LINK_ERRORS: Final = (
    OSError, asyncio.IncompleteReadError, wire.PduFramingError, BindRefused, TimeoutError
)


def _stale(item: tuple[SmscEvent, int, asyncio.StreamWriter | None],
           current: asyncio.StreamWriter | None) -> bool:
    event, _sequence, writer = item
    return isinstance(event, Delivered) and writer is not current


class SmppClient:
    def __init__(self, config: ClientConfig, on_events: EventHandler) -> None:
        self._config = config
        self._on_events = on_events
        self._instance = secrets.token_hex(6)
        # (event, deliver_sm sequence, the connection to answer on) in arrival order
        self._events: asyncio.Queue[tuple[SmscEvent, int, asyncio.StreamWriter | None]] = (
            asyncio.Queue()
        )
        self._sequence = itertools.count(1)
        self._pending: dict[int, tuple[SmppMessage, asyncio.Future[SmppMessage]]] = {}
        self._window = asyncio.Semaphore(config.window)
        self._pace = TokenBucket(config.tps)
        self._writer: asyncio.StreamWriter | None = None
        self._bound = asyncio.Event()
        self._stopped = asyncio.Event()
        self._link_alive = asyncio.Event()
        self.binds = 0

    @property
    def is_bound(self) -> bool:
        return self._bound.is_set()

    async def wait_bound(self) -> None:
        await self._bound.wait()

    async def run(self) -> None:
        """Stay bound until `stop()`; every failure is logged and followed by a backoff."""
        dispatcher = asyncio.create_task(self._dispatch_events())
        try:
            await self._stay_bound()
        finally:
            dispatcher.cancel()

    async def _stay_bound(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            binds = self.binds
            try:
                await self._session()
            except LINK_ERRORS as exc:
                if not self._stopped.is_set():
                    log.warning("SMPP link to %s:%s lost: %r",
                                self._config.host, self._config.port, exc)
            failures = 0 if self.binds > binds else failures + 1
            await self._pause(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        base = self._config.reconnect_min_seconds * (2.0 ** min(failures, 16))
        return min(base, self._config.reconnect_max_seconds) * random.uniform(0.5, 1.0)

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less when `stop()` is called meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def stop(self, timeout: float | None = None) -> None:
        """Unbind politely (waiting for unbind_resp at most the response timeout, or `timeout`
        when shorter) and close."""
        self._stopped.set()
        if self._writer is not None and self._bound.is_set():
            try:
                await asyncio.wait_for(self._request(Unbind()), timeout)
            except (SubmitFailed, TimeoutError) as exc:
                log.info("no unbind_resp (%r); closing anyway", exc)
        self._close()

    async def submit(self, message: SubmitSm) -> SmppMessage:
        """Send one submit_sm PDU; the SMSC's submit_sm_resp or generic_nack comes back."""
        await self._bound.wait()
        async with self._window:
            await self._pace.take()
            return await self._request(message)

    async def _request(self, message: SmppMessage) -> SmppMessage:
        writer = self._writer
        if writer is None:
            raise SubmitFailed("not connected")
        message.sequence_num = self._next_sequence()
        future: asyncio.Future[SmppMessage] = asyncio.get_running_loop().create_future()
        self._pending[message.sequence_num] = (message, future)
        try:
            writer.write(message.pdu())
            await writer.drain()
            return await asyncio.wait_for(future, self._config.response_timeout_seconds)
        except (TimeoutError, OSError) as exc:
            raise SubmitFailed(f"no response to {message.smpp_command.name}: {exc!r}") from exc
        finally:
            self._pending.pop(message.sequence_num, None)

    def _next_sequence(self) -> int:
        number = next(self._sequence)
        if number >= 0x7FFFFFFF:
            self._sequence = itertools.count(1)
        return number

    async def _session(self) -> None:
        config = self._config
        reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), config.response_timeout_seconds
        )
        try:
            if self._stopped.is_set():  # stop() came while connecting
                return
            await self._bind(reader)
            self.binds += 1
            self._bound.set()
            log.info("SMPP bound as transceiver to %s:%s (system_id %s)",
                     config.host, config.port, config.system_id)
            keeper = asyncio.create_task(self._keep_alive())
            try:
                await self._read_loop(reader)
            finally:
                keeper.cancel()
        finally:
            if self._bound.is_set():
                log.info("SMPP unbound from %s:%s", config.host, config.port)
            self._close()

    async def _bind(self, reader: asyncio.StreamReader) -> None:
        config = self._config
        bind = BindTransceiver(
            sequence_num=self._next_sequence(), system_id=config.system_id,
            password=config.password, system_type=config.system_type,
        )
        assert self._writer is not None
        self._writer.write(bind.pdu())
        await self._writer.drain()
        frame = await asyncio.wait_for(wire.read_pdu(reader), config.response_timeout_seconds)
        if frame.command != SmppCommand.BIND_TRANSCEIVER_RESP:
            raise BindRefused(f"unexpected {frame.name} to bind")
        if frame.status_code != SmppCommandStatus.ESME_ROK:
            raise BindRefused(f"bind refused: {wire.status_label(frame.status_code)}")

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while True:
            frame = await wire.read_pdu(reader)
            self._link_alive.set()
            if frame.is_response:
                self._resolve(frame)
            elif not await self._answer(frame):
                return

    def _resolve(self, frame: wire.Frame) -> None:
        request, future = self._pending.get(frame.sequence, (None, None))
        if future is None or future.done():
            log.warning("SMPP %s for unknown sequence %d ignored", frame.name, frame.sequence)
            return
        response = self._response(frame)
        if isinstance(request, SubmitSm) and isinstance(response, SubmitSmResp) and \
                response.command_status == SmppCommandStatus.ESME_ROK:
            # Queued before anything read after it, such as this part's receipt.
            self._events.put_nowait((Accepted(request, response), 0, None))
        future.set_result(response)

    def _response(self, frame: wire.Frame) -> SmppMessage:
        """The decoded response; one that cannot be read counts as a generic_nack (retried)."""
        if frame.status != frame.status_code:
            log.warning("SMPP %s (sequence %d) with status %s", frame.name, frame.sequence,
                        wire.status_label(frame.status_code))
        try:
            return wire.decode(frame)
        except wire.UndecodablePdu as exc:
            log.warning("unreadable %s (sequence %d) taken as generic_nack: %s",
                        frame.name, frame.sequence, exc)
            return GenericNack(frame.sequence, frame.status)

    async def _answer(self, frame: wire.Frame) -> bool:
        """Answer a request from the SMSC; False when the session must end (unbind)."""
        command, sequence = frame.command, frame.sequence
        if command == SmppCommand.DELIVER_SM:
            self._deliver(frame)
        elif command == SmppCommand.ENQUIRE_LINK:
            self._send(EnquireLinkResp(sequence))
        elif command == SmppCommand.UNBIND:
            self._send(UnbindResp(sequence))
            log.info("SMSC asked to unbind")
            return False
        elif command in UNANSWERED:
            log.info("SMSC sent %s; ignored", frame.name)
        else:
            log.warning("SMSC sent %s; answered generic_nack ESME_RINVCMDID", frame.name)
            self._send(GenericNack(sequence, SmppCommandStatus.ESME_RINVCMDID))
        return True

    def _deliver(self, frame: wire.Frame) -> None:
        try:
            message = wire.decode(frame)
        except wire.UndecodablePdu as exc:
            log.warning("deliver_sm from %s (sequence %d) answered %s: %s",
                        mask_number(wire.source_address(frame.data)), frame.sequence,
                        UNDECODABLE.name, exc)
            self._send(DeliverSmResp(frame.sequence, UNDECODABLE))
            return
        assert isinstance(message, DeliverSm)
        self._events.put_nowait((Delivered(message, frame.data), frame.sequence, self._writer))

    async def _dispatch_events(self) -> None:
        """Hand queued events to the handler in batches, then answer their deliver_sm."""
        while True:
            batch = [await self._events.get()]
            while len(batch) < MAX_BATCH and not self._events.empty():
                batch.append(self._events.get_nowait())
            # A deliver_sm from a closed connection is left unanswered and unstored: the SMSC
            # delivers it again, so storing it now would make it twice.
            batch = [item for item in batch if not _stale(item, self._writer)]
            if batch:
                statuses = await self._handle([event for event, _, _ in batch])
                for (event, sequence, writer), status in zip(batch, statuses, strict=True):
                    # On the connection it came on: a sequence number means nothing on another,
                    # and if that one closed meanwhile the SMSC sends it again anyway.
                    if isinstance(event, Delivered) and writer is not None and not writer.is_closing():
                        writer.write(DeliverSmResp(sequence, status).pdu())

    async def _handle(self, events: list[SmscEvent]) -> list[SmppCommandStatus]:
        """One status per event, always: HANDLER_FAILED for all when the handler fails."""
        try:
            statuses = await self._on_events(events, f"{self._instance}:{self.binds}")
        except Exception:  # answered, so the SMSC retries; never a dead dispatcher
            log.exception("event handler failed; deliver_sm answered %s", HANDLER_FAILED.name)
            return [HANDLER_FAILED] * len(events)
        if len(statuses) != len(events):  # no deliver_sm may be left unanswered
            log.error("event handler returned %d statuses for %d events; deliver_sm answered %s",
                      len(statuses), len(events), HANDLER_FAILED.name)
            return [HANDLER_FAILED] * len(events)
        return statuses

    def _send(self, message: SmppMessage) -> None:
        if self._writer is not None:
            self._writer.write(message.pdu())

    async def _keep_alive(self) -> None:
        while True:
            self._link_alive.clear()
            try:
                await asyncio.wait_for(self._link_alive.wait(), self._config.enquire_link_seconds)
                continue
            except TimeoutError:
                pass
            try:
                await self._request(EnquireLink())
            except SubmitFailed:
                log.warning("enquire_link unanswered; dropping the link")
                self._close(abort=True)
                return

    def _close(self, abort: bool = False) -> None:
        """Close the connection (`abort`: at once, unsent data discarded) and fail waiters."""
        self._bound.clear()
        writer, self._writer = self._writer, None
        if writer is not None and abort:
            writer.transport.abort()
        elif writer is not None:
            writer.close()
        for _request, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("SMPP link closed"))
        self._pending.clear()
