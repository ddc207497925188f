"""One contract, two registries: `MemoryRegistry` (the flow tests') and `RedisRegistry` (the
gateway's) give the same answers on the demo registry, row for row."""

from __future__ import annotations

import pytest

from flows.memory_registry import MemoryRegistry
from flows.password_hash import verify_password
from flows.ports import (
    DeviceRecord,
    MoveResult,
    PasswordChange,
    PersonRecord,
    Registry,
    RestoreMove,
    SimRecord,
)
from gateway.store.registry import RedisRegistry
from tests.harness import (
    ALI,
    ALI_DEVICE,
    ALI_ID,
    ATTACHED_DEVICE,
    ATTACHED_SIM,
    CARTABLE_DEVICE,
    CARTABLE_OLD,
    LOST_SIM_ID,
    LOST_SIM_NEW,
    RECYCLED,
    RECYCLED_DEVICE,
    SARA_DEVICE,
    SARA_NEW,
    SARA_OLD,
    memory_registry,
)

SARA_ID, CARTABLE_ID, UNKNOWN = "1583250689", "2276543213", "0000000000"
APPLIED, ALREADY, CONFLICT = MoveResult.APPLIED, MoveResult.ALREADY_APPLIED, MoveResult.CONFLICT


@pytest.fixture(params=["memory", "redis"])
def any_registry(request: pytest.FixtureRequest) -> Registry:
    if request.param == "memory":
        return memory_registry()
    redis_registry: RedisRegistry = request.getfixturevalue("registry")  # tests/conftest.py
    return redis_registry


async def stored_hash(registry: Registry, national_id: str) -> str | None:
    if isinstance(registry, MemoryRegistry):
        return registry.password_hash(national_id)
    assert isinstance(registry, RedisRegistry)
    stored: str | None = await registry._redis.hget(registry._keys.person(national_id), "password_hash")
    return stored


async def audited(registry: Registry) -> list[tuple[str, str, str]]:
    """(action, operation_id, message_id) of every applied change, oldest first."""
    if isinstance(registry, MemoryRegistry):
        actions = {RestoreMove: "restore_device", PasswordChange: "recover_password"}
        return [(actions[type(c)], c.operation_id, c.message_id) for c in registry.audit]
    assert isinstance(registry, RedisRegistry)
    entries = await registry._redis.xrange(registry._keys.audit())
    return [(e["action"], e["operation_id"], e["message_id"])
            for _, e in entries if e["action"] != "registry_load"]


LOOKUPS = [
    ("sim", SARA_OLD, SimRecord(SARA_OLD, SARA_ID, "expired")),
    ("sim", "989000000000", None),
    ("device", ALI_DEVICE, DeviceRecord(ALI_DEVICE, model="Nokia 105", national_id=ALI_ID)),
    ("device", SARA_DEVICE, DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_OLD, registered_owner=SARA_ID)),
    ("device", "350000000000000", None),
    ("cartable_sims", "7734567894", ["989121110014", "989351110013"]),
    ("cartable_sims", SARA_ID, None),
    ("cartable_sims", UNKNOWN, None),
    ("person", "7734567894", PersonRecord("7734567894", "1380/12/29", ("989121110014", "989351110013"))),
    ("person", SARA_ID, PersonRecord(SARA_ID, "1370/05/12", None)),
    ("person", UNKNOWN, None),
]


@pytest.mark.parametrize(("method", "key", "expected"), LOOKUPS)
async def test_lookups(any_registry: Registry, method: str, key: str, expected: object) -> None:
    assert await getattr(any_registry, method)(key) == expected


def _move(imei: str, from_sim: str, owner: str, operation_id: str, **home: str) -> RestoreMove:
    return RestoreMove(imei, from_sim, owner, requester=SARA_NEW, operation_id=operation_id,
                       message_id=f"m-{operation_id}", **home)


SARA_BACK = _move(SARA_DEVICE, SARA_OLD, SARA_ID, "op1", to_sim=SARA_NEW)
RESTORES = [
    ("applied", [SARA_BACK], [APPLIED],
     DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_NEW, registered_owner=SARA_ID)),
    ("into a national-ID cartable",
     [_move(CARTABLE_DEVICE, CARTABLE_OLD, CARTABLE_ID, "op1", to_national_id=CARTABLE_ID)], [APPLIED],
     DeviceRecord(CARTABLE_DEVICE, "Nokia 2660", national_id=CARTABLE_ID)),
    ("once per operation", [SARA_BACK, SARA_BACK], [APPLIED, ALREADY],
     DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_NEW, registered_owner=SARA_ID)),
    ("home changed since", [SARA_BACK, _move(SARA_DEVICE, SARA_OLD, SARA_ID, "op2", to_sim=ATTACHED_SIM)],
     [APPLIED, CONFLICT], DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_NEW, registered_owner=SARA_ID)),
    ("old SIM active for its owner", [_move(ATTACHED_DEVICE, ATTACHED_SIM, SARA_ID, "op1", to_sim=SARA_NEW)],
     [CONFLICT], DeviceRecord(ATTACHED_DEVICE, "Galaxy A14", sim=ATTACHED_SIM, registered_owner=SARA_ID)),
    ("another registered owner", [_move(RECYCLED_DEVICE, RECYCLED, "0061234567", "op1", to_sim=SARA_NEW)],
     [CONFLICT], DeviceRecord(RECYCLED_DEVICE, "Redmi Note 12", sim=RECYCLED, registered_owner=SARA_ID)),
    ("in a national-ID cartable", [_move(ALI_DEVICE, ALI, ALI_ID, "op1", to_sim=SARA_NEW)],
     [CONFLICT], DeviceRecord(ALI_DEVICE, "Nokia 105", national_id=ALI_ID)),
]


@pytest.mark.parametrize(("title", "moves", "results", "device"), RESTORES, ids=[r[0] for r in RESTORES])
async def test_restore_device(
    any_registry: Registry, title: str, moves: list[RestoreMove], results: list[MoveResult],
    device: DeviceRecord,
) -> None:
    assert [await any_registry.restore_device(move) for move in moves] == results
    assert await any_registry.device(device.imei) == device
    applied = [move for move, result in zip(moves, results, strict=True) if result is APPLIED]
    expected = [("restore_device", m.operation_id, m.message_id) for m in applied]
    assert await audited(any_registry) == expected


def _change(national_id: str, requester: str, add: bool, operation_id: str = "op1") -> PasswordChange:
    return PasswordChange(national_id, requester, add, operation_id, f"m-{operation_id}")


LOST_ADD = _change(LOST_SIM_ID, LOST_SIM_NEW, True)
LOST_CARTABLE = ["989121110010", "989351110009"]
PASSWORDS = [
    # title, changes with their new password, results, the password that verifies, cartable after
    ("new password only", [(_change(ALI_ID, ALI, False), "pw-one")], [(APPLIED, 1)], "pw-one", [ALI]),
    ("add the requester", [(LOST_ADD, "pw-one")], [(APPLIED, 2)], "pw-one", LOST_CARTABLE),
    ("once per operation", [(LOST_ADD, "pw-one"), (LOST_ADD, "pw-two")], [(APPLIED, 2), (ALREADY, 2)],
     "pw-one", LOST_CARTABLE),
    ("no national-ID cartable", [(_change(SARA_ID, SARA_NEW, True), "pw-one")], [(CONFLICT, 0)], None, None),
    ("unknown person", [(_change(UNKNOWN, SARA_NEW, True), "pw-one")], [(CONFLICT, 0)], None, None),
]


@pytest.mark.parametrize(("title", "changes", "results", "password", "sims"), PASSWORDS,
                         ids=[r[0] for r in PASSWORDS])
async def test_recover_password(
    any_registry: Registry, title: str, changes: list[tuple[PasswordChange, str]],
    results: list[tuple[MoveResult, int]], password: str | None, sims: list[str] | None,
) -> None:
    national_id = changes[0][0].national_id
    assert [await any_registry.recover_password(c, pw) for c, pw in changes] == results
    assert await any_registry.cartable_sims(national_id) == sims
    stored = await stored_hash(any_registry, national_id)
    if password is not None:
        assert stored is not None and verify_password(password, stored)
    assert stored not in {pw for _, pw in changes}  # only ever a hash
    applied = [c for (c, _), (result, _) in zip(changes, results, strict=True) if result is APPLIED]
    expected = [("recover_password", c.operation_id, c.message_id) for c in applied]
    assert await audited(any_registry) == expected


LOADED = [(ALI_ID, "only-in-fixtures"), (CARTABLE_ID, "demo-pass-2"), (LOST_SIM_ID, "demo-pass-5")]


@pytest.mark.parametrize(("national_id", "password"), LOADED)
async def test_loaded_passwords_are_kept_as_hashes(
    any_registry: Registry, national_id: str, password: str
) -> None:
    stored = await stored_hash(any_registry, national_id)
    assert stored is not None and stored != password and verify_password(password, stored)
