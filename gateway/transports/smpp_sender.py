"""The outbound sender of one partition: queued replies -> submit_sm, retried, never dropped.

Each reply is sent part by part; a part is re-sent with backoff while the SMSC throttles it
(ESME_RTHROTTLED, ESME_RMSGQFUL), answers a temporary error or does not answer, so throttling
counts per PDU. Only when every part is accepted is the reply acknowledged; the SMPP client
remembers each accepted part's SMSC message id for its delivery receipt. A permanent rejection
moves it to the dead letters.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping

from aiosmpplib import GenericNack, SmppMessage, SubmitSm
from redis.asyncio import Redis

from flows.normalize import mask_msisdn
from gateway.errors import MessageRejected
from gateway.messages import Lane, OutboundMessage
from gateway.observability.metrics import GatewayMetrics
from gateway.sealing import Sealer
from gateway.stopping import Stopping
from gateway.store.dead_letters import DeadLetters
from gateway.store.keys import OUTBOUND_GROUP, Keys
from gateway.store.scripts import load_script
from gateway.store.streams import Entry, Handoff, consume, retrying, set_within
from gateway.transports.ussd_screens import ScreenSender
from smpp.client import SmppClient, SubmitFailed
from smpp.pacing import TokenBucket
from smpp.segmentation import segment_count
from smpp.status import Outcome, classify
from smpp.submit import Addressing, build_parts

log = logging.getLogger("gateway.transports.smpp_sender")

RETRY_MIN_SECONDS = 0.05
RETRY_MAX_SECONDS = 10.0


class ReplySender:
    def __init__(
        self, redis: Redis, keys: Keys, client: SmppClient, addressing: Addressing,
        screens: ScreenSender, sealer: Sealer, dead_letters: DeadLetters | None = None,
        sessionless_segments_per_second: float = 20.0, metrics: GatewayMetrics | None = None,
    ) -> None:
        self._metrics = metrics or GatewayMetrics()
        # One ceiling for the whole process, shared by every partition's sessionless lane.
        self._sessionless = TokenBucket(sessionless_segments_per_second,
                                        burst=max(1.0, sessionless_segments_per_second))
        self._sealer = sealer
        self._dead_letters = dead_letters or DeadLetters(keys)
        self._redis = redis
        self._ack = load_script(redis, "ack_entry.lua")
        self._keys = keys
        self._client = client
        self._addressing = addressing
        self._screens = screens
        self._refs = itertools.count()
        self._throttle = ThrottleGate()
        # Per partition held, what its worker tells its lanes (`wake`, `hand`, `reread`).
        self._handoffs: dict[int, dict[Lane, Handoff]] = {}
        self.sent = 0
        self.throttled = 0

    async def run(self, partition: int, stopping: Stopping) -> None:
        """Both lanes of the partition, each in its own order: the sessionless lane's sends
        wait for the ceiling's tokens, so they never crowd the TPS queue ahead of a dialog."""
        dialogs, sessionless = self._keys.outbound_lanes(partition)
        # Only this partition's holder (this process) queues its replies, so the lanes wait
        # for its worker's word, not in a blocking read of their own (streams.consume).
        handoffs = self._handoffs[partition] = {"dialog": Handoff(), "sessionless": Handoff()}

        async def first(entry: Entry) -> None:
            await self._deliver(dialogs, entry, stopping)

        async def ceiled(entry: Entry) -> None:
            await self._deliver(sessionless, entry, stopping, ceiling=True)

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(consume(self._redis, dialogs, OUTBOUND_GROUP, first, _recipient,
                                          stopping, handoff=handoffs["dialog"]))
                group.create_task(consume(self._redis, sessionless, OUTBOUND_GROUP, ceiled, _recipient,
                                          stopping, handoff=handoffs["sessionless"]))
        finally:
            self._handoffs.pop(partition, None)

    def handoffs(self, partition: int) -> Mapping[Lane, Handoff] | None:
        """What the partition's worker tells its lanes (the replies its commits read for them, or
        a word to read), while they run here."""
        return self._handoffs.get(partition)

    async def _deliver(self, stream: str, entry: Entry, stopping: Stopping, ceiling: bool = False) -> None:
        entry_id, fields = entry
        message = OutboundMessage.model_validate_json(fields["message"])
        if ceiling and not await self._under_ceiling(message, stopping):
            return  # stopping: the entry stays pending
        try:
            if not await self._send(message, stopping):
                return  # stopping mid-send: the entry stays pending and is sent after a restart
        except MessageRejected as exc:
            reason = str(exc)
            await retrying(lambda: self._dead_letter(message, reason), stopping)
        counted = fields["recipient"] if ceiling else None
        await retrying(lambda: self._done(stream, entry_id, counted), stopping)

    async def _under_ceiling(self, message: OutboundMessage, stopping: Stopping) -> bool:
        """Wait for the message's segments under the sessionless ceiling; False on a stop."""
        segments = segment_count(message.text)
        if not self._sessionless.available(segments):
            self._metrics.limited("sessionless_segments_per_second")
        take = asyncio.ensure_future(self._sessionless.take(segments))
        stop = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({take, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not take.done():
                take.cancel()
        return take.done() and not take.cancelled()

    async def _dead_letter(self, message: OutboundMessage, reason: str) -> None:
        log.error("reply to %s rejected by the SMSC: %s", mask_msisdn(message.recipient), reason)
        async with self._redis.pipeline(transaction=False) as pipe:
            self._dead_letters.stage_outbound(pipe, message, reason)
            await pipe.execute()

    async def _done(self, stream: str, entry_id: str, recipient: str | None = None) -> None:
        """Acknowledged and deleted; from the sessionless lane, the recipient's count there too."""
        keys = [stream] if recipient is None else [stream, self._keys.sessionless_queued(recipient)]
        await self._ack(keys=keys, args=[OUTBOUND_GROUP, entry_id])
        self.sent += 1

    async def _send(self, message: OutboundMessage, stopping: Stopping) -> bool:
        if message.channel == "ussd":
            if await self._screens.show(message):
                self._metrics.reply_sent(message)
                return True
            message = message.model_copy(update={"channel": "sms", "transport": "smpp",
                                                 "sender": self._addressing.source})
        parts = build_parts(self._text(message), message.recipient, self._addressing, next(self._refs))
        for number, part in enumerate(parts, start=1):
            part.log_id, part.extra_data = message.id, f"{number}/{len(parts)}"
            if not await self._send_part(part, stopping):
                return False
        if log.isEnabledFor(logging.INFO):  # the masking is not free, and most runs log WARNING up
            log.info("%s sent to %s in %d part(s)", message.kind, mask_msisdn(message.recipient), len(parts))
        self._metrics.reply_sent(message)
        return True

    def _text(self, message: OutboundMessage) -> str:
        """The text to send; a sealed one opened only here, just before it goes out."""
        if not message.sealed:
            return message.text
        try:
            return self._sealer.open(message.text, message.id)
        except ValueError as exc:  # sealed under a secret this process does not hold
            raise MessageRejected(f"sealed text not openable: {exc}") from exc

    async def _send_part(self, part: SubmitSm, stopping: Stopping) -> bool:
        """Tried at least once (a reply that has begun is not cut short by a stop); retried
        with backoff until accepted, or until `stopping` (the reply stays queued)."""
        for attempt in itertools.count():
            await self._throttle.wait()
            response = await self._try(part)
            outcome = _outcome(response)
            self._metrics.segment(outcome)
            if outcome is Outcome.ACCEPTED:
                self._throttle.relieved()
                return True
            if outcome is Outcome.REJECTED:
                assert response is not None
                raise MessageRejected(response.command_status.name)
            if outcome is Outcome.THROTTLED:
                self.throttled += 1
                self._throttle.throttled()  # every sender slows down, not only this one
            if await set_within(stopping, _backoff(attempt)):
                return False
        return False

    async def _try(self, part: SubmitSm) -> SmppMessage | None:
        try:
            return await self._client.submit(part)
        except SubmitFailed as exc:
            log.warning("submit_sm not answered (%s); will retry", exc)
            return None


def _backoff(attempt: int) -> float:
    # The exponent is capped: an SMSC may throttle for hours, and 2.0**1024 overflows.
    return min(RETRY_MIN_SECONDS * 2.0 ** min(attempt, 16), RETRY_MAX_SECONDS)


class ThrottleGate:
    """Shared by all senders of a process: after ESME_RTHROTTLED or ESME_RMSGQFUL, nobody
    submits until a pause has passed; the pause doubles while the SMSC keeps throttling."""

    def __init__(self) -> None:
        self._streak = 0
        self._resume_at = 0.0

    def throttled(self) -> None:
        loop = asyncio.get_running_loop()
        self._resume_at = max(self._resume_at, loop.time() + _backoff(self._streak))
        self._streak += 1

    def relieved(self) -> None:
        self._streak = 0

    async def wait(self) -> None:
        delay = self._resume_at - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)


def _recipient(entry: Entry) -> str:
    return entry[1]["recipient"]


def _outcome(response: SmppMessage | None) -> Outcome:
    if response is None:
        return Outcome.RETRY
    return classify(response.command_status, generic_nack=isinstance(response, GenericNack))
