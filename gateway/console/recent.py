"""What the console's "recent" table shows: the newest audit records, with nothing personal.

The gateway keeps no history of dialogs (an inbound entry is deleted once its turn commits, a
session expires with its idle time); what it keeps is the audit stream, one record per registry
change (and per operator action, once the admin API writes them). One XREVRANGE, bounded by
`limit`, reads the newest; each is shown by a whitelist: the action, when, and the numbers
involved masked (0936***0003). IMEIs, national IDs, codes and operation ids never leave.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from redis.asyncio import Redis

from flows.normalize import mask_msisdn
from gateway.store.keys import Keys

MAX_RECENT: Final = 50
NUMBER_FIELDS: Final = ("requester", "msisdn", "from_sim", "to_sim")  # shown masked
FLAG_FIELDS: Final = ("sim_added",)  # shown as they are ("1"/"0")


async def recent_audit(redis: Redis, keys: Keys, limit: int = 20) -> list[dict[str, Any]]:
    entries = await redis.xrevrange(keys.audit(), count=min(max(limit, 1), MAX_RECENT))
    # The gateway's clients decode replies (decode_responses=True): ids and fields are str.
    return [shown(str(entry_id), _decoded(fields or {})) for entry_id, fields in entries or []]


def _decoded(fields: Mapping[Any, Any]) -> dict[str, str]:
    return {str(name): str(value) for name, value in fields.items()}


def shown(entry_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """One audit record as the console shows it (`at`: epoch seconds, from the entry id)."""
    record: dict[str, Any] = {"at": int(entry_id.split("-", 1)[0]) / 1000, "action": fields.get("action", "")}
    for name in NUMBER_FIELDS:
        if fields.get(name):
            record[name] = mask_msisdn(fields[name])
    for name in FLAG_FIELDS:
        if name in fields:
            record[name] = fields[name]
    if fields.get("to_national_id"):
        record["to_national_id_cartable"] = True  # which one stays out
    return record
