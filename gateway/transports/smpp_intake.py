"""What the SMSC tells the gateway, stored in Redis before the SMSC gets its answer.

A batch of events (MO parts, USSD inputs, delivery receipts, accepted submit_sm parts) is
staged on one pipeline, in arrival order, and sent in one round trip. Each event is read from
its raw octets (`smpp.deliver`), and each gets its own answer: one that cannot be read never
changes another's answer nor loses another's data.

- An MO part becomes an `InboundMessage` whose text is still its octets (`user_data`, hex, with
  the codec to read them); `store_mo.lua` appends a whole message to its partition stream, or
  keeps a part in a hash per sender + recipient + reference + total (with a TTL; parts that never
  complete are swept and counted) until the part that completes it appends the reassembled
  octets. The text is decoded once, whole, when the worker reads the entry, so a UCS-2 surrogate
  pair split across parts reads right.
- A PDU the SMSC redelivers because our deliver_sm_resp was lost is recognised only where that
  can have happened: it was stored on a bind that was then lost (not unbound), at most
  `mo_redelivery_grace_seconds` before the loss. A citizen sending the same text again is
  always answered.
- A USSD input (ussd_service_op present) is read through the operator's dialect.
- A receipt is read by our tolerant parser (`smpp.receipts`) and correlated; one that cannot be
  read or matched is still answered ESME_ROK (retrying the same bytes cannot help), counted and
  logged rate-limited (smpp/logging_limits.py: one line per kind a minute, then a summary).

When Redis cannot take the batch the SMSC is told ESME_RX_T_APPN, so it retries later.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from aiosmpplib import SmppCommandStatus
from redis.exceptions import NoScriptError

from flows.normalize import parse_msisdn
from gateway.errors import FOREIGN_RETRYABLE
from gateway.messages import InboundMessage, field_pairs, to_part_stream_fields
from gateway.observability.metrics import GatewayMetrics
from gateway.store.keys import Keys
from gateway.store.receipts import ReceiptCorrelator
from gateway.store.scripts import ScriptArg, load_script
from smpp import ussd, wire
from smpp.client import Accepted, SmscEvent
from smpp.deliver import DefaultCoding, DeliverPdu, codec_name, read_deliver
from smpp.logging_limits import RateLimitedLog
from smpp.receipts import Receipt, parse_receipt

log = logging.getLogger("gateway.transports.smpp_intake")

DUPLICATE: Final = 2  # store_mo.lua's answer for a PDU already stored
COMPLETE: Final = 1  # store_mo.lua's answer for a part that completed its message (or a whole one)
_FIXED_ARGS: Final = 10  # store_mo.lua's arguments before the field pairs
OK: Final = SmppCommandStatus.ESME_ROK
TRY_LATER: Final = SmppCommandStatus.ESME_RX_T_APPN
NEVER: Final = SmppCommandStatus.ESME_RX_P_APPN  # the same bytes can never be taken


@dataclass(frozen=True, slots=True)
class IntakeConfig:
    parts_ttl_seconds: int = 120
    duplicate_window_seconds: int = 60
    redelivery_grace_seconds: float = 5.0
    mo_default_coding: DefaultCoding = "gsm0338"
    dialect: ussd.UssdDialect = ussd.SMPP34


# The last receiving bind lost without an unbind, and when (wall clock): (bind id, lost at).
LastLinkLoss = Callable[[], tuple[str, float] | None]


@dataclass(slots=True)
class _Staged:
    """One event's part of the pipeline: its kind, how many commands it queued, and the answer
    it gets when it needs no Redis result (or when they fail)."""

    kind: str
    commands: int = 0
    status: SmppCommandStatus = OK
    receipt: Receipt | None = None
    script_call: tuple[list[str], list[ScriptArg]] | None = None  # an MO's store_mo.lua call
    channel: str = "sms"
    later: list[Any] = field(default_factory=list)  # a receipt's results of `stage_rest`


def _fingerprint(sender: str, pdu: DeliverPdu) -> str:
    """What identifies one MO PDU across SMSC redeliveries: its sender, recipient, octets and
    concatenation data (SMPP 3.4 gives an MO no id of its own)."""
    concat = pdu.concat
    parts = (sender, pdu.destination, str(pdu.data_coding), pdu.user_data.hex(),
             *(str(n) for n in (concat or (0, 0, 0))))
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=12).hexdigest()


class MoIntake:
    def __init__(
        self, redis: Any, keys: Keys, receipts: ReceiptCorrelator, config: IntakeConfig,
        last_link_loss: LastLinkLoss = lambda: None, metrics: GatewayMetrics | None = None,
    ) -> None:
        self._metrics = metrics or GatewayMetrics()
        self._redis = redis
        self._keys = keys
        self._receipts = receipts
        self._config = config
        self.last_link_loss = last_link_loss
        self._store = load_script(redis, "store_mo.lua")
        self.stored = 0
        self.duplicates = 0
        self._anomalies = RateLimitedLog(log)
        self.draining = False  # shutting down: MO is refused so the SMSC tries another bind

    async def on_events(self, events: list[SmscEvent], bind_id: str) -> list[SmppCommandStatus]:
        loss = self.last_link_loss()
        async with self._redis.pipeline(transaction=False) as pipe:
            staged = [await self._stage_safely(pipe, event, bind_id, loss) for event in events]
            try:
                results = await pipe.execute(raise_on_error=False) if len(pipe) else []
                await self._again_if_unloaded(staged, results)
            except FOREIGN_RETRYABLE as exc:
                log.error("Redis unavailable, MO refused with ESME_RX_T_APPN: %s", type(exc).__name__)
                self._metrics.mo_not_taken("store_unavailable", sum(item.kind == "mo" for item in staged))
                return [TRY_LATER] * len(events)
        await self._look_further(staged, results)
        answers, at = [], 0
        for item in staged:
            answers.append(self._answer(item, results[at : at + item.commands] + item.later))
            at += item.commands
        return answers

    async def _look_further(self, staged: list[_Staged], results: list[Any]) -> None:
        """Receipts not found in the renderings looked up first (`ReceiptCorrelator.stage_rest`):
        the others, in one more round trip. If Redis fails it, they count as unknown."""
        missed, at = [], 0
        for item in staged:
            if item.kind == "receipt" and item.commands and \
                    all(result is None for result in results[at : at + item.commands]):
                missed.append(item)
            at += item.commands
        if not missed:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            counts = []
            for item in missed:
                before = len(pipe)
                assert item.receipt is not None
                self._receipts.stage_rest(pipe, item.receipt.message_id, item.commands)
                counts.append(len(pipe) - before)
            if not len(pipe):
                return
            try:
                later = await pipe.execute(raise_on_error=False)
            except FOREIGN_RETRYABLE as exc:
                log.error("Redis unavailable, receipts left unmatched: %s", type(exc).__name__)
                return
        at = 0
        for item, count in zip(missed, counts, strict=True):
            item.later, at = later[at : at + count], at + count

    async def _again_if_unloaded(self, staged: list[_Staged], results: list[Any]) -> None:
        """store_mo.lua goes as a bare EVALSHA; a Redis that lost its scripts (restarted)
        answers NOSCRIPT: those MOs are stored again, one by one, the script loaded first."""
        self._store.forget(results)
        at = 0
        for item in staged:
            if item.script_call is not None and isinstance(results[at], NoScriptError):
                keys, args = item.script_call
                results[at] = await self._store(keys, args)
            at += item.commands

    # -- staging --------------------------------------------------------------------------------

    async def _stage_safely(
        self, pipe: Any, event: SmscEvent, bind_id: str, loss: tuple[str, float] | None
    ) -> _Staged:
        before = len(pipe)
        try:
            staged = await self._stage(pipe, event, bind_id, loss)
        except Exception as exc:  # this PDU's own problem: it gets its own answer
            # Every stage queues its commands last, after all that can fail: none is half-queued.
            kind = "receipt_unreadable" if _looks_like_receipt(event) else "mo_unreadable"
            self._anomaly(kind, f"{type(exc).__name__}: {exc}")
            if kind == "receipt_unreadable":
                self._metrics.receipt("unreadable")
                return _Staged(kind, status=OK)
            self._metrics.mo_not_taken("unreadable")
            return _Staged(kind, status=NEVER)
        staged.commands = len(pipe) - before
        return staged

    async def _stage(
        self, pipe: Any, event: SmscEvent, bind_id: str, loss: tuple[str, float] | None
    ) -> _Staged:
        if isinstance(event, Accepted):
            self._receipts.stage_remember(pipe, event)
            return _Staged("remember")
        pdu = read_deliver(event.pdu, event.read)
        if pdu.is_receipt:
            receipt = parse_receipt(_receipt_text(pdu), pdu.tlvs)
            self._receipts.stage_lookup(pipe, receipt.message_id)
            return _Staged("receipt", receipt=receipt)
        if self.draining:
            self._metrics.mo_not_taken("draining")
            return _Staged("refused", status=TRY_LATER)
        sender = parse_msisdn(pdu.source)
        if sender is None:
            self._anomaly("mo_not_mobile", "MO from a non-mobile sender ignored")
            self._metrics.mo_not_taken("not_mobile")
            return _Staged("ignored")
        message, codec = self._message(sender, pdu)
        args = self._mo_args(message, pdu, codec, bind_id, loss)
        keys = self._mo_keys(sender, pdu)
        await self._store.queue_loaded(pipe, keys, args)
        return _Staged("mo", status=TRY_LATER, script_call=(keys, args), channel=message.channel)

    def _message(self, sender: str, pdu: DeliverPdu) -> tuple[InboundMessage, str]:
        """The message this PDU carries, its text not decoded yet, and the codec to read it
        with; ValueError when its data_coding or USSD TLVs cannot be read."""
        codec = codec_name(pdu.data_coding, self._config.mo_default_coding)
        common: dict[str, Any] = {"transport": "smpp", "sender": sender, "recipient": pdu.destination,
                                  "text": "", "received_at": time.time()}
        params = ussd.ussd_params_in(pdu.tlvs)  # the TLVs read once, with the envelope
        if params is None:
            return InboundMessage(channel="sms", **common), codec
        info = params.session_info.hex()
        message = InboundMessage(
            channel="ussd", ussd_event=ussd.event_of(self._config.dialect, params.op),
            session_id=f"smpp:{sender}:{info}", session_info=info, **common,
        )
        return message, codec

    def _mo_keys(self, sender: str, pdu: DeliverPdu) -> list[str]:
        partition = self._keys.partition_of(sender)
        ref, total = (pdu.concat.ref, pdu.concat.total) if pdu.concat else (0, 1)
        return [self._keys.inbound(partition),
                self._keys.mo_parts(partition, sender, pdu.destination, ref, total),
                self._keys.mo_seen(partition, _fingerprint(sender, pdu)),
                self._keys.mo_parts_pending(partition)]

    def _mo_args(
        self, message: InboundMessage, pdu: DeliverPdu, codec: str, bind_id: str,
        loss: tuple[str, float] | None,
    ) -> list[ScriptArg]:
        """store_mo.lua's arguments: the part's place, the redelivery check, then the entry as
        field pairs (the octets in `user_data`)."""
        total, seq = (pdu.concat.total, pdu.concat.seq) if pdu.concat else (1, 1)
        # USSD inputs repeat legitimately ("1" on two screens): no redelivery check for them.
        window = self._config.duplicate_window_seconds if message.channel == "sms" else 0
        fields = field_pairs(to_part_stream_fields(message, pdu.user_data, codec))
        user_data_at = _FIXED_ARGS + fields.index("user_data") + 2  # Lua counts from 1
        lost_bind, lost_at = loss if loss is not None else ("", 0.0)
        return [total, seq, self._config.parts_ttl_seconds, window, bind_id, user_data_at,
                f"{time.time():.3f}", lost_bind, f"{lost_at:.3f}",
                self._config.redelivery_grace_seconds, *fields]

    # -- answers --------------------------------------------------------------------------------

    def _answer(self, item: _Staged, results: list[Any]) -> SmppCommandStatus:
        failed = [result for result in results if isinstance(result, Exception)]
        if failed:
            log.error("Redis refused a %s: %s", item.kind, type(failed[0]).__name__)
            if item.kind == "mo":
                self._metrics.mo_not_taken("store_unavailable")
            return TRY_LATER if item.kind == "mo" else OK
        if item.kind == "receipt" and item.receipt is not None:
            self._metrics.receipt(item.receipt.state)
            if self._receipts.finish_lookup(item.receipt, results) is None:
                self._anomaly("receipt_unknown_id", f"receipt {item.receipt.state} for an unknown id")
        elif item.kind == "mo" and results and results[0] == DUPLICATE:
            self.duplicates += 1
            self._metrics.mo_not_taken("duplicate")
            log.info("redelivered MO part ignored (already stored before the link was lost)")
            return OK
        elif item.kind == "mo":
            self.stored += 1
            if results and results[0] == COMPLETE:
                self._metrics.mo_stored(item.channel, "smpp")
            return OK
        return item.status

    @property
    def anomalies(self) -> Counter[str]:
        """SMSC misbehaviour by kind, every occurrence (logged at most once a minute per kind)."""
        return self._anomalies.counts

    def _anomaly(self, kind: str, detail: str) -> None:
        self._anomalies.warning(kind, "SMSC %s: %s", kind.replace("_", " "), detail)


def _receipt_text(pdu: DeliverPdu) -> str:
    """Receipt texts are ASCII by every SMSC's convention; anything else is read as Latin-1."""
    return pdu.user_data.decode("latin-1")


def _looks_like_receipt(event: SmscEvent) -> bool:
    if isinstance(event, Accepted):
        return False
    try:
        return read_deliver(event.pdu).is_receipt
    except ValueError:  # its UDH, say: the envelope may still say what it is
        pass
    try:
        return bool(event.pdu[wire.layout(event.pdu).esm_class] & 0x3C)
    except ValueError:
        return False

