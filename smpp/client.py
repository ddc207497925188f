"""The gateway's ESME: SMPP 3.4 binds to the SMSC, kept up for as long as it runs.

``bind_mode`` (`ClientConfig`) says which: ``transceiver``, one bind for everything, or
``receiver_transmitter``, a bind_receiver (deliver_sm: MO, receipts, USSD input) beside a
bind_transmitter (submit_sm). Each bind is an `SmppSession` (`smpp.session`): it reconnects
on its own with capped exponential backoff and jitter, and keeps its own link alive with
enquire_link; the client is bound (`is_bound`) when all of them are, and `unbound` names those
that are not.

- It hands what the SMSC tells it (each deliver_sm, and each accepted submit_sm) to its
  `EventHandler` in arrival order, in batches: the read loops never wait on storage, and the
  handler can store a whole batch in one round trip. Each deliver_sm is answered, on the
  connection it came on, with the status the handler returns for it, only after the handler
  returned (so an MO is acknowledged after it is stored, or refused with ESME_RX_T_APPN); a
  deliver_sm that cannot be decoded is answered `UNDECODABLE`, and every deliver_sm of a batch
  `HANDLER_FAILED` when the handler fails or returns a status count that does not match, so
  none takes the link down or is left unanswered.
- An accepted submit_sm is queued when its submit_sm_resp is read, so before the receipt that
  may follow it and its correlation is always stored first. On a transceiver that is certain
  (one connection, read in order). With two binds the `Accepted` comes from the transmitter's
  read loop and the receipt from the receiver's, onto the same queue: an SMSC sends the receipt
  only after it answered the submit_sm, and after the handset acknowledged the message, so in
  practice the submit_sm_resp has long been read; the binds give no stronger ordering than that.
- It submits on the transmitting bind with a window (maximum outstanding submit_sm) and a TPS
  limit, one PDU at a time per call, returning the SMSC's response.
- ``link_losses`` keeps the last 16 receiving binds that ended without an orderly unbind
  (`LinkLoss`); ``anomalies`` counts SMSC misbehaviour by kind (logged rate-limited).

Errors: `SubmitFailed` (a request got no response) and `BindRefused`, both retryable; the
tree of every SMPP error is drawn in `smpp.errors`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import secrets
import time
from typing import Final

from aiosmpplib import SmppCommandStatus, SmppMessage, SubmitSm

from smpp import trace, wire
from smpp.errors import BindRefused as BindRefused  # re-exported
from smpp.errors import SubmitFailed as SubmitFailed  # re-exported
from smpp.events import Accepted as Accepted  # re-exported
from smpp.events import BindKind
from smpp.events import ClientConfig as ClientConfig  # re-exported
from smpp.events import Delivered as Delivered  # re-exported
from smpp.events import EventHandler as EventHandler  # re-exported
from smpp.events import LinkLoss as LinkLoss  # re-exported
from smpp.events import SmscEvent as SmscEvent  # re-exported
from smpp.logging_limits import RateLimitedLog
from smpp.pacing import TokenBucket
from smpp.session import LINK_ERRORS as LINK_ERRORS  # re-exported
from smpp.session import UNANSWERED as UNANSWERED  # re-exported
from smpp.session import UNDECODABLE as UNDECODABLE  # re-exported
from smpp.session import Arrival, SmppSession

log = logging.getLogger("smpp.client")

MAX_BATCH: Final = 256
# The deliver handler raised: the MO was not stored, the SMSC should try again later.
HANDLER_FAILED: Final = SmppCommandStatus.ESME_RX_T_APPN
LINK_LOSS_HISTORY: Final = 16
BINDS_OF_MODE: Final[dict[str, tuple[BindKind, ...]]] = {
    "transceiver": ("transceiver",),
    "receiver_transmitter": ("receiver", "transmitter"),
}


class SmppClient:
    def __init__(self, config: ClientConfig, on_events: EventHandler) -> None:
        self._config = config
        self._on_events = on_events
        self._instance = secrets.token_hex(6)
        self._arrivals: asyncio.Queue[Arrival] = asyncio.Queue()  # in arrival order
        self._stopped = asyncio.Event()
        self._limits = RateLimitedLog(log, config.anomaly_log_seconds)
        self._window = asyncio.Semaphore(config.window)
        self._pace = TokenBucket(config.tps)
        self._sessions = [
            SmppSession(kind, config, self._arrivals, self._limits, self._stopped, self._lost)
            for kind in BINDS_OF_MODE[config.bind_mode]
        ]
        self._receiver = next(s for s in self._sessions if s.receives)
        self._transmitter = next(s for s in self._sessions if s.kind != "receiver")
        # SMSC misbehaviour by kind (generic_nack_unknown_sequence, undecodable_deliver_sm, ...)
        self.anomalies: collections.Counter[str] = self._limits.counts
        # Receiving binds that ended without an orderly unbind (not by stop()), oldest first.
        self.link_losses: collections.deque[LinkLoss] = collections.deque(maxlen=LINK_LOSS_HISTORY)

    @property
    def instance(self) -> str:
        """This client's token: what precedes the colon in every bind id it hands out."""
        return self._instance

    @property
    def binds(self) -> int:
        """Successful binds of the receiving session (transceiver or receiver) so far."""
        return self._receiver.binds

    @property
    def transmitter_binds(self) -> int:
        """Successful binds of the session that submits (the transceiver in that mode)."""
        return self._transmitter.binds

    @property
    def is_bound(self) -> bool:
        return all(session.is_bound for session in self._sessions)

    @property
    def can_submit(self) -> bool:
        """The bind that submits is up (the receiver may be down meanwhile)."""
        return self._transmitter.is_bound

    @property
    def unbound(self) -> list[BindKind]:
        """The binds that are down right now, e.g. ["receiver"]; [] when bound."""
        return [session.kind for session in self._sessions if not session.is_bound]

    async def wait_can_submit(self) -> None:
        """Until the bind that submits is up."""
        await self._transmitter.wait_bound()

    async def wait_bound(self) -> None:
        """Until every bind is up at once."""
        while not self.is_bound:
            for session in self._sessions:
                await session.wait_bound()

    async def run(self) -> None:
        """Stay bound until `stop()`; every failure is logged and followed by a backoff."""
        dispatcher = asyncio.create_task(self._dispatch_events())
        sessions = [asyncio.create_task(s.run(), name=f"smpp-{s.kind}") for s in self._sessions]
        try:
            await asyncio.gather(*sessions)
        finally:
            for task in sessions:
                task.cancel()
            dispatcher.cancel()
            self._limits.flush()

    async def stop(self, timeout: float | None = None) -> None:
        """Unbind politely (waiting for unbind_resp at most the response timeout, or `timeout`
        when shorter), every bind at once, and close."""
        self._stopped.set()
        await asyncio.gather(*(session.unbind(timeout) for session in self._sessions))
        self._limits.flush()

    async def submit(self, message: SubmitSm) -> SmppMessage:
        """Send one submit_sm PDU; the SMSC's submit_sm_resp or generic_nack comes back."""
        await self._transmitter.wait_bound()
        async with self._window:
            await self._pace.take()
            return await self._transmitter.request(message)

    def _lost(self, session: SmppSession) -> None:
        if session.receives:
            bind_id = f"{self._instance}:{session.binds}"
            self.link_losses.append(LinkLoss(bind_id, time.time()))

    async def _dispatch_events(self) -> None:
        """Hand queued events to the handler in batches, then answer their deliver_sm."""
        while True:
            batch = [await self._arrivals.get()]
            while len(batch) < MAX_BATCH and not self._arrivals.empty():
                batch.append(self._arrivals.get_nowait())
            # A deliver_sm from a closed connection is left unanswered and unstored: the SMSC
            # delivers it again, so storing it now would make it twice.
            batch = [arrival for arrival in batch if not arrival.stale]
            if batch:
                statuses = await self._handle([arrival.event for arrival in batch])
                for arrival, status in zip(batch, statuses, strict=True):
                    _answer(arrival, status)

    async def _handle(self, events: list[SmscEvent]) -> list[SmppCommandStatus]:
        """One status per event, always: HANDLER_FAILED for all when the handler fails."""
        try:
            statuses = await self._on_events(events, f"{self._instance}:{self._receiver.binds}")
        except Exception:  # answered, so the SMSC retries; never a dead dispatcher
            log.exception("event handler failed; deliver_sm answered %s", HANDLER_FAILED.name)
            return [HANDLER_FAILED] * len(events)
        if len(statuses) != len(events):  # no deliver_sm may be left unanswered
            log.error("event handler returned %d statuses for %d events; deliver_sm answered %s",
                      len(statuses), len(events), HANDLER_FAILED.name)
            return [HANDLER_FAILED] * len(events)
        return statuses


def _answer(arrival: Arrival, status: SmppCommandStatus) -> None:
    """On the connection it came on: a sequence number means nothing on another, and if that
    one closed meanwhile the SMSC sends it again anyway."""
    writer = arrival.writer
    if isinstance(arrival.event, Delivered) and writer is not None and not writer.is_closing():
        writer.write(trace.sent(wire.deliver_sm_resp(arrival.sequence, status)))
