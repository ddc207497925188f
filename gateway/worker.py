"""The turn worker of one partition: inbound entry -> subscriber -> dialog -> one commit.

The commit (commit_turn.lua) writes the new subscriber state, queues the replies and
acknowledges the inbound entry together, so a crash before it means the turn runs again from
the same state (registry moves are idempotent per operation id), and a crash after it means
the turn is done. Entries of one partition run one at a time, in stream order.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Protocol

from redis._parsers.helpers import parse_stream_list
from redis.asyncio import Redis

from flows.dialog import Dialog
from flows.dialog_types import ReplyKind
from flows.normalize import mask_msisdn
from flows.outcomes import TurnOutcome, untaken
from flows.ports import RegistryUnavailable
from flows.session import Subscriber
from flows.ussd import Screen, UssdDialog
from gateway.errors import LeaseLost
from gateway.limits import ReplyBudget
from gateway.messages import InboundMessage, Lane, OutboundMessage, from_stream_entry
from gateway.observability.metrics import GatewayMetrics
from gateway.observability.turns import message_context, observe_turn
from gateway.registry_http.deadline import turn_deadline
from gateway.sealing import Sealer
from gateway.stopping import Stopping
from gateway.store.dead_letters import DeadLetters
from gateway.store.keys import INBOUND_GROUP, OUTBOUND_GROUP, Keys
from gateway.store.scripts import ScriptArg, load_script
from gateway.store.streams import CONSUMER, Entry, Handoff, SharedReads, consume, retrying, shares_reads
from gateway.store.subscribers import SUBSCRIBER_TTL_SECONDS, SubscriberStore
from smpp.segmentation import segment_count

log = logging.getLogger("gateway.worker")

# commit_turn.lua's answer when the inbound entry was acknowledged already (a resent commit).
ALREADY_COMMITTED = 3
# The count of a number's replies in the sessionless lane outlives a lost entry by at most this.
SESSIONLESS_COUNT_TTL_SECONDS = 3600


def _sender(entry: Entry) -> str:
    return entry[1]["sender"]


class ReplyLanes(Protocol):
    """The reply lanes running in this process (gateway/transports/smpp_sender.py)."""

    def handoffs(self, partition: int) -> Mapping[Lane, Handoff] | None:
        """What the partition's worker tells its lanes, or None when they do not run here (its
        replies then wait in Redis for whoever runs them)."""


class NoLanes:
    """No lanes in this process (a worker on its own, in tests)."""

    def handoffs(self, partition: int) -> Mapping[Lane, Handoff] | None:
        return None


class TurnWorker:
    def __init__(
        self, redis: Redis, keys: Keys, dialog: Dialog, store: SubscriberStore, owner: str,
        shortcode: str, answer_budget_seconds: float = 2.0, ussd_session_seconds: float = 180.0,
        dead_letters: DeadLetters | None = None, sealer: Sealer | None = None,
        budget: ReplyBudget | None = None, metrics: GatewayMetrics | None = None,
        registry_deadline_seconds: float = 10.0,
    ) -> None:
        self._metrics = metrics or GatewayMetrics()
        self._registry_deadline = registry_deadline_seconds
        self._budget = budget or ReplyBudget()
        self.rate_limited: Counter[str] = Counter()
        self._dead_letters = dead_letters or DeadLetters(keys)
        self._sealer = sealer or Sealer(dialog.config.secret_key)
        self._redis = redis
        self._keys = keys
        self._dialog = dialog
        self._ussd = UssdDialog(dialog)
        self._shortcode = shortcode
        self._answer_budget = answer_budget_seconds
        self._ussd_session_seconds = ussd_session_seconds
        self._store = store
        self._owner = owner
        self._commit = load_script(redis, "commit_turn.lua")
        # Told of each turn's replies (the partition's sender sends them).
        self.lanes: ReplyLanes = NoLanes()
        # One read of new entries for every partition held here, where Redis can serve it.
        self.reads = SharedReads(redis, INBOUND_GROUP) if shares_reads(redis) else None
        self.turns = 0

    async def run(self, partition: int, stopping: Stopping) -> None:
        stream = self._keys.inbound(partition)

        async def handle(entry: Entry) -> None:
            with message_context(entry[0], _sender(entry), partition):
                await self._until_done(partition, entry, stopping)

        if self.reads is None:
            await consume(self._redis, stream, INBOUND_GROUP, handle, _sender, stopping)
            return
        handoff = self.reads.join(stream)
        try:
            await consume(self._redis, stream, INBOUND_GROUP, handle, _sender, stopping,
                          handoff=handoff, read_new=False)
        finally:
            await self.reads.leave(stream, handoff)

    async def _until_done(self, partition: int, entry: Entry, stopping: Stopping) -> None:
        """Retry while Redis is away; a message that breaks the dialog is dead-lettered."""
        try:
            await retrying(lambda: self.turn(partition, entry), stopping)
        except LeaseLost:
            raise
        except Exception as exc:
            log.exception("turn failed; inbound entry %s moved to the dead letters", entry[0])
            reason = type(exc).__name__
            await retrying(lambda: self._dead_letter(partition, entry, reason), stopping)

    async def _dead_letter(self, partition: int, entry: Entry, reason: str) -> None:
        entry_id, fields = entry
        stream = self._keys.inbound(partition)
        try:
            message = from_stream_entry(entry_id, fields)
        except ValueError:  # the entry itself is unreadable: keep what identifies it, masked
            message = InboundMessage(id=entry_id, sender=fields.get("sender", ""), recipient="", text="")
        async with self._redis.pipeline(transaction=False) as pipe:
            self._dead_letters.stage_inbound(pipe, message, reason)
            pipe.xack(stream, INBOUND_GROUP, entry_id)
            pipe.xdel(stream, entry_id)
            await pipe.execute()

    async def turn(self, partition: int, entry: Entry) -> None:
        message = from_stream_entry(*entry)
        subscriber = await self._store.load(message.sender)
        in_dialog = subscriber.session is not None
        try:
            with turn_deadline(self._registry_deadline):
                if message.channel == "ussd":
                    outbound, outcome = await self._ussd_turn(subscriber, message)
                else:
                    outbound, outcome = await self._sms_turn(subscriber, message)
        except RegistryUnavailable as exc:
            # Nothing of the turn is kept: the state as it was before (so a confirming turn
            # sent again retries its change under the same operation id), the MO acknowledged
            # with the notice, and the citizen writes again.
            log.warning("registry unavailable for %s's turn: %s", mask_msisdn(message.sender), exc)
            subscriber = await self._store.load(message.sender)
            outbound = self._registry_unavailable(subscriber, message)
            outcome = untaken(subscriber, "registry_unavailable")
        state = self._store.serialize(subscriber)
        keys = [
            self._keys.lease(partition), self._keys.subscriber(message.sender),
            self._keys.session(message.sender), self._keys.outbound(partition),
            self._keys.inbound(partition), self._keys.outbound_sessionless(partition),
            self._keys.sessionless_queued(message.sender),
        ]
        lane = self._lane(message, outbound, in_dialog or subscriber.session is not None)
        numbered = [field for i, reply in enumerate(outbound)
                    for field in (reply.recipient, self._numbered(reply, f"{message.id}/{i}"))]
        idle = self._dialog.config.session_idle_seconds
        # With the lanes here, the commit reads the replies for them: no read of their own;
        # unless a lane has more waiting than it should hold (Handoff.full): they wait in Redis.
        handoffs = self.lanes.handoffs(partition) if outbound else None
        hands = handoffs is not None and not any(handoff.full for handoff in handoffs.values())
        args: list[ScriptArg] = [self._owner, state.subscriber, SUBSCRIBER_TTL_SECONDS, state.session,
                                 idle, INBOUND_GROUP, message.id, lane, SESSIONLESS_COUNT_TTL_SECONDS,
                                 OUTBOUND_GROUP if hands else "", CONSUMER, *numbered]
        result = await self._commit(keys=keys, args=args)
        if not result:
            raise LeaseLost(f"partition {partition} is no longer ours")
        if result == ALREADY_COMMITTED:
            log.info("turn for entry %s was committed already; not written twice", message.id)
            for handoff in (handoffs or {}).values():  # what the first run read never reached them
                handoff.reread()
            return
        if handoffs:
            handoff = handoffs["sessionless" if result[0] == 2 else "dialog"]
            # The entries as the lane's own XREADGROUP gives them (redis-py's reading, untyped).
            read: list[Entry] = parse_stream_list(result[1][0][1]) if result[1] else []  # type: ignore[no-untyped-call]
            if not hands:
                handoff.fall_behind()
            elif read:
                handoff.hand(read)
            else:  # nothing read for it (its group was gone): the lane reads
                handoff.wake()
        self.turns += 1
        observe_turn(self._metrics, message, outcome, len(outbound))

    def _lane(self, message: InboundMessage, outbound: list[OutboundMessage], in_dialog: bool) -> Lane:
        """Where the turn's replies queue: a dialog in progress (before or after the turn), a
        USSD screen, a code or a password go first; a menu or help to a number with no dialog
        waits behind them, under its own ceiling, so a flood of strangers cannot delay anyone's
        dialog (limits.sessionless_segments_per_second). The commit keeps a number's replies in
        order: behind its own sessionless ones, if any still wait."""
        if in_dialog or message.channel == "ussd" or any(reply.kind != "reply" for reply in outbound):
            return "dialog"
        return "sessionless"

    async def _sms_turn(
        self, subscriber: Subscriber, message: InboundMessage
    ) -> tuple[list[OutboundMessage], TurnOutcome]:
        """The dialog's replies while the number's reply budget lasts; past it one notice, then
        silence (the MO is acknowledged and not handled) until the budget refills."""
        now = time.time()
        if not self._budget.allows(subscriber, now):
            self.rate_limited["replies"] += 1
            limited = untaken(subscriber, "rate_limited")
            if subscriber.reply_limit_told:
                return [], limited
            subscriber.reply_limit_told = True
            return [self._sms(message, self._dialog.render(subscriber, "reply_limit"), "reply")], limited
        strikes_before = (subscriber.strikes, subscriber.strikes_since)
        result = await self._dialog.turn(subscriber, message.text, message.id, now)
        outbound = [self._sms(message, reply.text, reply.kind) for reply in result.replies]
        # A turn that counted a strike (a mismatch, a wrong code, a rationed lookup) is paid for
        # by the lockout (service.lockout_strikes a day), not by the reply budget: a citizen
        # getting things wrong reaches the lockout message.
        struck = (subscriber.strikes, subscriber.strikes_since) != strikes_before
        cost = 0 if struck else sum(segment_count(reply.text) for reply in outbound)
        self._budget.spend(subscriber, cost)
        return outbound, result.outcome

    async def _ussd_turn(
        self, subscriber: Subscriber, message: InboundMessage
    ) -> tuple[list[OutboundMessage], TurnOutcome]:
        screen = await self._ussd.handle(subscriber, message.text, message.ussd_event, message.id,
                                         time.time())
        if screen is None:  # the user hung up or the network cut the dialogue: nothing to show
            return [], untaken(subscriber, message.ussd_event or "ended")
        outbound = [self._sms(message, reply.text, reply.kind) for reply in screen.sms]
        now = time.time()
        late = now - message.received_at > self._answer_budget
        cut_off = (message.ussd_event != "begin"
                   and now - subscriber.ussd_started_at > self._ussd_session_seconds)
        if late or cut_off:
            # Too late for this screen (or the network has ended the dialogue by now): its
            # content goes by SMS, and the screen ends politely.
            outcome = screen.outcome
            text, screen = self._ussd.hand_over(subscriber, screen)
            screen.outcome = outcome
            outbound.append(self._sms(message, text, "reply"))
        return [*outbound, _screen(message, screen)], screen.outcome

    def _registry_unavailable(self, subscriber: Subscriber, message: InboundMessage) -> list[OutboundMessage]:
        text = self._dialog.render(subscriber, "registry_unavailable")
        if message.channel != "ussd":
            return [self._sms(message, text, "reply")]
        if time.time() - message.received_at > self._answer_budget:  # the screen is gone by now
            return [self._sms(message, text, "reply"), _screen(message, Screen(text, end=True))]
        return [_screen(message, Screen(text, end=True))]

    def _numbered(self, reply: OutboundMessage, outbound_id: str) -> str:
        """The queued JSON of a reply; a code's or a password's text sealed, never in clear."""
        reply.id = outbound_id  # the turn's own message, made for this: no copy
        if reply.kind != "reply":
            reply.text, reply.sealed = self._sealer.seal(reply.text, outbound_id), True
        return reply.model_dump_json()

    def _sms(self, message: InboundMessage, text: str, kind: ReplyKind) -> OutboundMessage:
        """A reply by SMS, always through the SMSC and from the shortcode, whatever channel
        the message came on."""
        sender = message.recipient if message.channel == "sms" else self._shortcode
        return OutboundMessage(id="", channel="sms", transport="smpp", sender=sender,
                               recipient=message.sender, text=text, kind=kind, in_reply_to=message.id)


def _screen(message: InboundMessage, screen: Screen) -> OutboundMessage:
    return OutboundMessage(
        id="", channel="ussd", transport=message.transport, sender=message.recipient,
        recipient=message.sender, text=screen.text, in_reply_to=message.id,
        session_id=message.session_id, session_info=message.session_info, ussd_end=screen.end,
    )

