"""What the flows need from the registry, as records and a Protocol (no storage here).

The gateway's registry implementations satisfy `Registry`; flows never import them.
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


@dataclass(frozen=True, slots=True)
class RestoreMove:
    """A confirmed restore: move `imei` from SIM cartable `from_sim` into a new home."""

    imei: str
    from_sim: str
    registered_owner: str
    to_sim: str = ""
    to_national_id: str = ""
    requester: str = ""
    operation_id: str = ""
    message_id: str = ""


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


class Registry(Protocol):
    """The registry seam: lookups, and the two changes a flow confirms (each atomic)."""

    async def sim(self, msisdn: str) -> SimRecord | None: ...

    async def device(self, imei: str) -> DeviceRecord | None: ...

    async def cartable_sims(self, national_id: str) -> list[str] | None:
        """The SIMs of a person's national-ID cartable, or None when they have none."""
        ...

    async def restore_device(self, move: RestoreMove) -> MoveResult:
        """Apply `move` atomically, once per `move.operation_id` (ALREADY_APPLIED after).
        CONFLICT when the device is no longer on `from_sim` for `registered_owner`, or that SIM
        is active and owned by `registered_owner` again (the device is attached after all)."""
        ...

    async def person(self, national_id: str) -> PersonRecord | None:
        """The person, their cartable's SIMs sorted; None for an unknown national ID."""
        ...

    async def recover_password(self, change: PasswordChange, new_password: str) -> tuple[MoveResult, int]:
        """Add the requester's SIM if asked and set the new password (hashed by the registry),
        atomically, once per operation; returns the outcome and the cartable's device count
        (CONFLICT and 0 when the person has no national-ID cartable).
        Run again for the same operation it changes nothing (the flow derives the password
        from the operation, so a retried turn texts the same one)."""
        ...
