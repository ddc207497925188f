"""Device-restore rules R1, R2, R4 (DESIGN §1 "Restore a device"), as one decision function.

The order of the checks is the spec's; every refusal that could reveal another person's data is
the same `MISMATCH`, so answers never tell which field was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flows.ports import Destination, Registry, RestoreMove, SimCheck


class Verdict(StrEnum):
    ELIGIBLE = "eligible"
    MISMATCH = "mismatch"
    IN_OWN_NATIONAL_ID_CARTABLE = "in_own_national_id_cartable"  # R2
    ALREADY_HERE = "already_here"
    STILL_IN_OTHER_CARTABLE = "still_in_other_cartable"


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    move: RestoreMove | None = None


async def requester_sim(registry: Registry, msisdn: str, national_id: str = "") -> SimCheck | None:
    """Step 1: the requester's SIM must be active with a known owner; returns what the registry
    says of it (compared with `national_id` when given), None when it is not eligible."""
    sim = await registry.check_sim(msisdn, national_id)
    if sim is None or sim.status != "active" or not sim.has_owner:
        return None
    return sim


async def decide(
    registry: Registry, requester: str, requester_sim: SimCheck, imei: str, old: str
) -> Decision:
    """Steps 2-6 for requester M (its SIM `requester_sim`) asking to restore `imei` from `old`."""
    device = await registry.check_device(imei, requester, old)
    if device is None:
        return Decision(Verdict.MISMATCH)
    if device.in_national_id_cartable:
        return Decision(
            Verdict.IN_OWN_NATIONAL_ID_CARTABLE if device.owner_is_requester else Verdict.MISMATCH
        )
    if not device.on_old_sim:
        return Decision(Verdict.MISMATCH)
    if device.on_requester_sim:
        return Decision(Verdict.ALREADY_HERE)
    if device.attached:
        return Decision(Verdict.STILL_IN_OTHER_CARTABLE)
    if not device.owner_is_requester:
        # A recycled number's new owner must never pull the previous owner's devices.
        return Decision(Verdict.MISMATCH)
    destination: Destination = "national_id_cartable" if requester_sim.in_owner_cartable else "sim_cartable"
    return Decision(
        Verdict.ELIGIBLE, RestoreMove(imei, from_sim=old, requester=requester, destination=destination)
    )
