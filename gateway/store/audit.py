"""The audit stream (`{reg}:audit`): one record per registry change (written by the registry's
Lua scripts, atomically with the change) and per admin action (`append`), read back by IMEI,
number, national ID or time range (`query`), masked for the operator.

Finding the records that name one value must not scan the stream (up to a million entries):
every record is also pushed, by id, onto a capped list per value it names
(`Keys.audit_index`: the value hashed, never in clear in a key name), written in the same
script as the record. A query by value reads that list (the newest `INDEX_CAP` ids) and then
exactly those entries; a query by time alone is one bounded XREVRANGE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, cast

from redis.asyncio import Redis

from flows.normalize import mask_digits, mask_msisdn
from gateway.store.keys import Keys
from gateway.store.scripts import ScriptArg, load_script
from gateway.store.streams import Entry

INDEX_CAP: Final = 500  # ids kept per value: the newest records naming it
INDEX_TTL_SECONDS: Final = 400 * 86400  # renewed by every record naming the value
MAX_LIMIT: Final = 1000
IndexKind = Literal["imei", "msisdn", "national_id"]

# Where each indexed kind appears in a record, and how it is masked when shown.
_MSISDN_FIELDS: Final = frozenset({"from_sim", "to_sim", "requester"})
_DIGIT_FIELDS: Final = frozenset({"imei", "national_id", "to_national_id"})
# Fields that hold no personal data: ids and times, shown as they are.
_PLAIN_FIELDS: Final = frozenset({"action", "message_id", "operation_id", "loaded_at", "who", "via",
                                  "what", "target", "sim_added", "count", "reason", "had_session"})
_LONG_DIGITS: Final = re.compile(r"\d{6,}")


def index_keys(
    keys: Keys, *, imeis: Iterable[str] = (), msisdns: Iterable[str] = (),
    national_ids: Iterable[str] = (),
) -> list[str]:
    """The index lists a record naming these values goes on (empty values left out, each once)."""
    found: dict[str, None] = {}
    for kind, values in (("imei", imeis), ("msisdn", msisdns), ("national_id", national_ids)):
        for value in values:
            if value:
                found[keys.audit_index(kind, value)] = None
    return list(found)


def index_args() -> list[ScriptArg]:
    """The two ARGV the indexing scripts take after their own: cap and TTL."""
    return [INDEX_CAP, INDEX_TTL_SECONDS]


class AuditLog:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._append = load_script(redis, "audit_append.lua")

    async def append(
        self, fields: Mapping[str, str], *, msisdns: Iterable[str] = (), imeis: Iterable[str] = (),
        national_ids: Iterable[str] = (),
    ) -> str:
        """One record (no clear personal value in `fields`: mask it), indexed by the values
        given; its stream id."""
        keys = [self._keys.audit(), *index_keys(self._keys, imeis=imeis, msisdns=msisdns,
                                                national_ids=national_ids)]
        args: list[ScriptArg] = [*index_args(), *(item for pair in fields.items() for item in pair)]
        return str(await self._append(keys=keys, args=args))

    async def query(
        self, *, imei: str = "", msisdn: str = "", national_id: str = "",
        since: float | None = None, until: float | None = None, limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Newest first, at most `limit` (capped at `MAX_LIMIT`), masked. Values are given
        normalised (98... numbers, ASCII digits); several are combined (all must match)."""
        limit = max(1, min(limit, MAX_LIMIT))
        wanted = [(kind, value) for kind, value in
                  (("imei", imei), ("msisdn", msisdn), ("national_id", national_id)) if value]
        low = "-" if since is None else f"{int(since * 1000)}"
        high = "+" if until is None else f"{int(until * 1000)}"
        if not wanted:
            entries = cast(list[Entry], await self._redis.xrevrange(
                self._keys.audit(), max=high, min=low, count=limit))
            return [shown(entry_id, fields) for entry_id, fields in entries]
        async with self._redis.pipeline(transaction=False) as pipe:
            for kind, value in wanted:
                pipe.lrange(self._keys.audit_index(kind, value), 0, INDEX_CAP - 1)
            lists: list[list[str]] = await pipe.execute()
        common = set(lists[0]).intersection(*lists[1:])
        ids = [entry_id for entry_id in lists[0] if entry_id in common
               and _within(entry_id, since, until)][:limit]
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xrange(self._keys.audit(), min=entry_id, max=entry_id)
            found: list[list[Entry]] = await pipe.execute()
        # An id whose entry the stream trimmed away (MAXLEN) is skipped.
        return [shown(entry[0][0], entry[0][1]) for entry in found if entry]


def _within(entry_id: str, since: float | None, until: float | None) -> bool:
    ms = int(entry_id.split("-", 1)[0])
    return (since is None or ms >= since * 1000) and (until is None or ms <= until * 1000)


def shown(entry_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    """A record as an operator sees it: its id and time, numbers and IDs masked."""
    ms = int(entry_id.split("-", 1)[0])
    record: dict[str, Any] = {"id": entry_id, "at": iso_time(ms / 1000)}
    for name, value in fields.items():
        if name in _MSISDN_FIELDS:
            record[name] = mask_msisdn(value) if value else ""
        elif name in _DIGIT_FIELDS:
            record[name] = mask_digits(value) if value else ""
        elif name in _PLAIN_FIELDS:
            record[name] = value
        else:  # a field this reader does not know: no long digit run leaves it in clear
            record[name] = _LONG_DIGITS.sub(lambda run: mask_digits(run.group()), value)
    return record


def iso_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> float:
    """Epoch seconds from ISO-8601 (`2026-12-03T08:00:00Z`, a date, an offset; naive = UTC) or
    epoch seconds; ValueError otherwise."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
