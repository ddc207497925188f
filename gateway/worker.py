"""The turn worker of one partition: inbound entry -> subscriber -> dialog -> one commit.

The commit (commit_turn.lua) writes the new subscriber state, queues the replies and
acknowledges the inbound entry together, so a crash before it means the turn runs again from
the same state (registry moves are idempotent per operation id), and a crash after it means
the turn is done. Entries of one partition run one at a time, in stream order.
"""

from __future__ import annotations

import logging
import time
from importlib.resources import files

from redis.asyncio import Redis

from flows.dialog import Dialog
from flows.normalize import mask_msisdn
from gateway.keys import INBOUND_GROUP, Keys
from gateway.messages import InboundMessage, OutboundMessage
from gateway.stopping import Stopping
from gateway.streams import Entry, consume, retrying
from gateway.subscribers import SUBSCRIBER_TTL_SECONDS, SubscriberStore

log = logging.getLogger("gateway.worker")


def _sender(entry: Entry) -> str:
    return entry[1]["sender"]


class LeaseLost(Exception):
    """The partition moved to another process while this turn ran. Not retryable here."""


class TurnWorker:
    def __init__(
        self, redis: Redis, keys: Keys, dialog: Dialog, store: SubscriberStore, owner: str
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._dialog = dialog
        self._store = store
        self._owner = owner
        self._commit = redis.register_script(
            files("gateway").joinpath("commit_turn.lua").read_text(encoding="utf-8")
        )
        self.turns = 0

    async def run(self, partition: int, stopping: Stopping) -> None:
        stream = self._keys.inbound(partition)

        async def handle(entry: Entry) -> None:
            await self._until_done(partition, entry, stopping)

        await consume(self._redis, stream, INBOUND_GROUP, handle, _sender, stopping)

    async def _until_done(self, partition: int, entry: Entry, stopping: Stopping) -> None:
        """Retry while Redis is away; a message that breaks the dialog is dead-lettered."""
        try:
            await retrying(lambda: self.turn(partition, entry), stopping)
        except LeaseLost:
            raise
        except Exception:
            log.exception("turn failed; inbound entry %s moved to the dead letters", entry[0])
            await retrying(lambda: self._dead_letter(partition, entry), stopping)

    async def _dead_letter(self, partition: int, entry: Entry) -> None:
        entry_id, fields = entry
        stream = self._keys.inbound(partition)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self._keys.dead_letters(), {**fields, "inbound_id": entry_id},
                      maxlen=100_000, approximate=True)
            pipe.xack(stream, INBOUND_GROUP, entry_id)
            pipe.xdel(stream, entry_id)
            await pipe.execute()

    async def turn(self, partition: int, entry: Entry) -> None:
        entry_id, fields = entry
        message = InboundMessage(
            id=entry_id, channel=fields.get("channel", "sms"), sender=fields["sender"],
            recipient=fields["recipient"], text=fields["text"],
            received_at=float(fields.get("received_at", time.time())),
        )
        subscriber = await self._store.load(message.sender)
        replies = await self._dialog.handle(subscriber, message.text, message.id, time.time())
        outbound = [
            OutboundMessage(
                id=f"{message.id}/{i}", channel=message.channel, sender=message.recipient,
                recipient=message.sender, text=reply.text, kind=reply.kind, in_reply_to=message.id,
            ).model_dump_json()
            for i, reply in enumerate(replies)
        ]
        state = self._store.serialize(subscriber)
        keys = [
            self._keys.lease(partition), self._keys.subscriber(message.sender),
            self._keys.outbound(partition), self._keys.inbound(partition),
        ]
        args = [self._owner, state, SUBSCRIBER_TTL_SECONDS, INBOUND_GROUP, entry_id, *outbound]
        if not await self._commit(keys=keys, args=args):
            raise LeaseLost(f"partition {partition} is no longer ours")
        self.turns += 1
        log.info("turn for %s: %d replies", mask_msisdn(message.sender), len(outbound))

