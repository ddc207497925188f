"""`MemoryRegistry`: the `Registry` seam over plain dicts, for flow tests (no I/O).

It gives the outcomes of the Redis registry's Lua scripts (gateway/store/lua): a restore or a
password recovery applies once per operation id, a registry that changed since the flow decided
is a CONFLICT, a password is kept only as its scrypt hash, and every applied change is appended
to `audit` (with its operation and message ids). Operation ids never expire here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flows.normalize import mask_msisdn
from flows.password_hash import hash_password
from flows.ports import (
    CartableSummary,
    DeviceCheck,
    DeviceRecord,
    MoveResult,
    PasswordChange,
    PersonRecord,
    Registry,
    RestoreMove,
    SimCheck,
    SimRecord,
    device_check,
)

AuditEntry = RestoreMove | PasswordChange


@dataclass(slots=True)
class _Person:
    birth_date: str
    cartable: set[str] | None  # None: no national-ID cartable
    password_hash: str | None = None


class MemoryRegistry(Registry):
    def __init__(
        self,
        people: Iterable[PersonRecord] = (),
        sims: Iterable[SimRecord] = (),
        devices: Iterable[DeviceRecord] = (),
        passwords: Mapping[str, str] | None = None,
    ) -> None:
        """`passwords` maps a national ID to its cartable's password; only its hash is kept."""
        self._people = {
            p.national_id: _Person(p.birth_date, None if p.cartable_sims is None else set(p.cartable_sims))
            for p in people
        }
        self._sims = {sim.msisdn: sim for sim in sims}
        self._devices = {device.imei: device for device in devices}
        self._operations: set[str] = set()
        self._audit: list[AuditEntry] = []
        for national_id, password in (passwords or {}).items():
            self._people[national_id].password_hash = hash_password(password)

    # -- Registry

    async def check_sim(self, msisdn: str, national_id: str = "") -> SimCheck | None:
        sim = self._sims.get(msisdn)
        if sim is None:
            return None
        owner = self._people.get(sim.owner)
        in_cartable = owner is not None and owner.cartable is not None and msisdn in owner.cartable
        return SimCheck(
            sim.status, bool(sim.owner), bool(national_id) and sim.owner == national_id, in_cartable
        )

    async def check_device(self, imei: str, requester: str, old_sim: str) -> DeviceCheck | None:
        device = self._devices.get(imei)
        if device is None:
            return None
        requester_sim = self._sims.get(requester)
        owner = requester_sim.owner if requester_sim is not None else ""
        home = None if device.in_national_id_cartable else self._sims.get(device.sim)
        return device_check(device, owner, requester, old_sim, home)

    async def cartable(self, national_id: str, requester: str) -> CartableSummary | None:
        person = self._people.get(national_id)
        if person is None or person.cartable is None:
            return None
        usable = sorted(sim for sim in person.cartable if self._usable(sim, national_id))
        return CartableSummary(
            len(person.cartable),
            tuple(mask_msisdn(sim) for sim in usable),
            requester in usable,
            self.national_id_device_count(national_id),
        )

    async def verify_birth_date(self, national_id: str, birth_date: str) -> bool:
        person = self._people.get(national_id)
        return person is not None and person.birth_date == birth_date

    # -- the raw records (fixtures, tests)

    async def sim(self, msisdn: str) -> SimRecord | None:
        return self._sims.get(msisdn)

    async def device(self, imei: str) -> DeviceRecord | None:
        return self._devices.get(imei)

    async def cartable_sims(self, national_id: str) -> list[str] | None:
        person = self._people.get(national_id)
        return None if person is None or person.cartable is None else sorted(person.cartable)

    async def person(self, national_id: str) -> PersonRecord | None:
        person = self._people.get(national_id)
        if person is None:
            return None
        sims = None if person.cartable is None else tuple(sorted(person.cartable))
        return PersonRecord(national_id, person.birth_date, sims)

    async def restore_device(self, move: RestoreMove) -> MoveResult:
        if move.operation_id in self._operations:
            return MoveResult.ALREADY_APPLIED
        owner = self._requester_owner(move)
        if owner is None or self._moved_meanwhile(move, owner):
            return MoveResult.CONFLICT
        device = self._devices[move.imei]
        if move.into_national_id_cartable:
            device = dataclasses.replace(device, sim="", registered_owner="", national_id=owner)
        else:
            device = dataclasses.replace(device, sim=move.requester, registered_owner=owner)
        self._devices[move.imei] = device
        self._applied(move.operation_id, move)
        return MoveResult.APPLIED

    async def recover_password(self, change: PasswordChange, new_password: str) -> tuple[MoveResult, int]:
        devices = self.national_id_device_count(change.national_id)
        if change.operation_id in self._operations:
            return MoveResult.ALREADY_APPLIED, devices
        person = self._people.get(change.national_id)
        if person is None or person.cartable is None:
            return MoveResult.CONFLICT, 0
        if change.add_requester:
            person.cartable.add(change.requester)
        person.password_hash = hash_password(new_password)
        self._applied(change.operation_id, change)
        return MoveResult.APPLIED, devices

    # -- what tests inspect and change

    @property
    def audit(self) -> tuple[AuditEntry, ...]:
        """Every applied change, oldest first."""
        return tuple(self._audit)

    def password_hash(self, national_id: str) -> str | None:
        """The stored hash of the cartable's password; None without a cartable or a password."""
        person = self._people.get(national_id)
        return None if person is None else person.password_hash

    def national_id_device_count(self, national_id: str) -> int:
        return sum(device.national_id == national_id for device in self._devices.values())

    def put_device(self, device: DeviceRecord) -> None:
        """Replace (or add) a device record, as another process changing the registry would."""
        self._devices[device.imei] = device

    def put_sim(self, sim: SimRecord) -> None:
        """Replace (or add) a SIM record, as another process changing the registry would."""
        self._sims[sim.msisdn] = sim

    # -- helpers

    def _usable(self, msisdn: str, national_id: str) -> bool:
        sim = self._sims.get(msisdn)
        return sim is not None and sim.status == "active" and sim.owner == national_id

    def _requester_owner(self, move: RestoreMove) -> str | None:
        """The owner of the requester's SIM, if still active and owned, and (for a national-ID
        destination) the SIM still in that owner's cartable."""
        sim = self._sims.get(move.requester)
        if sim is None or sim.status != "active" or not sim.owner:
            return None
        person = self._people.get(sim.owner)
        in_cartable = person is not None and person.cartable is not None and move.requester in person.cartable
        if move.into_national_id_cartable and not in_cartable:
            return None
        return sim.owner

    def _moved_meanwhile(self, move: RestoreMove, owner: str) -> bool:
        """The device is no longer detached on `move.from_sim` for `owner`."""
        device = self._devices.get(move.imei)
        if device is None or device.national_id:
            return True
        if (device.sim, device.registered_owner) != (move.from_sim, owner):
            return True
        old = self._sims.get(move.from_sim)
        return old is not None and old.status == "active" and old.owner == owner

    def _applied(self, operation_id: str, change: AuditEntry) -> None:
        self._operations.add(operation_id)
        self._audit.append(change)
