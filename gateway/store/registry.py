"""The embedded registry, the default behind the flows' one registry interface
(`flows.ports.Registry`; `flows.memory_registry.MemoryRegistry` is the in-memory one for tests).

Every record lives under the `{reg}` hash tag; a restore is one Lua script (checks, move,
operation marker, audit record), so it is atomic and applied once per operation. Beyond the
interface it loads fixtures (`registry load`), shows records (`registry show`), and is what the
reference server (`registry serve`, gateway/registry_http/server.py) puts behind the HTTP API.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Mapping
from typing import Any, cast

from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from flows.normalize import mask_msisdn
from flows.password_hash import hash_password
from flows.ports import (
    CartableSummary,
    DeviceCheck,
    DeviceRecord,
    MoveResult,
    PasswordChange,
    PersonRecord,
    RestoreMove,
    SimCheck,
    SimRecord,
    SimStatus,
    device_check,
)
from gateway.store.audit import index_args, index_keys
from gateway.store.fixtures import Fixture
from gateway.store.keys import Keys
from gateway.store.scripts import ScriptArg, load_script
from gateway.store.streams import entry_fields

OPERATION_TTL_SECONDS = 30 * 86400
INDEXES = ("people", "sims", "devices")


class RedisRegistry:
    """The embedded registry. Its reads are single commands awaited together (`gather`), so on
    the gateway's coalescing client (gateway/store/batching.py) they travel with the other
    turns' commands instead of each taking a pipeline and a connection of their own."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._restore = load_script(redis, "restore_device.lua")
        self._recover_password = load_script(redis, "recover_password.lua")

    # -- the flows' seam (flows.ports.Registry)

    async def check_sim(self, msisdn: str, national_id: str = "") -> SimCheck | None:
        sim = await self.sim(msisdn)
        if sim is None:
            return None
        in_cartable = bool(sim.owner) and await self._in_cartable(sim.owner, msisdn)
        return SimCheck(
            sim.status, bool(sim.owner), bool(national_id) and sim.owner == national_id, in_cartable
        )

    async def check_device(self, imei: str, requester: str, old_sim: str) -> DeviceCheck | None:
        device, owner = await asyncio.gather(  # independent reads: one round trip, not two
            self.device(imei), self._redis.hget(self._keys.sim(requester), "owner"))
        if device is None:
            return None
        home = None if device.in_national_id_cartable else await self.sim(device.sim)
        return device_check(device, str(owner or ""), requester, old_sim, home)

    async def cartable(self, national_id: str, requester: str) -> CartableSummary | None:
        k = self._keys
        has_cartable, sims, devices = await asyncio.gather(
            self._redis.hget(k.person(national_id), "cartable"),
            self._redis.smembers(k.cartable(national_id)),
            self._redis.scard(k.national_id_devices(national_id)))
        if not has_cartable:
            return None
        ordered = sorted(cast(set[str], sims))  # decode_responses: every reply is a str
        records = await asyncio.gather(*(self._redis.hmget(k.sim(msisdn), "status", "owner")
                                         for msisdn in ordered))
        usable = [
            msisdn
            for msisdn, (status, owner) in zip(ordered, records, strict=True)
            if status == "active" and owner == national_id
        ]
        return CartableSummary(
            len(ordered), tuple(mask_msisdn(sim) for sim in usable), requester in usable, int(devices)
        )

    async def verify_birth_date(self, national_id: str, birth_date: str) -> bool:
        stored = await self._redis.hget(self._keys.person(national_id), "birth_date")
        return stored is not None and hmac.compare_digest(str(stored), birth_date)

    async def _in_cartable(self, national_id: str, msisdn: str) -> bool:
        has_cartable, member = await asyncio.gather(
            self._redis.hget(self._keys.person(national_id), "cartable"),
            self._redis.sismember(self._keys.cartable(national_id), msisdn))
        return bool(has_cartable) and bool(member)

    # -- the raw records (`registry show`, the reference server, tests)

    async def sim(self, msisdn: str) -> SimRecord | None:
        record = _decoded(await self._redis.hgetall(self._keys.sim(msisdn)))
        if not record:
            return None
        # Only `registry load` writes a SIM, and it validated the status.
        return SimRecord(msisdn=msisdn, owner=record["owner"], status=cast(SimStatus, record["status"]))

    async def device(self, imei: str) -> DeviceRecord | None:
        record = _decoded(await self._redis.hgetall(self._keys.device(imei)))
        return DeviceRecord(imei=imei, **record) if record else None

    async def cartable_sims(self, national_id: str) -> list[str] | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(self._keys.person(national_id), "cartable")
            pipe.smembers(self._keys.cartable(national_id))
            has_cartable, sims = await pipe.execute()
        return sorted(sims) if has_cartable else None

    async def restore_device(self, move: RestoreMove) -> MoveResult:
        k = self._keys
        # The owner names the keys; the script checks it again (a SIM changing owner between
        # this read and the script is a CONFLICT, never a move to the wrong person).
        owner = str(await self._redis.hget(k.sim(move.requester), "owner") or "")
        target = (
            k.national_id_devices(owner) if move.into_national_id_cartable else k.sim_devices(move.requester)
        )
        keys = [
            k.device(move.imei),
            k.operation(move.operation_id),
            k.sim_devices(move.from_sim),
            target,
            k.audit(),
            k.sim(move.from_sim),
            k.sim(move.requester),
            k.cartable(owner),
            k.person(owner),
            *index_keys(k, imeis=[move.imei], msisdns=[move.from_sim, move.requester],
                        national_ids=[owner]),
        ]
        args: list[ScriptArg] = [
            move.imei,
            move.from_sim,
            owner,
            move.requester,
            move.destination,
            move.message_id,
            OPERATION_TTL_SECONDS,
            move.operation_id,
            *index_args(),
        ]
        return MoveResult(await self._restore(keys=keys, args=args))

    async def person(self, national_id: str) -> PersonRecord | None:
        (birth_date, cartable), sims = cast(tuple[list[str | None], set[str]], await asyncio.gather(
            self._redis.hmget(self._keys.person(national_id), "birth_date", "cartable"),
            self._redis.smembers(self._keys.cartable(national_id))))
        if birth_date is None:
            return None
        return PersonRecord(national_id, birth_date, tuple(sorted(sims)) if cartable else None)

    async def recover_password(self, change: PasswordChange, new_password: str) -> tuple[MoveResult, int]:
        # scrypt is deliberately slow (~50 ms): hash off the event loop.
        return await self.recover_password_hashed(
            change, await asyncio.to_thread(hash_password, new_password)
        )

    async def recover_password_hashed(
        self, change: PasswordChange, password_hash: str
    ) -> tuple[MoveResult, int]:
        """`recover_password` with the hash made by the caller (the HTTP API carries only it)."""
        k, nid = self._keys, change.national_id
        keys = [
            k.person(nid),
            k.cartable(nid),
            k.operation(change.operation_id),
            k.audit(),
            k.national_id_devices(nid),
            *index_keys(k, national_ids=[nid], msisdns=[change.requester]),
        ]
        args: list[ScriptArg] = [
            nid,
            change.requester,
            "1" if change.add_requester else "0",
            password_hash,
            OPERATION_TTL_SECONDS,
            change.message_id,
            change.operation_id,
            *index_args(),
        ]
        result, devices = await self._recover_password(keys=keys, args=args)
        return MoveResult(result), int(devices)

    async def load(self, fixture: Fixture) -> None:
        old = await self._existing_keys()
        async with self._redis.pipeline(transaction=True) as pipe:
            if old:  # (a Redis Cluster pipeline's `unlink` is a coroutine: queue it plainly)
                pipe.execute_command("UNLINK", *old)
            self._write(pipe, fixture)
            pipe.xadd(
                self._keys.audit(),
                _audit("registry_load", loaded_at=str(time.time())),
                maxlen=1_000_000,
                approximate=True,
            )
            await pipe.execute()

    async def _existing_keys(self) -> list[str]:
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            for kind in INDEXES:
                pipe.smembers(k.registry_index(kind))
            people, sims, devices = await pipe.execute()
        found = [k.registry_index(kind) for kind in INDEXES]
        for nid in people:
            found += [k.person(nid), k.cartable(nid), k.national_id_devices(nid)]
        for msisdn in sims:
            found += [k.sim(msisdn), k.sim_devices(msisdn)]
        found += [k.device(imei) for imei in devices]
        return found

    def _write(self, pipe: Any, fixture: Fixture) -> None:
        k = self._keys
        for nid, person in fixture.people.items():
            fields = {"birth_date": person.birth_date}
            if person.cartable is not None:
                fields |= {"cartable": "1", "password_hash": hash_password(person.cartable.password)}
                if person.cartable.sims:
                    pipe.sadd(k.cartable(nid), *person.cartable.sims)
            pipe.hset(k.person(nid), mapping=fields)
            pipe.sadd(k.registry_index("people"), nid)
        for msisdn, sim in fixture.sims.items():
            pipe.hset(k.sim(msisdn), mapping={"owner": sim.owner, "status": sim.status})
            pipe.sadd(k.registry_index("sims"), msisdn)
        for imei, device in fixture.devices.items():
            fields = device.model_dump(exclude={"imei"}, exclude_defaults=True)
            pipe.hset(k.device(imei), mapping=fields or {"model": ""})
            home = (
                k.national_id_devices(device.national_id) if device.national_id else k.sim_devices(device.sim)
            )
            pipe.sadd(home, imei)
            pipe.sadd(k.registry_index("devices"), imei)

    async def show(self, kind: str, value: str) -> dict[str, Any] | None:
        shows = {"imei": self._show_device, "msisdn": self._show_sim, "national-id": self._show_person}
        return await shows[kind](value)

    async def _show_device(self, imei: str) -> dict[str, Any] | None:
        device = await self.device(imei)
        if device is None:
            return None
        shown: dict[str, Any] = {"imei": imei, "model": device.model}
        if device.in_national_id_cartable:
            shown["home"] = {"national_id": device.national_id}
            return shown
        sim = await self.sim(device.sim)
        detached = sim is None or sim.status != "active" or sim.owner != device.registered_owner
        shown["home"] = {"sim": device.sim, "registered_owner": device.registered_owner}
        shown["detached"] = detached
        return shown

    async def _show_sim(self, msisdn: str) -> dict[str, Any] | None:
        sim = await self.sim(msisdn)
        if sim is None:
            return None
        devices = await self._redis.smembers(self._keys.sim_devices(msisdn))
        return {"msisdn": msisdn, "owner": sim.owner, "status": sim.status, "devices": sorted(devices)}

    async def _show_person(self, national_id: str) -> dict[str, Any] | None:
        k = self._keys
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(k.person(national_id))
            pipe.smembers(k.cartable(national_id))
            pipe.smembers(k.national_id_devices(national_id))
            person, sims, devices = await pipe.execute()
        if not person:
            return None
        shown: dict[str, Any] = {"national_id": national_id, "birth_date": person["birth_date"]}
        shown["cartable"] = (
            {"sims": sorted(sims), "device_count": len(devices), "devices": sorted(devices)}
            if person.get("cartable")
            else None
        )
        return shown


def _decoded(record: Mapping[Any, Any]) -> dict[str, str]:
    """A hash as the gateway's client returns it (decode_responses=True: str keys and values)."""
    return {str(name): str(value) for name, value in record.items()}


def _audit(action: str, **fields: str) -> dict[FieldT, EncodableT]:
    return entry_fields({"action": action, **fields})
