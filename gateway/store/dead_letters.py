"""Dead letters: what could not be handled (a turn that failed) or sent (a permanent SMSC
refusal), kept for an operator to look at, and kept privately: numbers masked, no text unless
`privacy.keep_dead_letter_text` (codes and passwords never), and nothing older than
`privacy.dead_letter_ttl_seconds` (entries trimmed by id time; the stream expires when idle)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows.normalize import mask_msisdn
from gateway.messages import InboundMessage, OutboundMessage
from gateway.store.keys import Keys
from gateway.store.streams import entry_fields

MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class DeadLetters:
    keys: Keys
    ttl_seconds: int = 7 * 86400
    keep_text: bool = False

    def stage_inbound(self, pipe: Any, message: InboundMessage, reason: str) -> None:
        fields = {"inbound_id": message.id, "sender": mask_msisdn(message.sender),
                  "channel": message.channel, "transport": message.transport,
                  "received_at": f"{message.received_at:.3f}", "reason": reason}
        self._stage(pipe, fields, message.text)

    def stage_outbound(self, pipe: Any, message: OutboundMessage, reason: str) -> None:
        fields = {"outbound_id": message.id, "recipient": mask_msisdn(message.recipient),
                  "channel": message.channel, "kind": message.kind, "reason": reason}
        self._stage(pipe, fields, message.text if message.kind == "reply" else "")

    def _stage(self, pipe: Any, fields: Mapping[str, str], text: str) -> None:
        kept = {**fields, "text": text} if self.keep_text and text else dict(fields)
        oldest_ms = int((time.time() - self.ttl_seconds) * 1000)
        key = self.keys.dead_letters()
        pipe.xadd(key, entry_fields(kept), maxlen=MAX_ENTRIES, approximate=True)
        pipe.xtrim(key, minid=f"{oldest_ms}-0", approximate=True)
        pipe.expire(key, self.ttl_seconds)
