"""Delivery-receipt correlation: SMSC message id -> the outbound message it belongs to.

This replaces aiosmpplib's SimpleCorrelator for receipts, which scans every entry on each
message: here each id is one Redis key with a TTL (receipts can come days later), so both
remembering and looking up are O(1) and nothing grows without bound.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import asdict, dataclass

from aiosmpplib import DeliverSm, SubmitSm, SubmitSmResp
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("smpp.receipts")


@dataclass(frozen=True, slots=True)
class ReceiptTarget:
    outbound_id: str
    part: int
    parts: int


class ReceiptCorrelator(ABC):
    async def on_accepted(self, submit: SubmitSm, response: SubmitSmResp) -> None:
        """Remember an accepted part; its `log_id` is the outbound id, `extra_data` "part/parts"."""
        part, _, parts = submit.extra_data.partition("/")
        target = ReceiptTarget(submit.log_id, int(part or 1), int(parts or 1))
        try:
            await self.remember(response.message_id, target)
        except (RedisError, OSError) as exc:
            # The part was accepted; only its receipt will go unmatched. Never drop the link.
            log.warning("receipt correlation not stored (%s)", type(exc).__name__)

    @abstractmethod
    async def remember(self, smsc_message_id: str, target: ReceiptTarget) -> None: ...

    @abstractmethod
    async def on_receipt(self, receipt: DeliverSm) -> ReceiptTarget | None:
        """Match a receipt; unknown or expired ids are logged and ignored (None)."""


class RedisReceiptCorrelator(ReceiptCorrelator):
    def __init__(self, redis: Redis, key_prefix: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._prefix = key_prefix
        self._ttl = ttl_seconds
        self.outcomes: Counter[str] = Counter()

    async def remember(self, smsc_message_id: str, target: ReceiptTarget) -> None:
        await self._redis.set(self._key(smsc_message_id), json.dumps(asdict(target)), ex=self._ttl)

    async def on_receipt(self, receipt: DeliverSm) -> ReceiptTarget | None:
        fields = receipt.parse_receipt()
        message_id, stat = str(fields.get("id", "")), str(fields.get("stat", "UNKNOWN"))
        raw = await self._redis.getdel(self._key(message_id)) if message_id else None
        if raw is None:
            self.outcomes["unknown"] += 1
            log.warning("delivery receipt for an unknown or expired message id ignored (%s)", stat)
            return None
        target = ReceiptTarget(**json.loads(raw))
        self.outcomes[stat] += 1
        log.info("delivery receipt %s for outbound %s part %d/%d",
                 stat, target.outbound_id, target.part, target.parts)
        return target

    def _key(self, message_id: str) -> str:
        return f"{self._prefix}:receipt:{message_id}"
