"""`MemoryRegistry` on its own: built from records, changed behind a flow's back, inspected.
(tests/integration/test_registry_contract.py shows it answers as the Redis registry does.)"""

from __future__ import annotations

from dataclasses import replace

from flows.memory_registry import MemoryRegistry
from flows.password_hash import verify_password
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
)

NID, OLD, NEW, IMEI = "0499370899", "989351110002", "989361110003", "490154203237518"


def small() -> MemoryRegistry:
    return MemoryRegistry(
        people=[PersonRecord(NID, "1365/04/12", (NEW,))],
        sims=[SimRecord(OLD, NID, "expired"), SimRecord(NEW, NID, "active")],
        devices=[DeviceRecord(IMEI, "Galaxy A52", sim=OLD, registered_owner=NID)],
        passwords={NID: "clear-text"},
    )


MOVE = RestoreMove(IMEI, OLD, requester=NEW, operation_id="op1", message_id="m1")


async def test_built_from_records() -> None:
    registry = small()
    assert await registry.person(NID) == PersonRecord(NID, "1365/04/12", (NEW,))
    assert await registry.cartable_sims(NID) == [NEW]
    assert (await registry.sim(OLD), await registry.device("0")) == (SimRecord(OLD, NID, "expired"), None)


async def test_checks_name_no_one() -> None:
    registry = small()
    assert await registry.check_sim(NEW, NID) == SimCheck("active", True, True, True)
    assert await registry.check_sim(OLD) == SimCheck("expired", True, False, False)
    assert await registry.check_device(IMEI, NEW, OLD) == DeviceCheck(False, True, on_old_sim=True)
    assert await registry.cartable(NID, NEW) == CartableSummary(1, ("0936***0003",), True, 0)
    assert await registry.verify_birth_date(NID, "1365/04/12")
    assert not await registry.verify_birth_date(NID, "1365/04/13")


async def test_into_a_national_id_cartable_needs_the_requester_in_it() -> None:
    registry = small()
    move = replace(MOVE, destination="national_id_cartable")
    registry.put_sim(SimRecord("989121110099", NID, "active"))  # the owner's, not in the cartable
    assert await registry.restore_device(replace(move, requester="989121110099")) is MoveResult.CONFLICT
    assert await registry.restore_device(move) is MoveResult.APPLIED
    assert await registry.device(IMEI) == DeviceRecord(IMEI, "Galaxy A52", national_id=NID)


async def test_only_the_password_hash_is_kept() -> None:
    registry = small()
    stored = registry.password_hash(NID)
    assert stored is not None and verify_password("clear-text", stored)
    assert "clear-text" not in repr(vars(registry))  # every record, the audit included
    assert registry.password_hash("1583250689") is None


async def test_an_old_sim_active_again_is_a_conflict() -> None:
    registry = small()
    registry.put_sim(SimRecord(OLD, NID, "active"))
    assert await registry.restore_device(MOVE) is MoveResult.CONFLICT
    assert registry.audit == ()


async def test_a_device_moved_meanwhile_is_a_conflict() -> None:
    registry = small()
    registry.put_device(DeviceRecord(IMEI, "Galaxy A52", sim=NEW, registered_owner=NID))
    assert await registry.restore_device(MOVE) is MoveResult.CONFLICT


async def test_audit_keeps_each_applied_change_once() -> None:
    registry = small()
    change = PasswordChange(NID, NEW, add_requester=False, operation_id="op2", message_id="m2")
    assert await registry.restore_device(MOVE) is MoveResult.APPLIED
    assert await registry.restore_device(replace(MOVE, message_id="m9")) is MoveResult.ALREADY_APPLIED
    assert await registry.recover_password(change, "new-one") == (MoveResult.APPLIED, 0)
    assert registry.audit == (MOVE, change)
