"""What the flows need from the registry, as records and a Protocol (no storage here).

The gateway's registry implementations satisfy `Registry`; flows never import them. The seam is
privacy-minimal, because a network registry (docs/registry-api.yaml) sits behind it: the rules
ask yes/no questions about a requester's SIM, a device and a cartable, and never learn another
person's national ID, a birth date or a cartable's full numbers. The raw records (`SimRecord`,
`DeviceRecord`, `PersonRecord`) remain for fixtures, `registry show` and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

SimStatus = Literal["active", "expired"]


@dataclass(frozen=True, slots=True)
class SimRecord:
    msisdn: str
    owner: str
    status: SimStatus


@dataclass(frozen=True, slots=True)
class DeviceRecord:
    """A device's one home: a national-ID cartable, or a SIM cartable (sim + registered_owner)."""

    imei: str
    model: str = ""
    national_id: str = ""
    sim: str = ""
    registered_owner: str = ""

    @property
    def in_national_id_cartable(self) -> bool:
        return bool(self.national_id)


Destination = Literal["sim_cartable", "national_id_cartable"]


@dataclass(frozen=True, slots=True)
class RestoreMove:
    """A confirmed restore: move `imei` from SIM cartable `from_sim` into the requester's home:
    the national-ID cartable of the requester SIM's owner, or the requester's SIM cartable
    (registered to that owner). The registry resolves the owner itself."""

    imei: str
    from_sim: str
    requester: str
    destination: Destination = "sim_cartable"
    operation_id: str = ""
    message_id: str = ""

    @property
    def into_national_id_cartable(self) -> bool:
        return self.destination == "national_id_cartable"


@dataclass(frozen=True, slots=True)
class SimCheck:
    """A SIM as the rules may see it: never who owns it, only whether it is the person asked."""

    status: SimStatus
    has_owner: bool
    owner_matches: bool = False  # the owner is the national ID asked about (False: none asked)
    in_owner_cartable: bool = False  # the SIM is in its owner's national-ID cartable


@dataclass(frozen=True, slots=True)
class DeviceCheck:
    """A device seen from a requester's SIM and the old number they gave (DESIGN §1 "Restore a
    device"), as facts without identifiers."""

    in_national_id_cartable: bool
    owner_is_requester: bool  # its cartable's person / registered owner owns the requester's SIM
    on_old_sim: bool = False  # in the SIM cartable of the old number given
    on_requester_sim: bool = False  # in the requester's own SIM cartable
    attached: bool = False  # its SIM cartable's SIM is active and still its registered owner's


def device_check(
    device: DeviceRecord, owner: str, requester: str, old_sim: str, home: SimRecord | None
) -> DeviceCheck:
    """The facts about `device` for a requester whose SIM's owner is `owner` ('' for none),
    `home` being the SIM of its SIM cartable: one reading for every registry backend."""
    if device.in_national_id_cartable:
        return DeviceCheck(True, bool(owner) and device.national_id == owner)
    attached = home is not None and home.status == "active" and home.owner == device.registered_owner
    return DeviceCheck(
        False,
        bool(owner) and device.registered_owner == owner,
        on_old_sim=device.sim == old_sim,
        on_requester_sim=device.sim == requester,
        attached=attached,
    )


@dataclass(frozen=True, slots=True)
class CartableSummary:
    """A national-ID cartable for a password recovery: counts, and the usable SIMs masked."""

    sim_count: int
    usable_sims: tuple[str, ...]  # masked (0912***0001), sorted
    requester_usable: bool
    device_count: int


@dataclass(frozen=True, slots=True)
class PersonRecord:
    national_id: str
    birth_date: str  # Jalali, "YYYY/MM/DD"
    cartable_sims: tuple[str, ...] | None  # None: no national-ID cartable


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """A confirmed password recovery for `national_id`, asked from `requester` (R3, R5)."""

    national_id: str
    requester: str
    add_requester: bool
    operation_id: str = ""
    message_id: str = ""


class MoveResult(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    CONFLICT = "conflict"


class RegistryUnavailable(Exception):
    """The registry could not answer now (down, slow past the turn's deadline, refusing our
    credentials): the turn is not committed as a state change and the citizen is told to try
    again in a few minutes."""


class Registry(Protocol):
    """The registry seam: questions, and the two changes a flow confirms (each atomic).
    Any method may raise `RegistryUnavailable`."""

    async def check_sim(self, msisdn: str, national_id: str = "") -> SimCheck | None:
        """None for an unknown number; `owner_matches` compares with `national_id` if given."""
        ...

    async def check_device(self, imei: str, requester: str, old_sim: str) -> DeviceCheck | None:
        """None for an unknown IMEI; `owner_is_requester` is False when the requester's SIM is
        unknown or has no owner."""
        ...

    async def cartable(self, national_id: str, requester: str) -> CartableSummary | None:
        """None when the person is unknown or has no national-ID cartable. A SIM is usable when
        active and still owned by the cartable's person."""
        ...

    async def verify_birth_date(self, national_id: str, birth_date: str) -> bool:
        """True when the person exists and was born on `birth_date` (Jalali "YYYY/MM/DD")."""
        ...

    async def restore_device(self, move: RestoreMove) -> MoveResult:
        """Apply `move` atomically, once per `move.operation_id` (ALREADY_APPLIED after).
        CONFLICT when the requester's SIM is no longer active with an owner, the device is no
        longer on `from_sim` registered to that owner, that SIM is active and owned by them
        again (the device is attached after all), or a national-ID destination no longer
        holds the requester's SIM."""
        ...

    async def recover_password(self, change: PasswordChange, new_password: str) -> tuple[MoveResult, int]:
        """Add the requester's SIM if asked and set the new password (hashed by the registry),
        atomically, once per operation; returns the outcome and the cartable's device count
        (CONFLICT and 0 when the person has no national-ID cartable).
        Run again for the same operation it changes nothing (the flow derives the password
        from the operation, so a retried turn texts the same one)."""
        ...
