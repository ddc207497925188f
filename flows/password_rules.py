"""Cartable-password recovery rules R3, R5, R6 (DESIGN §1 "Recover the cartable password")."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import jdatetime

from flows.birth_date import format_jalali
from flows.ports import Registry, SimCheck


class PasswordVerdict(StrEnum):
    MISMATCH = "mismatch"
    RESET = "reset"  # the requester is already a usable SIM of the cartable
    ADD_AND_RESET = "add_and_reset"  # every cartable SIM is gone: add the requester (R3, R5)
    OTHER_SIM_USABLE = "other_sim_usable"  # R6: use one of those numbers


@dataclass(frozen=True, slots=True)
class PasswordDecision:
    verdict: PasswordVerdict
    usable_sims: tuple[str, ...] = ()  # masked


async def decide_password(
    registry: Registry,
    requester: str,
    requester_sim: SimCheck,
    national_id: str,
    birth_date: jdatetime.date,
) -> PasswordDecision:
    """`requester_sim` is the registry's answer for the requester's SIM asked with `national_id`.
    Every failed check is the same MISMATCH, whichever it was."""
    if not requester_sim.owner_matches:
        return PasswordDecision(PasswordVerdict.MISMATCH)
    if not await registry.verify_birth_date(national_id, format_jalali(birth_date)):
        return PasswordDecision(PasswordVerdict.MISMATCH)
    cartable = await registry.cartable(national_id, requester)
    if cartable is None:
        return PasswordDecision(PasswordVerdict.MISMATCH)
    if cartable.requester_usable:
        return PasswordDecision(PasswordVerdict.RESET)
    if cartable.usable_sims:
        return PasswordDecision(PasswordVerdict.OTHER_SIM_USABLE, cartable.usable_sims)
    return PasswordDecision(PasswordVerdict.ADD_AND_RESET)
