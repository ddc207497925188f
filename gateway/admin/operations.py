"""The operator's actions, one implementation behind two front ends: the admin API
(gateway/admin/http_api.py) and `hamta-gateway admin …` / `audit …` (gateway/admin/commands.py),
which works on Redis directly with no gateway running.

Everything shown is masked (numbers 0912***4567, IDs 35***81, birth dates ***); every action
that changes something writes an audit record (who: admin, via api or cli, what, the target
masked, indexed by the number's hash so `audit --msisdn` finds it).

A reset races a turn in flight for the same number: if that turn commits after the reset, it
writes the state it loaded before it. The reset is a transaction on the number's records
(WATCH), so it is never half done; run it again if the number was mid-turn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import WatchError

from flows.catalog import Language
from flows.normalize import mask_digits, mask_msisdn
from flows.session import Subscriber
from gateway.limits import WINDOW_SECONDS
from gateway.sealing import Sealer
from gateway.settings import Settings
from gateway.store.audit import AuditLog, iso_time
from gateway.store.dead_letters import DeadLetterStore, NotReplayable
from gateway.store.keys import INBOUND_GROUP, OUTBOUND_GROUP, Keys
from gateway.store.subscribers import parse_subscriber, stored_state

Via = Literal["api", "cli"]
RESET_TRIES = 5


class AdminError(Exception):
    """An action that cannot be done as asked; `status` is the HTTP status it maps to."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Limits:
    lockout_strikes: int
    lockout_seconds: int
    codes_per_hour: int
    codes_per_day: int
    reply_burst: float
    reply_per_10_minutes: float
    session_idle_seconds: int
    ussd_session_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        s, limits = settings.service, settings.limits
        return cls(s.lockout_strikes, s.lockout_seconds, limits.codes_per_hour, limits.codes_per_day,
                   limits.reply_segments_burst, limits.reply_segments_per_10_minutes,
                   s.session_idle_seconds, settings.ussd.session_seconds)


class AdminOperations:
    def __init__(self, redis: Redis, keys: Keys, limits: Limits, dead_letters: DeadLetterStore,
                 via: Via, default_language: Language = "fa") -> None:
        self._redis = redis
        self._keys = keys
        self._limits = limits
        self._via = via
        self._default_language: Language = default_language
        self.audit = AuditLog(redis, keys)
        self.dead_letters = dead_letters

    # -- subscribers ----------------------------------------------------------------------------

    async def subscriber(self, msisdn: str) -> dict[str, Any]:
        keys = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(keys.subscriber(msisdn))
            pipe.get(keys.session(msisdn))
            pipe.ttl(keys.session(msisdn))
            record, session, session_ttl = await pipe.execute()
        subscriber = parse_subscriber(msisdn, record, session, self._default_language)
        now = time.time()
        return {
            "msisdn": mask_msisdn(msisdn),
            "partition": keys.partition_of(msisdn),
            "known": record is not None or session is not None,
            "language": subscriber.lang,
            "session": _session(subscriber, session_ttl, now, self._limits),
            "lockout": self._lockout(subscriber, now),
            "limits": self._limits_view(subscriber, now),
        }

    def _lockout(self, subscriber: Subscriber, now: float) -> dict[str, Any]:
        locked = subscriber.locked_until > now
        in_window = now - subscriber.strikes_since < self._limits.lockout_seconds
        return {"locked": locked,
                "count": subscriber.strikes if in_window else 0,
                "strikes_to_lock": self._limits.lockout_strikes,
                "until": iso_time(subscriber.locked_until) if locked else None}

    def _limits_view(self, subscriber: Subscriber, now: float) -> dict[str, Any]:
        limits = self._limits
        day = [t for t in subscriber.code_sends_at if t > now - 86400]
        hour = [t for t in day if t > now - 3600]
        tokens = limits.reply_burst if subscriber.reply_tokens is None else subscriber.reply_tokens
        refill = max(now - subscriber.reply_tokens_at, 0.0) * limits.reply_per_10_minutes / WINDOW_SECONDS
        return {
            "codes_hour": {"used": len(hour), "limit": limits.codes_per_hour},
            "codes_day": {"used": len(day), "limit": limits.codes_per_day},
            "replies": {"segments_left": round(min(limits.reply_burst, tokens + refill), 2),
                        "burst": limits.reply_burst, "per_10_minutes": limits.reply_per_10_minutes,
                        "limited": subscriber.reply_limit_told},
        }

    async def reset_session(self, msisdn: str) -> dict[str, Any]:
        """End the number's conversation (the next message starts afresh, without an
        'expired' notice); its language, strikes and limits stay."""
        def change(subscriber: Subscriber) -> None:
            subscriber.session_seen_at = 0.0

        had = await self._reset(msisdn, change, drop_session=True)
        await self._audited("reset_session", msisdn, had_session=str(had).lower())
        return {"ok": True}

    async def reset_lockout(self, msisdn: str) -> dict[str, Any]:
        """Clear the strikes and the lockout; the code and reply limits stay."""
        def change(subscriber: Subscriber) -> None:
            subscriber.strikes, subscriber.strikes_since = 0, 0.0
            subscriber.locked_until = 0.0

        await self._reset(msisdn, change, drop_session=False)
        await self._audited("reset_lockout", msisdn)
        return {"ok": True}

    async def _reset(self, msisdn: str, change: Any, *, drop_session: bool) -> bool:
        """Change the subscriber's record in a WATCH transaction; whether a session existed."""
        record_key, session_key = self._keys.subscriber(msisdn), self._keys.session(msisdn)
        for _ in range(RESET_TRIES):
            async with self._redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(record_key, session_key)
                    raw = await pipe.get(record_key)
                    ttl = await pipe.ttl(record_key)
                    had_session = bool(await pipe.exists(session_key))
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if raw is not None:
                        subscriber = parse_subscriber(msisdn, str(raw), None, self._default_language)
                        change(subscriber)
                        pipe.set(record_key, stored_state(subscriber).subscriber,
                                 ex=ttl if ttl > 0 else None)
                    if drop_session:
                        pipe.delete(session_key)
                    await pipe.execute()
                    return had_session
                except WatchError:
                    continue  # a turn committed meanwhile: read it again
        raise AdminError("the number's state kept changing (a dialog in progress); try again", 409)

    # -- dead letters ---------------------------------------------------------------------------

    async def replay_dead_letter(self, letter_id: str) -> dict[str, Any]:
        try:
            queued = await self.dead_letters.replay(letter_id)
        except NotReplayable as exc:
            raise AdminError(str(exc), 409) from exc
        if queued is None:
            raise AdminError(f"no dead letter {letter_id}", 404)
        await self._audited("dead_letter_replay", target=letter_id)
        return {"ok": True, **queued}

    async def delete_dead_letter(self, letter_id: str) -> dict[str, Any]:
        if not await self.dead_letters.delete(letter_id):
            raise AdminError(f"no dead letter {letter_id}", 404)
        await self._audited("dead_letter_delete", target=letter_id)
        return {"ok": True}

    async def purge_dead_letters(self, letter_ids: list[str] | None = None) -> dict[str, Any]:
        purged = await self.dead_letters.purge(letter_ids)
        await self._audited("dead_letters_purge", target=",".join(letter_ids or ["all"])[:200],
                            count=str(purged))
        return {"ok": True, "purged": purged}

    # -- queues and partitions ------------------------------------------------------------------

    async def queues(self) -> dict[str, Any]:
        """Per partition: stream lengths, and entries delivered to the holder but not yet
        acknowledged (in hand or left by a crash), in one round trip."""
        keys = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in range(keys.partitions):
                for stream in (keys.inbound(partition), *keys.outbound_lanes(partition)):
                    pipe.xlen(stream)
                    pipe.xinfo_groups(stream)
            replies = await pipe.execute(raise_on_error=False)
        rows = []
        for partition in range(keys.partitions):  # outbound: both lanes (gateway/store/keys.py)
            inbound, in_groups, *lanes = replies[partition * 6:partition * 6 + 6]
            rows.append({"partition": partition, "inbound": _int(inbound),
                         "outbound": _int(lanes[0]) + _int(lanes[2]),
                         "inbound_pending": _pending(in_groups, INBOUND_GROUP),
                         "outbound_pending": (_pending(lanes[1], OUTBOUND_GROUP)
                                              + _pending(lanes[3], OUTBOUND_GROUP))})
        return {"partitions": rows,
                "totals": {"inbound": sum(r["inbound"] for r in rows),
                           "outbound": sum(r["outbound"] for r in rows),
                           "dead_letters": await self.dead_letters.count()}}

    async def partitions(self) -> dict[str, Any]:
        keys = self._keys
        now_ms = int(time.time() * 1000)
        async with self._redis.pipeline(transaction=False) as pipe:
            for partition in range(keys.partitions):
                pipe.get(keys.lease(partition))
                pipe.pttl(keys.lease(partition))
            pipe.zrangebyscore(keys.members(), now_ms, "+inf", withscores=True)
            pipe.zrangebyscore(keys.standby_members(), now_ms, "+inf", withscores=True)
            replies = await pipe.execute()
        rows = []
        for partition in range(keys.partitions):
            holder, pttl = replies[partition * 2], replies[partition * 2 + 1]
            rows.append({"partition": partition, "holder": holder,
                         "lease_expires_in": round(pttl / 1000, 3) if holder and pttl > 0 else None})
        held: dict[str, int] = {}
        for row in rows:
            if row["holder"]:
                held[row["holder"]] = held.get(row["holder"], 0) + 1
        def listed(entries: list[tuple[str, float]]) -> list[dict[str, Any]]:
            return [{"member": member, "expires_in": round((score - now_ms) / 1000, 3),
                     "partitions": held.get(member, 0)} for member, score in entries]

        # standby: processes with no SMPP bind, working partitions while nobody has one
        return {"partitions": rows, "members": listed(replies[-2]), "standby": listed(replies[-1]),
                "unheld": [row["partition"] for row in rows if not row["holder"]]}

    # -- audit ----------------------------------------------------------------------------------

    async def _audited(self, what: str, msisdn: str = "", target: str = "", **extra: str) -> None:
        fields = {"action": f"admin_{what}", "who": "admin", "via": self._via,
                  "target": mask_msisdn(msisdn) if msisdn else target, **extra}
        await self.audit.append(fields, msisdns=[msisdn] if msisdn else [])


def _session(subscriber: Subscriber, ttl: int, now: float, limits: Limits) -> dict[str, Any] | None:
    session = subscriber.session
    if session is None:
        return None
    ussd = bool(subscriber.ussd_started_at and now - subscriber.ussd_started_at < limits.ussd_session_seconds)
    collected = {name: shown for name, value, shown in (
        ("imei", session.imei, mask_digits(session.imei)),
        ("old_number", session.old_msisdn, mask_msisdn(session.old_msisdn)),
        ("national_id", session.national_id, mask_digits(session.national_id)),
        ("birth_date", session.birth_date, "***"),
    ) if value}
    return {
        "flow": session.flow, "step": session.state, "language": subscriber.lang,
        "channel": "ussd" if ussd else "sms",
        "idle_expires_in": ttl if ttl >= 0 else None,
        "started_at": iso_time(session.started_at), "last_seen": iso_time(session.last_seen),
        "invalid_inputs": session.invalid_inputs, "mismatches": session.mismatches,
        "code_sends": session.code_sends, "code_pending": bool(session.code_hash),
        "collected": collected,
    }


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _pending(groups: object, name: str) -> int:
    if not isinstance(groups, list):
        return 0  # the stream does not exist yet
    for group in groups:
        if isinstance(group, dict) and group.get("name") == name:
            return int(group.get("pending", 0))
    return 0


def operations_for(settings: Settings, redis: Any, via: Via = "cli") -> AdminOperations:
    """The operator's actions on `redis` (a CLI's or a gateway's client)."""
    keys = Keys(settings.redis.prefix, settings.redis.partitions)
    secret = settings.service.secret_key
    sealer = Sealer(secret.get_secret_value().encode("utf-8")) if secret is not None else None
    return AdminOperations(redis, keys, Limits.of(settings), DeadLetterStore(redis, keys, sealer),
                           via=via, default_language=settings.service.default_language)
