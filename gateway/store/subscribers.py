"""The subscriber store seam: load a number's conversation state; save it inside a commit."""

from __future__ import annotations

from redis.asyncio import Redis

from flows.session import Subscriber
from gateway.store.keys import Keys

SUBSCRIBER_TTL_SECONDS = 30 * 86400  # language choice and strikes outlive a session


class SubscriberStore:
    def __init__(self, redis: Redis, keys: Keys, default_language: str) -> None:
        self._redis = redis
        self._keys = keys
        self._default_language = default_language

    async def load(self, msisdn: str) -> Subscriber:
        raw = await self._redis.get(self._keys.subscriber(msisdn))
        if raw is None:
            return Subscriber(msisdn=msisdn, lang=self._default_language)  # type: ignore[arg-type]
        return Subscriber.model_validate_json(raw)

    @staticmethod
    def serialize(subscriber: Subscriber) -> str:
        return subscriber.model_dump_json(exclude_defaults=True)
