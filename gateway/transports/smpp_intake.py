"""What the SMSC tells the gateway, stored in Redis before the SMSC gets its answer.

A batch of events (MO parts, USSD inputs, delivery receipts, accepted submit_sm parts) is
staged on one pipeline, in arrival order, and sent in one round trip. An MO part is appended
by a Lua script to its partition stream (complete messages) or to a hash per
sender+recipient+reference with a TTL (parts of a concatenated MO, UDH or SAR), where the
part that completes the message appends the whole text. A PDU the SMSC redelivers (its
deliver_sm_resp was lost) within the duplicate window on a later bind of the same process
is recognised by its fingerprint and acknowledged without being stored again (see
store_mo.lua for why "a later bind of the same process"). A USSD input (ussd_service_op
present) is read through the operator's dialect and stored with its dialogue's session
fields. When Redis cannot take an MO the SMSC is told ESME_RX_T_APPN, so it retries later.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from aiosmpplib import DeliverSm, SmppCommandStatus
from redis.asyncio import Redis

from flows.normalize import parse_msisdn
from gateway.errors import FOREIGN_RETRYABLE
from gateway.messages import InboundMessage, field_pairs, to_stream_fields
from gateway.store.keys import Keys
from gateway.store.receipts import ReceiptCorrelator
from gateway.store.scripts import ScriptArg, load_script, queue_script
from smpp import ussd, wire
from smpp.client import Accepted, Delivered, SmscEvent

log = logging.getLogger("gateway.transports.smpp_intake")

DUPLICATE = 2  # store_mo.lua's answer for a PDU already stored
_FIXED_ARGS = 6  # store_mo.lua's arguments before the field pairs
OK = SmppCommandStatus.ESME_ROK
TRY_LATER = SmppCommandStatus.ESME_RX_T_APPN
NEVER = SmppCommandStatus.ESME_RX_P_APPN  # the same bytes can never be taken


def _fingerprint(sender: str, deliver: DeliverSm) -> str:
    """What identifies one MO PDU across SMSC redeliveries: its sender, recipient, text and
    concatenation data (SMPP 3.4 gives an MO no id of its own)."""
    ref, part, total = wire.concatenation(deliver)
    text = deliver.short_message or deliver.message_payload
    raw = "\x1f".join((sender, deliver.destination.number, str(ref), str(part), str(total), text))
    return hashlib.blake2b(raw.encode("utf-8"), digest_size=12).hexdigest()


class MoIntake:
    def __init__(
        self, redis: Redis, keys: Keys, receipts: ReceiptCorrelator, parts_ttl_seconds: int,
        duplicate_window_seconds: int, dialect: ussd.UssdDialect = ussd.SMPP34,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._receipts = receipts
        self._parts_ttl = parts_ttl_seconds
        self._duplicate_window = duplicate_window_seconds
        self._dialect = dialect
        self._store = load_script(redis, "store_mo.lua")
        self.stored = 0
        self.duplicates = 0
        self.draining = False  # shutting down: MO is refused so the SMSC tries another bind

    async def on_events(self, events: list[SmscEvent], bind_id: str) -> list[SmppCommandStatus]:
        staged: list[str] = []  # what each pipeline command was, in order
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                staged.append(await self._stage(pipe, event, bind_id))
            try:
                results = await pipe.execute(raise_on_error=False) if len(pipe) else []
            except FOREIGN_RETRYABLE as exc:
                log.error("Redis unavailable, MO refused with ESME_RX_T_APPN: %s", type(exc).__name__)
                return [TRY_LATER] * len(events)
        return self._statuses(events, staged, iter(results))

    async def _stage(self, pipe: Any, event: SmscEvent, bind_id: str) -> str:
        if isinstance(event, Accepted):
            self._receipts.stage_remember(pipe, event)
            return "remember"
        deliver = event.deliver
        if deliver.is_receipt():
            self._receipts.stage_lookup(pipe, deliver)
            return "receipt"
        if self.draining:
            return "refused"
        sender = parse_msisdn(deliver.source.number)
        if sender is None:
            log.warning("MO from a non-mobile sender ignored")
            return "ignored"
        try:
            message = self._message(sender, event)
        except ValueError as exc:
            log.warning("USSD input refused: %s", exc)
            return "unreadable"
        # USSD inputs repeat legitimately ("1" on two screens): no redelivery check for them.
        window = self._duplicate_window if message.channel == "sms" else 0
        await queue_script(self._store, pipe, self._mo_keys(sender, deliver),
                           self._mo_args(message, deliver, window, bind_id))
        return "mo"

    def _message(self, sender: str, event: Delivered) -> InboundMessage:
        """The message this PDU carries (one part's text, for a concatenated SMS); ValueError
        when its USSD TLVs cannot be read."""
        deliver = event.deliver
        common = {"transport": "smpp", "sender": sender, "recipient": deliver.destination.number,
                  "text": deliver.short_message or deliver.message_payload, "received_at": time.time()}
        params = ussd.ussd_params(event.pdu)
        if params is None:
            return InboundMessage(channel="sms", **common)
        info = params.session_info.hex()
        return InboundMessage(
            channel="ussd", ussd_event=ussd.event_of(self._dialect, params.op),
            session_id=f"smpp:{sender}:{info}", session_info=info, **common,
        )

    def _mo_keys(self, sender: str, deliver: DeliverSm) -> list[str]:
        ref, _part, _total = wire.concatenation(deliver)
        partition = self._keys.partition_of(sender)
        recipient = deliver.destination.number
        return [self._keys.inbound(partition), self._keys.mo_parts(partition, sender, recipient, ref),
                self._keys.mo_seen(partition, _fingerprint(sender, deliver))]

    def _mo_args(
        self, message: InboundMessage, deliver: DeliverSm, window: int, bind_id: str
    ) -> list[ScriptArg]:
        """store_mo.lua's arguments: the part's place, then the entry as field pairs."""
        _ref, part, total = wire.concatenation(deliver)
        fields = field_pairs(to_stream_fields(message))
        text_at = _FIXED_ARGS + fields.index("text") + 2  # Lua counts from 1: the value after "text"
        return [max(total, 1), part, self._parts_ttl, window, bind_id, text_at, *fields]

    def _statuses(self, events: list[SmscEvent], staged: list[str], results: Any) -> list[SmppCommandStatus]:
        statuses = []
        for event, kind in zip(events, staged, strict=True):
            if kind in ("refused", "unreadable", "ignored"):
                statuses.append({"refused": TRY_LATER, "unreadable": NEVER, "ignored": OK}[kind])
                continue
            result = next(results)
            failed = isinstance(result, Exception)
            if failed:
                log.error("Redis refused a %s: %s", kind, type(result).__name__)
            elif kind == "receipt":
                assert isinstance(event, Delivered)
                self._receipts.finish_lookup(event.deliver, result)
            elif kind == "mo" and result == DUPLICATE:
                self.duplicates += 1
                log.info("redelivered MO part ignored (already stored)")
            elif kind == "mo":
                self.stored += 1
            statuses.append(TRY_LATER if failed and kind in ("mo", "receipt") else OK)
        return statuses
