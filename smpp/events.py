"""What the ESME tells the gateway, and how it is configured: the types `smpp.client` exports.

- `Delivered` (a deliver_sm: an MO or a receipt) and `Accepted` (an accepted submit_sm part)
  are the `SmscEvent`s handed, in batches and in arrival order, to an `EventHandler`;
- `LinkLoss` is one receiving bind that ended without an orderly unbind
  (`SmppClient.link_losses`);
- `ClientConfig` is the client's configuration (`gateway.app.client_config` builds it from
  Settings); `BindMode` and `MoDefaultCoding` are the literal types its settings share.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from aiosmpplib import DeliverSm, SmppCommandStatus, SubmitSm, SubmitSmResp

from smpp import wire

# transceiver: one bind for everything; receiver_transmitter: bind_receiver for deliver_sm
# (MO, receipts, USSD input) beside bind_transmitter for submit_sm.
BindMode = Literal["transceiver", "receiver_transmitter"]
# One SMPP bind as this client opens it.
BindKind = Literal["transceiver", "receiver", "transmitter"]
# How an MO with data_coding 0 (the SMSC default alphabet) is read: GSM 03.38 (unpacked, one
# septet per octet), ISO-8859-1 or US-ASCII, as the SMSC's documentation says its default is.
MoDefaultCoding = Literal["gsm0338", "latin1", "ascii"]
# data_coding of a submit_sm whose text fits GSM 03.38: 0 the SMSC default alphabet (sent as
# GSM 03.38), 1 IA5/ASCII (only for text whose characters are all in both alphabets).
GSM_DATA_CODINGS: Final = (0, 1)


@dataclass(frozen=True, slots=True)
class Accepted:
    """The SMSC accepted a submit_sm part (its receipt may follow)."""

    submit: SubmitSm
    response: SubmitSmResp


@dataclass(frozen=True, slots=True)
class Delivered:
    """A deliver_sm (an MO or a receipt) as its raw PDU, which the gateway reads itself
    (smpp/deliver.py); the session answered it UNDECODABLE unless `smpp.wire.check_deliver`
    passed."""

    pdu: bytes
    # Its layout and TLVs as the session's check read them (for `smpp.deliver.read_deliver`).
    read: tuple[wire.SmLayout, dict[int, bytes]] | None = field(default=None, compare=False, repr=False)

    @property
    def deliver(self) -> DeliverSm:
        """As aiosmpplib reads it, decoded on each call (no hot path asks for it);
        UndecodablePdu for what only the gateway's reader takes."""
        message: DeliverSm = wire.decode(wire.Frame.parse(self.pdu))
        return message


SmscEvent = Delivered | Accepted
# One status per event, in order; the statuses of `Accepted` events are not used. The second
# argument names the bind the deliver_sm came on (unique across processes and reconnects):
# '<client instance>:<bind number>', so binds of one process share what precedes the colon;
# the number counts the client's receiving binds (transceiver or receiver) from 1.
EventHandler = Callable[[list[SmscEvent], str], Awaitable[list[SmppCommandStatus]]]


@dataclass(frozen=True, slots=True)
class LinkLoss:
    """A receiving bind ended without an orderly unbind (reset, EOF, enquire_link timeout,
    framing error): deliver_sm it had not answered will come again, on another bind."""

    bind_id: str  # as the EventHandler was given it for that bind's deliver_sm
    lost_at: float  # wall clock, time.time()


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
    bind_mode: BindMode = "transceiver"
    # Not used by the client itself: for whoever decodes MO text (the intake, `smpp.wire`).
    mo_default_coding: MoDefaultCoding = "gsm0338"
    # Repeated SMSC misbehaviour of one kind is logged once per this many seconds.
    anomaly_log_seconds: float = 60.0
