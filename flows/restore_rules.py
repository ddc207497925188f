"""Device-restore rules R1, R2, R4 (DESIGN §1 "Restore a device"), as one decision function.

The order of the checks is the spec's; every refusal that could reveal another person's data is
the same `MISMATCH`, so answers never tell which field was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flows.ports import DeviceRecord, Registry, RestoreMove, SimRecord


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


async def requester_owner(registry: Registry, msisdn: str) -> str | None:
    """Step 1: the requester's SIM must be active with a known owner; returns that owner."""
    sim = await registry.sim(msisdn)
    if sim is None or sim.status != "active" or not sim.owner:
        return None
    return sim.owner


async def decide(registry: Registry, requester: str, owner: str, imei: str, old: str) -> Decision:
    """Steps 2-6 for requester M (owned by `owner`) asking to restore `imei` from `old`."""
    device = await registry.device(imei)
    if device is None:
        return Decision(Verdict.MISMATCH)
    if device.in_national_id_cartable:
        own = device.national_id == owner
        return Decision(Verdict.IN_OWN_NATIONAL_ID_CARTABLE if own else Verdict.MISMATCH)
    return await _decide_sim_cartable(registry, requester, owner, device, old)


async def _decide_sim_cartable(
    registry: Registry, requester: str, owner: str, device: DeviceRecord, old: str
) -> Decision:
    if device.sim != old:
        return Decision(Verdict.MISMATCH)
    if device.sim == requester:
        return Decision(Verdict.ALREADY_HERE)
    home = await registry.sim(device.sim)
    if _still_attached(home, device):
        return Decision(Verdict.STILL_IN_OTHER_CARTABLE)
    if device.registered_owner != owner:
        # A recycled number's new owner must never pull the previous owner's devices.
        return Decision(Verdict.MISMATCH)
    return Decision(Verdict.ELIGIBLE, await _move(registry, requester, owner, device))


def _still_attached(home: SimRecord | None, device: DeviceRecord) -> bool:
    return home is not None and home.status == "active" and home.owner == device.registered_owner


async def _move(registry: Registry, requester: str, owner: str, device: DeviceRecord) -> RestoreMove:
    cartable = await registry.cartable_sims(owner)
    into_national_id = cartable is not None and requester in cartable
    return RestoreMove(
        imei=device.imei,
        from_sim=device.sim,
        registered_owner=device.registered_owner,
        to_sim="" if into_national_id else requester,
        to_national_id=owner if into_national_id else "",
        requester=requester,
    )
