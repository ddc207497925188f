"""The receipt-correlator seam: SMSC message id -> the outbound message part it belongs to.

Ids are kept in their canonical form (`smpp.receipts.canonical_id`: lower case, no leading
zeros) and a receipt's id is looked up in each rendering `smpp.receipt_id_format` allows
(`smpp.receipts.id_candidates`), so `000397D1AB` matches `000397d1ab`, and `235465` matches
a submit_sm_resp id `000397C9` (the same number in hexadecimal).

`ReceiptCorrelator` is what the SMPP intake needs; `RedisReceiptCorrelator` is the default.
It replaces aiosmpplib's SimpleCorrelator, which scans every entry on each message: here each
id is one Redis key with a TTL (receipts can come days later), so both remembering and looking
up are O(1) and nothing grows without bound. The operations are staged on a pipeline the
caller executes, so a batch of SMSC events costs one round trip.

With `auto`, a receipt's id is looked up in every rendering at once until `LEARNED_AFTER`
receipts in a row were found under their id as written; from then on it is looked up there
alone (one command per receipt instead of two), and in the others only when that finds
nothing (`stage_rest`, one more round trip for those). A receipt found in another rendering
starts the count again.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.store.keys import Keys
from smpp.client import Accepted
from smpp.receipts import Receipt, ReceiptIdFormat, canonical_id, id_candidates

log = logging.getLogger("gateway.store.receipts")

LEARNED_AFTER = 20

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

    def stage_lookup(self, pipe: Pipeline, message_id: str) -> None:
        """Queue the lookup of the part a receipt's id is for; its results go to `finish_lookup`."""

    def stage_rest(self, pipe: Pipeline, message_id: str, tried: int) -> None:
        """After the `tried` commands of `stage_lookup` found nothing: queue the lookups it left
        out, if any; their results follow the first ones into `finish_lookup`."""

    def finish_lookup(self, receipt: Receipt, results: list[str | None]) -> ReceiptTarget | None:
        """The part the receipt is for, or None when unknown or expired."""


class RedisReceiptCorrelator:
    def __init__(self, keys: Keys, ttl_seconds: int, id_format: ReceiptIdFormat = "auto") -> None:
        self._keys = keys
        self._ttl = ttl_seconds
        self._id_format: ReceiptIdFormat = id_format
        self.outcomes: Counter[str] = Counter()
        self._as_written = 0  # receipts in a row found under their id as written

    def stage_remember(self, pipe: Pipeline, accepted: Accepted) -> None:
        """`log_id` is the outbound id and `extra_data` "part/parts", as the sender set them."""
        submit = accepted.submit
        part, _, parts = submit.extra_data.partition("/")
        key = self._keys.receipt(canonical_id(accepted.response.message_id))
        # "outbound id/part/parts": the sender's own fields, as they are (no JSON to build).
        # As SET with EX, without redis-py's argument checks (one per part the SMSC accepts).
        pipe.execute_command("SET", key, f"{submit.log_id}/{part or 1}/{parts or 1}", "EX", self._ttl)

    def stage_lookup(self, pipe: Pipeline, message_id: str) -> None:
        candidates = id_candidates(message_id, self._id_format)
        for candidate in candidates[:1] if self._as_written >= LEARNED_AFTER else candidates:
            pipe.getdel(self._keys.receipt(candidate))

    def stage_rest(self, pipe: Pipeline, message_id: str, tried: int) -> None:
        for candidate in id_candidates(message_id, self._id_format)[tried:]:
            pipe.getdel(self._keys.receipt(candidate))

    def finish_lookup(self, receipt: Receipt, results: list[str | None]) -> ReceiptTarget | None:
        """The first rendering that matched; unknown or expired ids give None (the caller
        counts and logs them)."""
        found = next(((at, raw) for at, raw in enumerate(results) if raw is not None), None)
        if found is None:
            self.outcomes["unknown"] += 1
            return None
        at, raw = found
        self._as_written = self._as_written + 1 if at == 0 else 0
        target = _target(raw)
        self.outcomes[receipt.state] += 1
        log.debug("delivery receipt %s for outbound %s part %d/%d",
                  receipt.state, target.outbound_id, target.part, target.parts)
        return target


def _target(stored: str) -> ReceiptTarget:
    """A remembered part: "outbound id/part/parts" (the outbound id holds a "/" of its own),
    or the JSON object that versions before it stored."""
    if stored.startswith("{"):
        return ReceiptTarget(**json.loads(stored))
    outbound_id, part, parts = stored.rsplit("/", 2)
    return ReceiptTarget(outbound_id, int(part), int(parts))
