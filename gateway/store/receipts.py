"""Delivery-receipt correlation: SMSC message id -> the outbound message part it belongs to.

This replaces aiosmpplib's SimpleCorrelator for receipts, which scans every entry on each
message: here each id is one Redis key with a TTL (receipts can come days later), so both
remembering and looking up are O(1) and nothing grows without bound. The operations are
staged on a pipeline the caller executes, so a batch of SMSC events costs one round trip.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from aiosmpplib import DeliverSm

from smpp.client import Accepted

log = logging.getLogger("gateway.store.receipts")


@dataclass(frozen=True, slots=True)
class ReceiptTarget:
    outbound_id: str
    part: int
    parts: int


class RedisReceiptCorrelator:
    def __init__(self, key_prefix: str, ttl_seconds: int) -> None:
        self._prefix = key_prefix
        self._ttl = ttl_seconds
        self.outcomes: Counter[str] = Counter()

    def stage_remember(self, pipe: Any, accepted: Accepted) -> None:
        """Queue the correlation of an accepted part: `log_id` is the outbound id and
        `extra_data` "part/parts", as the sender set them."""
        submit = accepted.submit
        part, _, parts = submit.extra_data.partition("/")
        target = ReceiptTarget(submit.log_id, int(part or 1), int(parts or 1))
        pipe.set(self._key(accepted.response.message_id), json.dumps(asdict(target)), ex=self._ttl)

    def stage_lookup(self, pipe: Any, receipt: DeliverSm) -> None:
        pipe.getdel(self._key(_receipted_id(receipt)))

    def finish_lookup(self, receipt: DeliverSm, raw: str | None) -> ReceiptTarget | None:
        """Match a receipt; unknown or expired ids are logged and ignored (None)."""
        stat = str(receipt.parse_receipt().get("stat", "UNKNOWN"))
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


def _receipted_id(receipt: DeliverSm) -> str:
    return str(receipt.parse_receipt().get("id", ""))
