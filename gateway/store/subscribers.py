"""The subscriber-store seam: load a number's conversation state before a turn, and turn it into
what the turn's commit writes (gateway/store/lua/commit_turn.lua), together with the replies.

`SubscriberStore` is what the worker needs; `RedisSubscriberStore` is the default.
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from flows.catalog import Language
from flows.session import Subscriber
from gateway.store.keys import Keys

SUBSCRIBER_TTL_SECONDS = 30 * 86400  # language choice and strikes outlive a session


class SubscriberStore(Protocol):
    async def load(self, msisdn: str) -> Subscriber:
        """The number's state, or a fresh subscriber in the default language."""

    def serialize(self, subscriber: Subscriber) -> str:
        """The state as the commit stores it."""


class RedisSubscriberStore:
    def __init__(self, redis: Redis, keys: Keys, default_language: Language) -> None:
        self._redis = redis
        self._keys = keys
        self._default_language: Language = default_language

    async def load(self, msisdn: str) -> Subscriber:
        raw = await self._redis.get(self._keys.subscriber(msisdn))
        if raw is None:
            return Subscriber(msisdn=msisdn, lang=self._default_language)
        return Subscriber.model_validate_json(raw)

    def serialize(self, subscriber: Subscriber) -> str:
        return subscriber.model_dump_json(exclude_defaults=True)
