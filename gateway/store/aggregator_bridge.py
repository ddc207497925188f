"""The Redis side of the HTTP aggregator callbacks (gateway/transports/http_callbacks.py's
`AggregatorBridge`).

Inputs go into the sender's partition stream like any MO, once per request id (a retried
HTTP request is recognised), before the aggregator gets its answer; a USSD request then waits
for its screen on a Redis list that the partition's sender fills
(gateway/transports/ussd_screens.py), so the answer can come from whichever gateway process
holds that number's partition. A Redis failure is `StorageUnavailable` (retryable).
"""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.errors import FOREIGN_RETRYABLE, StorageUnavailable
from gateway.messages import InboundMessage, OutboundMessage, field_pairs, to_stream_fields
from gateway.store.keys import Keys
from gateway.store.scripts import ScriptArg, load_script

SEEN_TTL_SECONDS = 86400


class RedisAggregatorBridge:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._store = load_script(redis, "store_message.lua")

    async def store(self, message: InboundMessage) -> None:
        await self.store_once(message, message.id)

    async def store_once(self, message: InboundMessage, dedupe_key: str) -> bool:
        partition = self._keys.partition_of(message.sender)
        keys = [self._keys.inbound(partition), self._keys.http_seen(partition, dedupe_key)]
        args: list[ScriptArg] = [SEEN_TTL_SECONDS, *field_pairs(to_stream_fields(message))]
        try:
            return bool(await self._store(keys=keys, args=args))
        except FOREIGN_RETRYABLE as exc:
            raise StorageUnavailable(f"message not stored: {type(exc).__name__}") from exc

    async def await_screen(self, session_id: str, timeout: float) -> OutboundMessage | None:
        try:
            popped = await self._redis.blpop([self._keys.ussd_screen(session_id)], timeout=timeout)
        except FOREIGN_RETRYABLE as exc:
            raise StorageUnavailable(f"screen not awaited: {type(exc).__name__}") from exc
        return None if popped is None else OutboundMessage.model_validate_json(popped[1])
