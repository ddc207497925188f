"""Every Redis key the gateway uses, in one place.

Per-number data lives in a partition (`{p7}` hash tag): its inbound and outbound streams and the
subscriber records, so one number's turn commits in one slot of a Redis Cluster. The registry is
one hash tag (`{reg}`) so its Lua moves stay atomic.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

INBOUND_GROUP = "workers"
OUTBOUND_GROUP = "senders"


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str = "hamta"
    partitions: int = 16

    def partition_of(self, msisdn: str) -> int:
        return zlib.crc32(msisdn.encode("ascii")) % self.partitions

    def _p(self, partition: int) -> str:
        return f"{self.prefix}:{{p{partition}}}"

    def inbound(self, partition: int) -> str:
        return f"{self._p(partition)}:in"

    def outbound(self, partition: int) -> str:
        """Replies of dialogs in progress (and every USSD screen, code and password): sent first."""
        return f"{self._p(partition)}:out"

    def outbound_sessionless(self, partition: int) -> str:
        """Replies to numbers with no dialog in progress (menu, help, notices): sent under the
        process's `limits.sessionless_segments_per_second` ceiling, after nobody else waits."""
        return f"{self._p(partition)}:out-sessionless"

    def sessionless_queued(self, msisdn: str) -> str:
        """How many of the number's replies wait in the sessionless lane: while any do, its
        other replies queue behind them there, so a number's replies never overtake each other."""
        return f"{self._p(self.partition_of(msisdn))}:sessionless-queued:{msisdn}"

    def outbound_lanes(self, partition: int) -> tuple[str, str]:
        return self.outbound(partition), self.outbound_sessionless(partition)

    def subscriber(self, msisdn: str) -> str:
        return f"{self._p(self.partition_of(msisdn))}:sub:{msisdn}"

    def session(self, msisdn: str) -> str:
        """The number's open conversation: expires with the session's idle time."""
        return f"{self._p(self.partition_of(msisdn))}:session:{msisdn}"

    def mo_parts(self, partition: int, sender: str, recipient: str, ref: int, total: int) -> str:
        return f"{self._p(partition)}:mo-parts:{sender}:{recipient}:{ref}:{total}"

    def mo_parts_pending(self, partition: int) -> str:
        """Parts hashes not complete yet, scored by when they expire (swept and counted)."""
        return f"{self._p(partition)}:mo-parts-pending"

    def stats(self, partition: int) -> str:
        """Counters of what happened in the partition that no message tells (expired parts)."""
        return f"{self._p(partition)}:stats"

    def mo_seen(self, partition: int, fingerprint: str) -> str:
        return f"{self._p(partition)}:mo-seen:{fingerprint}"

    def lease(self, partition: int) -> str:
        return f"{self._p(partition)}:lease"

    def ussd_screen(self, session_id: str) -> str:
        """The list a USSD session's next screen waits on for its HTTP request. The session id
        (for HTTP: aggregator, the aggregator's sessionId and the number, see
        gateway/transports/http_callbacks.py) is hashed: no number appears in a key name."""
        digest = hashlib.blake2b(session_id.encode("utf-8", "surrogatepass"), digest_size=16)
        return f"{self.prefix}:ussd-screen:{digest.hexdigest()}"

    def http_seen(self, partition: int, dedupe_key: str) -> str:
        """In the partition of the stream it guards: one Lua script checks it and appends."""
        return f"{self._p(partition)}:http-seen:{dedupe_key}"

    def members(self) -> str:
        return f"{self.prefix}:members"

    def standby_members(self) -> str:
        """Processes without an SMPP bind, working partitions only while nobody has one."""
        return f"{self.prefix}:members-standby"

    def receipt(self, smsc_message_id: str) -> str:
        return f"{self.prefix}:receipt:{smsc_message_id}"

    def dead_letters(self) -> str:
        return f"{self.prefix}:dead-letters"

    # registry
    def _reg(self) -> str:
        return f"{self.prefix}:{{reg}}"

    def sim(self, msisdn: str) -> str:
        return f"{self._reg()}:sim:{msisdn}"

    def device(self, imei: str) -> str:
        return f"{self._reg()}:device:{imei}"

    def person(self, national_id: str) -> str:
        return f"{self._reg()}:person:{national_id}"

    def cartable(self, national_id: str) -> str:
        return f"{self._reg()}:cartable:{national_id}"

    def sim_devices(self, msisdn: str) -> str:
        return f"{self._reg()}:sim-devices:{msisdn}"

    def national_id_devices(self, national_id: str) -> str:
        return f"{self._reg()}:nid-devices:{national_id}"

    def registry_index(self, kind: str) -> str:
        return f"{self._reg()}:index:{kind}"

    def operation(self, operation_id: str) -> str:
        return f"{self._reg()}:op:{operation_id}"

    def audit(self) -> str:
        return f"{self._reg()}:audit"

    def audit_index(self, kind: str, value: str) -> str:
        """The newest audit entry ids naming one IMEI, number or national ID (capped); the
        value is hashed, so no clear ID appears in a key name."""
        digest = hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=16, person=b"hamta-audit-ix")
        return f"{self._reg()}:audit-ix:{kind}:{digest.hexdigest()}"

    def registry_idempotency(self, key: str) -> str:
        """`registry serve`: a change's first answer under its Idempotency-Key (with a TTL)."""
        return f"{self._reg()}:idem:{key}"
