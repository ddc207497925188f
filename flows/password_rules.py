"""Cartable-password recovery rules R3, R5, R6 (DESIGN §1 "Recover the cartable password")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import jdatetime

from flows.birth_date import format_jalali
from flows.ports import Registry


class PasswordVerdict(StrEnum):
    MISMATCH = "mismatch"
    RESET = "reset"  # the requester is already a usable SIM of the cartable
    ADD_AND_RESET = "add_and_reset"  # every cartable SIM is gone: add the requester (R3, R5)
    OTHER_SIM_USABLE = "other_sim_usable"  # R6: use one of those numbers


@dataclass(frozen=True, slots=True)
class PasswordDecision:
    verdict: PasswordVerdict
    usable_sims: tuple[str, ...] = ()


async def decide_password(
    registry: Registry, requester: str, requester_owner: str, national_id: str,
    birth_date: jdatetime.date,
) -> PasswordDecision:
    person = await registry.person(national_id)
    if (
        person is None
        or person.cartable_sims is None
        or person.birth_date != format_jalali(birth_date)
        or requester_owner != national_id
    ):
        return PasswordDecision(PasswordVerdict.MISMATCH)
    usable = tuple([sim for sim in person.cartable_sims if await _usable(registry, sim, national_id)])
    if requester in usable:
        return PasswordDecision(PasswordVerdict.RESET)
    if usable:
        return PasswordDecision(PasswordVerdict.OTHER_SIM_USABLE, usable)
    return PasswordDecision(PasswordVerdict.ADD_AND_RESET)


async def _usable(registry: Registry, msisdn: str, national_id: str) -> bool:
    """Active and still owned by the cartable's person."""
    sim = await registry.sim(msisdn)
    return sim is not None and sim.status == "active" and sim.owner == national_id
