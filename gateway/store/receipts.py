"""The receipt-correlator seam: SMSC message id -> the outbound message part it belongs to.

`ReceiptCorrelator` is what the SMPP intake needs; `RedisReceiptCorrelator` is the default.
It replaces aiosmpplib's SimpleCorrelator, which scans every entry on each message: here each
id is one Redis key with a TTL (receipts can come days later), so both remembering and looking
up are O(1) and nothing grows without bound. The operations are staged on a pipeline the
caller executes, so a batch of SMSC events costs one round trip.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from aiosmpplib import DeliverSm

from gateway.store.keys import Keys
from smpp.client import Accepted

log = logging.getLogger("gateway.store.receipts")

# A redis-py pipeline (single node or cluster): commands are queued, results come together.
Pipeline = Any


@dataclass(frozen=True, slots=True)
class ReceiptTarget:
    outbound_id: str
    part: int
    parts: int


class ReceiptCorrelator(Protocol):
    def stage_remember(self, pipe: Pipeline, accepted: Accepted) -> None:
        """Queue the correlation of a part the SMSC accepted."""

    def stage_lookup(self, pipe: Pipeline, receipt: DeliverSm) -> None:
        """Queue the lookup of the part a receipt is for; its result goes to `finish_lookup`."""

    def finish_lookup(self, receipt: DeliverSm, raw: str | None) -> ReceiptTarget | None:
        """The part the receipt is for, or None when unknown or expired."""


class RedisReceiptCorrelator:
    def __init__(self, keys: Keys, ttl_seconds: int) -> None:
        self._keys = keys
        self._ttl = ttl_seconds
        self.outcomes: Counter[str] = Counter()

    def stage_remember(self, pipe: Pipeline, accepted: Accepted) -> None:
        """`log_id` is the outbound id and `extra_data` "part/parts", as the sender set them."""
        submit = accepted.submit
        part, _, parts = submit.extra_data.partition("/")
        target = ReceiptTarget(submit.log_id, int(part or 1), int(parts or 1))
        key = self._keys.receipt(accepted.response.message_id)
        pipe.set(key, json.dumps(asdict(target)), ex=self._ttl)

    def stage_lookup(self, pipe: Pipeline, receipt: DeliverSm) -> None:
        pipe.getdel(self._keys.receipt(_receipted_id(receipt)))

    def finish_lookup(self, receipt: DeliverSm, raw: str | None) -> ReceiptTarget | None:
        """Unknown or expired ids are logged and ignored."""
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


def _receipted_id(receipt: DeliverSm) -> str:
    return str(receipt.parse_receipt().get("id", ""))
