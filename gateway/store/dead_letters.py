"""Dead letters: what could not be handled (a turn that failed) or sent (a permanent SMSC
refusal), kept for an operator to look at, and kept privately: numbers masked, no text unless
`privacy.keep_dead_letter_text` (codes and passwords never), and nothing older than
`privacy.dead_letter_ttl_seconds` (entries trimmed by id time; the stream expires when idle).

To be replayable (`DeadLetterStore.replay`) a letter also keeps the whole original message
*sealed* (AES-GCM under `service.secret_key`, gateway/sealing.py, bound to the letter's
original id), like a queued code: Redis never holds its number or text in clear, and only a
holder of the secret (a gateway process, the admin CLI) can open it to queue it again."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from flows.normalize import mask_msisdn
from gateway.messages import InboundMessage, OutboundMessage, to_stream_fields
from gateway.sealing import Sealer
from gateway.store.audit import iso_time
from gateway.store.keys import Keys
from gateway.store.streams import Entry, entry_fields

MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class DeadLetters:
    keys: Keys
    ttl_seconds: int = 7 * 86400
    keep_text: bool = False
    sealer: Sealer | None = None  # without one, letters are kept but cannot be replayed

    def stage_inbound(self, pipe: Any, message: InboundMessage, reason: str) -> None:
        fields = {"inbound_id": message.id, "sender": mask_msisdn(message.sender),
                  "channel": message.channel, "transport": message.transport,
                  "received_at": f"{message.received_at:.3f}", "reason": reason}
        if self.sealer is not None and message.sender:
            original = {"stream": "in", "fields": to_stream_fields(message)}
            fields["sealed"] = self.sealer.seal(json.dumps(original), _context(message.id))
        self._stage(pipe, fields, message.text)

    def stage_outbound(self, pipe: Any, message: OutboundMessage, reason: str) -> None:
        fields = {"outbound_id": message.id, "recipient": mask_msisdn(message.recipient),
                  "channel": message.channel, "kind": message.kind, "reason": reason}
        if self.sealer is not None:
            original = {"stream": "out", "recipient": message.recipient,
                        "message": message.model_dump_json()}
            fields["sealed"] = self.sealer.seal(json.dumps(original), _context(message.id))
        self._stage(pipe, fields, message.text if message.kind == "reply" else "")

    def _stage(self, pipe: Any, fields: Mapping[str, str], text: str) -> None:
        kept = {**fields, "text": text} if self.keep_text and text else dict(fields)
        oldest_ms = int((time.time() - self.ttl_seconds) * 1000)
        key = self.keys.dead_letters()
        pipe.xadd(key, entry_fields(kept), maxlen=MAX_ENTRIES, approximate=True)
        pipe.xtrim(key, minid=f"{oldest_ms}-0", approximate=True)
        pipe.expire(key, self.ttl_seconds)


def _context(original_id: str) -> str:
    return f"dead-letter:{original_id}"


class NotReplayable(Exception):
    """The letter keeps no sealed original (written before it was kept, or a textless entry),
    or it was sealed under another secret."""


class DeadLetterStore:
    """What an operator does with the dead letters (gateway/admin/): list, replay, delete, purge."""

    def __init__(self, redis: Redis, keys: Keys, sealer: Sealer | None) -> None:
        self._redis = redis
        self._keys = keys
        self._sealer = sealer

    async def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first: masked, the sealed original replaced by whether it can be replayed."""
        entries = cast(list[Entry], await self._redis.xrevrange(self._keys.dead_letters(),
                                                                count=max(1, min(limit, 1000))))
        return [_shown(entry_id, fields) for entry_id, fields in entries]

    async def get(self, letter_id: str) -> dict[str, str] | None:
        found = cast(list[Entry], await self._redis.xrange(self._keys.dead_letters(), min=letter_id,
                                                          max=letter_id))
        return dict(found[0][1]) if found else None

    async def replay(self, letter_id: str) -> dict[str, str] | None:
        """Queue the original again (its partition's inbound or outbound stream) and remove the
        letter; what was queued (stream, new entry id, masked number), or None when no such letter."""
        fields = await self.get(letter_id)
        if fields is None:
            return None
        original = self._open(fields)
        if original["stream"] == "in":
            sender = original["fields"]["sender"]
            stream = self._keys.inbound(self._keys.partition_of(sender))
            entry = {**original["fields"], "received_at": f"{time.time():.3f}"}
            number = sender
        else:
            number = original["recipient"]
            stream = self._keys.outbound(self._keys.partition_of(number))
            entry = {"recipient": number, "message": original["message"]}
        new_id = await self._redis.xadd(stream, entry_fields(entry))
        await self._redis.xdel(self._keys.dead_letters(), letter_id)
        return {"queued_on": original["stream"] + "bound", "entry_id": str(new_id),
                "number": mask_msisdn(number)}

    def _open(self, fields: Mapping[str, str]) -> dict[str, Any]:
        sealed = fields.get("sealed", "")
        original_id = fields.get("inbound_id") or fields.get("outbound_id") or ""
        if not sealed or self._sealer is None:
            raise NotReplayable("this dead letter keeps no sealed original")
        try:
            opened: dict[str, Any] = json.loads(self._sealer.open(sealed, _context(original_id)))
        except ValueError as exc:
            raise NotReplayable(f"the sealed original cannot be opened: {exc}") from exc
        return opened

    async def delete(self, letter_id: str) -> bool:
        return bool(await self._redis.xdel(self._keys.dead_letters(), letter_id))

    async def purge(self, letter_ids: list[str] | None = None) -> int:
        """The given letters, or all of them; how many were removed."""
        key = self._keys.dead_letters()
        if letter_ids:
            return int(await self._redis.xdel(key, *letter_ids))
        count = int(await self._redis.xlen(key))
        await self._redis.delete(key)
        return count

    async def count(self) -> int:
        return int(await self._redis.xlen(self._keys.dead_letters()))


def _shown(entry_id: str, fields: Mapping[str, str]) -> dict[str, Any]:
    shown: dict[str, Any] = {"id": entry_id, "at": iso_time(int(entry_id.split("-", 1)[0]) / 1000)}
    shown |= {name: value for name, value in fields.items() if name != "sealed"}
    shown["replayable"] = bool(fields.get("sealed"))
    return shown
