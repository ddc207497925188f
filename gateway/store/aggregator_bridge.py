"""The Redis side of the HTTP aggregator callbacks (gateway/http_ussd.py's AggregatorBridge).

Inputs go into the sender's partition stream like any MO, once per request id (a retried
HTTP request is recognised), before the aggregator gets its answer; a USSD request then waits
for its screen on a Redis list that the partition's sender fills (gateway/screens.py), so
the answer can come from whichever gateway process holds that number's partition.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from gateway.messages import InboundMessage, OutboundMessage
from gateway.store.keys import Keys
from gateway.store.scripts import load_script

SEEN_TTL_SECONDS = 86400
STREAM_FIELDS = ("sender", "recipient", "text", "channel", "transport", "session_id",
                 "ussd_event", "session_info")


class RedisAggregatorBridge:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._store = load_script(redis, "store_message.lua")

    async def store(self, message: InboundMessage) -> None:
        await self.store_once(message, message.id)

    async def store_once(self, message: InboundMessage, dedupe_key: str) -> bool:
        partition = self._keys.partition_of(message.sender)
        fields = message.model_dump(include=set(STREAM_FIELDS))
        pairs = [item for name in STREAM_FIELDS for item in (name, str(fields[name]))]
        keys = [self._keys.inbound(partition), self._keys.http_seen(partition, dedupe_key)]
        args = [SEEN_TTL_SECONDS, *pairs, "received_at", f"{time.time():.3f}"]
        return bool(await self._store(keys=keys, args=args))

    async def await_screen(self, session_id: str, timeout: float) -> OutboundMessage | None:
        popped = await self._redis.blpop([self._keys.ussd_screen(session_id)], timeout=timeout)
        return None if popped is None else OutboundMessage.model_validate_json(popped[1])
