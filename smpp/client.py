"""The gateway's ESME: one SMPP 3.4 session to the SMSC, kept bound for as long as it runs.

- binds (transceiver) with the configured credentials, reconnecting with capped exponential
  backoff and jitter;
- answers each deliver_sm with the status its `DeliverHandler` returns, only after the handler
  returned (so an MO is acknowledged after it is stored, or refused with ESME_RX_T_APPN);
- submits with a window (maximum outstanding submit_sm) and a TPS limit, one PDU at a time per
  call, returning the SMSC's response; responses are matched by sequence number in a dict, so
  correlation is O(1) per PDU;
- sends enquire_link when the link is idle and drops a link that stops answering.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiosmpplib import (
    BindTransceiver,
    DeliverSm,
    EnquireLink,
    GenericNack,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from aiosmpplib.state import PduHeader

from smpp import wire
from smpp.pacing import TokenBucket

log = logging.getLogger("smpp.client")

DeliverHandler = Callable[[DeliverSm], Awaitable[SmppCommandStatus]]
AcceptedHandler = Callable[[SubmitSm, SubmitSmResp], Awaitable[None]]


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


class SubmitFailed(Exception):
    """The submit_sm got no response (timeout or lost bind). Retryable."""


class BindRefused(Exception):
    """The SMSC answered the bind with an error status. Retryable after backoff."""


class SmppClient:
    def __init__(
        self, config: ClientConfig, on_deliver: DeliverHandler, on_accepted: AcceptedHandler
    ) -> None:
        self._config = config
        self._on_deliver = on_deliver
        self._on_accepted = on_accepted
        self._sequence = itertools.count(1)
        self._pending: dict[int, tuple[SmppMessage, asyncio.Future[SmppMessage]]] = {}
        self._window = asyncio.Semaphore(config.window)
        self._pace = TokenBucket(config.tps)
        self._writer: asyncio.StreamWriter | None = None
        self._bound = asyncio.Event()
        self._stopping = False
        self._link_alive = asyncio.Event()
        self.binds = 0

    @property
    def is_bound(self) -> bool:
        return self._bound.is_set()

    async def wait_bound(self) -> None:
        await self._bound.wait()

    async def run(self) -> None:
        """Stay bound until `stop()`; every failure is logged and followed by a backoff."""
        for attempt in itertools.count():
            if self._stopping:
                return
            try:
                await self._session()
                attempt = 0
            except (OSError, asyncio.IncompleteReadError, wire.PduFramingError, BindRefused,
                    TimeoutError) as exc:
                if self._stopping:
                    return
                log.warning("SMPP link to %s:%s lost: %s", self._config.host, self._config.port, exc)
            if not self._stopping:
                await asyncio.sleep(self._backoff(attempt))

    def _backoff(self, attempt: int) -> float:
        base = self._config.reconnect_min_seconds * (2 ** min(attempt, 16))
        return min(base, self._config.reconnect_max_seconds) * random.uniform(0.5, 1.0)

    async def stop(self) -> None:
        """Unbind politely (waiting briefly for unbind_resp) and close."""
        self._stopping = True
        if self._writer is not None and self._bound.is_set():
            try:
                await asyncio.wait_for(self._request(Unbind()), self._config.response_timeout_seconds)
            except (SubmitFailed, TimeoutError, OSError):
                pass
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
        except (TimeoutError, ConnectionError) as exc:
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
        pdu, header = await asyncio.wait_for(wire.read_pdu(reader), config.response_timeout_seconds)
        if header.smpp_command != SmppCommand.BIND_TRANSCEIVER_RESP:
            raise BindRefused(f"unexpected {header.smpp_command.name} to bind")
        if header.command_status != SmppCommandStatus.ESME_ROK:
            raise BindRefused(f"bind refused: {header.command_status.name}")

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        while True:
            pdu, header = await wire.read_pdu(reader)
            self._link_alive.set()
            if wire.is_request(header.smpp_command):
                if not await self._answer(pdu, header):
                    return
            else:
                await self._resolve(pdu, header)

    async def _resolve(self, pdu: bytes, header: PduHeader) -> None:
        request, future = self._pending.get(header.sequence_num, (None, None))
        if future is None or future.done():
            log.warning("SMPP %s for unknown sequence %d ignored",
                        header.smpp_command.name, header.sequence_num)
            return
        try:
            response = wire.decode(pdu, header)
        except (ValueError, KeyError):
            response = GenericNack(header.sequence_num, header.command_status)
        if isinstance(request, SubmitSm) and isinstance(response, SubmitSmResp) and \
                response.command_status == SmppCommandStatus.ESME_ROK:
            # Correlate before reading on: the receipt may be the very next PDU.
            await self._on_accepted(request, response)
        future.set_result(response)

    async def _answer(self, pdu: bytes, header: PduHeader) -> bool:
        """Handle a request from the SMSC; False when the session must end (unbind)."""
        command, status = header.smpp_command, SmppCommandStatus.ESME_ROK
        if command == SmppCommand.DELIVER_SM:
            status = await self._deliver(pdu, header)
        elif command not in (SmppCommand.ENQUIRE_LINK, SmppCommand.UNBIND):
            self._send(GenericNack(header.sequence_num, SmppCommandStatus.ESME_RINVCMDID))
            return True
        if status is not None:
            self._send(wire.response_class(command)(header.sequence_num, status))
        if command == SmppCommand.UNBIND:
            log.info("SMSC asked to unbind")
            return False
        return True

    async def _deliver(self, pdu: bytes, header: PduHeader) -> SmppCommandStatus:
        try:
            message = wire.decode(pdu, header)
        except (ValueError, KeyError, UnicodeDecodeError):
            log.warning("unparseable deliver_sm (sequence %d) refused", header.sequence_num)
            return SmppCommandStatus.ESME_RSYSERR
        assert isinstance(message, DeliverSm)
        return await self._on_deliver(message)

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
                self._close()
                return

    def _close(self) -> None:
        self._bound.clear()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        for _request, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("SMPP link closed"))
        self._pending.clear()
