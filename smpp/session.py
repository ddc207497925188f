"""One SMPP bind, kept up: connect, bind, read loop, keep-alive, requests awaiting responses.

`SmppClient` runs one of these (transceiver) or two (receiver and transmitter); each
reconnects on its own with capped exponential backoff and jitter (starting over after each
successful bind) and keeps its own link alive with enquire_link. What a session reads for the
gateway goes, as an `Arrival`, onto the queue the client gives it, in the order read:

- each deliver_sm, with the connection it must be answered on (the client answers it after its
  handler returned); one that cannot be decoded is answered `UNDECODABLE` here at once, and one
  on a transmitter (where the SMSC must not send any) ESME_RINVBNDSTS;
- each accepted submit_sm, queued when its submit_sm_resp is read: before anything this bind
  reads after it (such as, on a transceiver, its receipt).

Responses are matched by sequence number in a dict (O(1) per PDU). A vendor-specific
command_status reads as ESME_RUNKNOWNERR (the real number is logged); a request with a command
id it does not handle gets generic_nack ESME_RINVCMDID. Only bytes that are not SMPP at all
(`wire.PduFramingError`) drop the link. Repeated misbehaviour is logged rate-limited
(`RateLimitedLog`, shared by the client's sessions), under the logger ``smpp.client``.

A receiving session that ends without an orderly unbind (from either side) and not because of
`stop` calls ``on_lost`` (the client records a `LinkLoss`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from aiosmpplib import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
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
)  # fmt: skip

from smpp import trace, wire
from smpp.errors import BindRefused, SubmitFailed
from smpp.events import Accepted, BindKind, ClientConfig, Delivered, SmscEvent
from smpp.logging_limits import RateLimitedLog
from smpp.masking import mask_number
from smpp.writes import CoalescingWriter

log = logging.getLogger("smpp.client")

# A deliver_sm we can never read: retrying the same bytes cannot help, so a permanent error.
UNDECODABLE: Final = SmppCommandStatus.ESME_RX_P_APPN
# Requests SMPP 3.4 defines no response for: logged and otherwise ignored.
UNANSWERED: Final = frozenset({SmppCommand.ALERT_NOTIFICATION, SmppCommand.OUTBIND})
LINK_ERRORS: Final = (
    OSError, asyncio.IncompleteReadError, wire.PduFramingError, BindRefused, TimeoutError
)
BIND_REQUESTS: Final[dict[BindKind, type[BindTransceiver]]] = {
    "transceiver": BindTransceiver, "receiver": BindReceiver, "transmitter": BindTransmitter,
}  # fmt: skip
BIND_RESPONSES: Final[dict[BindKind, SmppCommand]] = {
    "transceiver": SmppCommand.BIND_TRANSCEIVER_RESP,
    "receiver": SmppCommand.BIND_RECEIVER_RESP,
    "transmitter": SmppCommand.BIND_TRANSMITTER_RESP,
}


@dataclass(frozen=True, slots=True)
class Arrival:
    """An event as read: for a deliver_sm, its sequence and the connection to answer on."""

    event: SmscEvent
    sequence: int = 0
    writer: CoalescingWriter | None = None
    session: SmppSession | None = None

    @property
    def stale(self) -> bool:
        """A deliver_sm from a connection its session has closed since."""
        if not isinstance(self.event, Delivered):
            return False
        return self.session is None or self.writer is not self.session.writer


class SmppSession:
    def __init__(
        self, kind: BindKind, config: ClientConfig, arrivals: asyncio.Queue[Arrival],
        anomalies: RateLimitedLog, stopped: asyncio.Event,
        on_lost: Callable[[SmppSession], None],
    ) -> None:  # fmt: skip
        self.kind = kind
        self._config = config
        self._arrivals = arrivals
        self._anomalies = anomalies
        self._stopped = stopped
        self._on_lost = on_lost
        self._sequence = itertools.count(1)
        self._pending: dict[int, tuple[SmppMessage, asyncio.Future[SmppMessage]]] = {}
        self._writer: CoalescingWriter | None = None
        self._bound = asyncio.Event()
        self._heard_at = 0.0  # loop time of the last PDU read: the link is alive
        self.binds = 0  # successful binds so far

    @property
    def receives(self) -> bool:
        """True when the SMSC sends deliver_sm on this bind."""
        return self.kind != "transmitter"

    @property
    def writer(self) -> CoalescingWriter | None:
        """The current connection (None between connections)."""
        return self._writer

    @property
    def is_bound(self) -> bool:
        return self._bound.is_set()

    async def wait_bound(self) -> None:
        await self._bound.wait()

    # -- staying bound ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Stay bound until the client stops; every failure is logged and followed by a backoff."""
        failures = 0
        while not self._stopped.is_set():
            binds = self.binds
            try:
                await self._connection()
            except LINK_ERRORS as exc:
                if not self._stopped.is_set():
                    log.warning("SMPP %s link to %s:%s lost: %r",
                                self.kind, self._config.host, self._config.port, exc)
            failures = 0 if self.binds > binds else failures + 1
            await self._pause(self._backoff(failures))

    def _backoff(self, failures: int) -> float:
        base = self._config.reconnect_min_seconds * (2.0 ** min(failures, 16))
        return min(base, self._config.reconnect_max_seconds) * random.uniform(0.5, 1.0)

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds`, or less when the client stops meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def unbind(self, timeout: float | None = None) -> None:
        """Unbind politely (waiting for unbind_resp at most the response timeout, or `timeout`
        when shorter) and close. The client has set `stopped` first."""
        if self._writer is not None and self._bound.is_set():
            try:
                await asyncio.wait_for(self.request(Unbind()), timeout)
            except (SubmitFailed, TimeoutError) as exc:
                log.info("no unbind_resp on the %s bind (%r); closing anyway", self.kind, exc)
        self.close()

    async def _connection(self) -> None:
        config = self._config
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port), config.response_timeout_seconds
        )
        self._writer = CoalescingWriter(writer)
        try:
            if self._stopped.is_set():  # stop() came while connecting
                return
            await self._bind(reader)
            self.binds += 1
            self._bound.set()
            log.info("SMPP bound as %s to %s:%s (system_id %s)",
                     self.kind, config.host, config.port, config.system_id)
            await self._serve(reader)
        finally:
            if self._bound.is_set():
                log.info("SMPP %s unbound from %s:%s", self.kind, config.host, config.port)
            self.close()

    async def _serve(self, reader: asyncio.StreamReader) -> None:
        """Read until the SMSC unbinds (returns) or the link fails (raises, the loss reported)."""
        keeper = asyncio.create_task(self._keep_alive())
        try:
            await self._read_loop(reader)
        except Exception:
            if not self._stopped.is_set():
                self._on_lost(self)
            raise
        finally:
            keeper.cancel()

    async def _bind(self, reader: asyncio.StreamReader) -> None:
        config = self._config
        bind = BIND_REQUESTS[self.kind](
            sequence_num=self._next_sequence(), system_id=config.system_id,
            password=config.password, system_type=config.system_type,
        )
        assert self._writer is not None
        self._writer.write(trace.sent(bind.pdu()))
        await self._writer.drain()
        frame = trace.received(
            await asyncio.wait_for(wire.read_pdu(reader), config.response_timeout_seconds))
        if frame.command != BIND_RESPONSES[self.kind]:
            raise BindRefused(f"unexpected {frame.name} to bind")
        if frame.status_code != SmppCommandStatus.ESME_ROK:
            raise BindRefused(f"bind refused: {wire.status_label(frame.status_code)}")

    # -- requests --------------------------------------------------------------------------------

    async def request(self, message: SmppMessage) -> SmppMessage:
        """Send a request on this bind; its response (SubmitFailed when none comes)."""
        writer = self._writer
        if writer is None:
            raise SubmitFailed("not connected")
        message.sequence_num = self._next_sequence()
        future: asyncio.Future[SmppMessage] = asyncio.get_running_loop().create_future()
        self._pending[message.sequence_num] = (message, future)
        try:
            writer.write(trace.sent(message.pdu()))
            await writer.drain()
            async with asyncio.timeout(self._config.response_timeout_seconds):  # no task, as wait_for makes
                return await future
        except (TimeoutError, OSError) as exc:
            raise SubmitFailed(f"no response to {message.smpp_command.name}: {exc!r}") from exc
        finally:
            self._pending.pop(message.sequence_num, None)

    def _next_sequence(self) -> int:
        number = next(self._sequence)
        if number >= 0x7FFFFFFF:
            self._sequence = itertools.count(1)
        return number

    # -- reading ---------------------------------------------------------------------------------

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        while True:
            frame = trace.received(await wire.read_pdu(reader))
            self._heard_at = loop.time()
            if frame.is_response:
                self._resolve(frame)
            elif not self._answer(frame):
                return

    def _resolve(self, frame: wire.Frame) -> None:
        request, future = self._pending.get(frame.sequence, (None, None))
        if future is None or future.done():
            kind = ("generic_nack_unknown_sequence" if frame.command == SmppCommand.GENERIC_NACK
                    else "response_unknown_sequence")
            self._anomalies.warning(kind, "SMPP %s for unknown sequence %d ignored",
                                    frame.name, frame.sequence)
            return
        response = self._response(frame)
        if isinstance(request, SubmitSm) and isinstance(response, SubmitSmResp) and \
                response.command_status == SmppCommandStatus.ESME_ROK:
            # Queued before anything read after it, such as this part's receipt.
            self._arrivals.put_nowait(Arrival(Accepted(request, response)))
        future.set_result(response)

    def _response(self, frame: wire.Frame) -> SmppMessage:
        """The decoded response; one that cannot be read counts as a generic_nack (retried)."""
        if frame.status != frame.status_code:
            self._anomalies.warning(f"vendor_status_0x{frame.status_code:08x}",
                                    "SMPP %s (sequence %d) with status %s", frame.name,
                                    frame.sequence, wire.status_label(frame.status_code))
        try:
            return wire.decode(frame)
        except wire.UndecodablePdu as exc:
            self._anomalies.warning("unreadable_response",
                                    "unreadable %s (sequence %d) taken as generic_nack: %s",
                                    frame.name, frame.sequence, exc)
            return GenericNack(frame.sequence, frame.status)

    def _answer(self, frame: wire.Frame) -> bool:
        """Answer a request from the SMSC; False when the session must end (unbind)."""
        command, sequence = frame.command, frame.sequence
        if command == SmppCommand.DELIVER_SM:
            self._deliver(frame)
        elif command == SmppCommand.ENQUIRE_LINK:
            self.send(EnquireLinkResp(sequence))
        elif command == SmppCommand.UNBIND:
            self.send(UnbindResp(sequence))
            log.info("SMSC asked to unbind the %s bind", self.kind)
            return False
        elif command in UNANSWERED:
            log.info("SMSC sent %s; ignored", frame.name)
        else:
            self._anomalies.warning("unknown_command",
                                    "SMSC sent %s; answered generic_nack ESME_RINVCMDID", frame.name)
            self.send(GenericNack(sequence, SmppCommandStatus.ESME_RINVCMDID))
        return True

    def _deliver(self, frame: wire.Frame) -> None:
        if not self.receives:
            self._anomalies.warning("deliver_sm_on_transmitter",
                                    "SMSC sent deliver_sm on the transmitter bind; answered %s",
                                    SmppCommandStatus.ESME_RINVBNDSTS.name)
            self.send(DeliverSmResp(frame.sequence, SmppCommandStatus.ESME_RINVBNDSTS))
            return
        try:
            read = wire.check_deliver(frame.data)
        except wire.UndecodablePdu as exc:
            self._anomalies.warning("undecodable_deliver_sm",
                                    "deliver_sm from %s (sequence %d) answered %s: %s",
                                    mask_number(wire.source_address(frame.data)), frame.sequence,
                                    UNDECODABLE.name, exc)
            self.send(DeliverSmResp(frame.sequence, UNDECODABLE))
            return
        self._arrivals.put_nowait(Arrival(Delivered(frame.data, read), frame.sequence,
                                          self._writer, self))

    def send(self, message: SmppMessage) -> None:
        if self._writer is not None:
            self._writer.write(trace.sent(message.pdu()))

    # -- keep-alive and closing ------------------------------------------------------------------

    async def _keep_alive(self) -> None:
        """An enquire_link after `enquire_link_seconds` with nothing read. The read loop only
        notes the time of each PDU: a wake-up per PDU here would be a task and a timer each."""
        loop = asyncio.get_running_loop()
        interval = self._config.enquire_link_seconds
        self._heard_at = loop.time()
        while True:
            quiet = loop.time() - self._heard_at
            if quiet < interval:
                await asyncio.sleep(interval - quiet)
                continue
            try:
                await self.request(EnquireLink())
            except SubmitFailed:
                log.warning("enquire_link unanswered on the %s bind; dropping the link", self.kind)
                self.close(abort=True)
                return

    def close(self, abort: bool = False) -> None:
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
