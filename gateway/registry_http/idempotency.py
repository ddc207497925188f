"""`registry serve`'s memory of changes: the first answer under each Idempotency-Key, with the
fingerprint of the change it answered, kept `registry.idempotency_ttl_seconds` (bounded keys).

A repeated key with the same change answers the first result; with another change it is
refused (422). The change itself is applied once per key by the registry's own scripts (the key
is the operation id), so two requests racing with one key still change the registry once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from gateway.store.keys import Keys


@dataclass(frozen=True, slots=True)
class Remembered:
    fingerprint: str
    answer: dict[str, Any]


def fingerprint(path: str, fields: dict[str, object]) -> str:
    canonical = json.dumps({"path": path, **fields}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class IdempotencyStore:
    def __init__(self, redis: Redis, keys: Keys, ttl_seconds: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl = ttl_seconds

    async def recall(self, key: str) -> Remembered | None:
        stored = await self._redis.get(self._keys.registry_idempotency(key))
        if stored is None:
            return None
        record = json.loads(stored)
        return Remembered(record["fingerprint"], record["answer"])

    async def remember(self, key: str, fingerprint: str, answer: dict[str, Any]) -> None:
        """Only the first answer is kept (NX): a racing request cannot replace it."""
        record = json.dumps({"fingerprint": fingerprint, "answer": answer})
        await self._redis.set(self._keys.registry_idempotency(key), record, nx=True, ex=self._ttl)
