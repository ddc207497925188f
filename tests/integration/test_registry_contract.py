"""One contract, three registries: `MemoryRegistry` (the flow tests'), `RedisRegistry` (the
gateway's embedded one) and `HttpRegistry` (the client, against the reference server over the
embedded one) give the same answers on the demo registry, row for row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from flows.memory_registry import MemoryRegistry
from flows.password_hash import verify_password
from flows.ports import (
    CartableSummary,
    Destination,
    DeviceCheck,
    DeviceRecord,
    MoveResult,
    PasswordChange,
    Registry,
    RestoreMove,
    SimCheck,
)
from gateway.registry_http.client import HttpRegistry
from gateway.registry_http.serving import registry_server
from gateway.settings import RegistrySettings
from gateway.store.registry import RedisRegistry
from tests.conftest import http_registry_sections
from tests.harness import (
    ALI,
    ALI_DEVICE,
    ALI_ID,
    ATTACHED_DEVICE,
    ATTACHED_SIM,
    CARTABLE_DEVICE,
    CARTABLE_OLD,
    CARTABLE_SIM,
    LOST_SIM_ID,
    LOST_SIM_NEW,
    NEW_OWNER,
    RECYCLED,
    RECYCLED_DEVICE,
    REGISTRY_TOKEN,
    SARA_DEVICE,
    SARA_NEW,
    SARA_OLD,
    gateway_settings,
    memory_registry,
)

APPLIED, ALREADY, CONFLICT = MoveResult.APPLIED, MoveResult.ALREADY_APPLIED, MoveResult.CONFLICT


@dataclass(frozen=True)
class Subject:
    seam: Registry  # what the flows call
    records: MemoryRegistry | RedisRegistry  # where a test reads the raw records after a change


@pytest_asyncio.fixture(params=["memory", "redis", "http"])
async def subject(
    request: pytest.FixtureRequest, registry: RedisRegistry, redis_url: str
) -> AsyncIterator[Subject]:
    if request.param == "memory":
        memory = memory_registry()
        yield Subject(memory, memory)
        return
    if request.param == "redis":
        yield Subject(registry, registry)
        return
    # The client against the reference server over the same (loaded) Redis.
    served = gateway_settings(redis_url, 1, registry={"token": REGISTRY_TOKEN})
    async with registry_server(served, "127.0.0.1", 0) as port:
        client = HttpRegistry(RegistrySettings(**http_registry_sections(port)["registry"]))
        try:
            yield Subject(client, registry)
        finally:
            await client.close()


@pytest.fixture
def any_registry(subject: Subject) -> Registry:
    return subject.seam


@pytest.fixture
def held(subject: Subject) -> MemoryRegistry | RedisRegistry:
    return subject.records


async def stored_hash(registry: MemoryRegistry | RedisRegistry, national_id: str) -> str | None:
    if isinstance(registry, MemoryRegistry):
        return registry.password_hash(national_id)
    stored: str | None = await registry._redis.hget(registry._keys.person(national_id), "password_hash")
    return stored


async def audited(registry: MemoryRegistry | RedisRegistry) -> list[tuple[str, str, str]]:
    """(action, operation_id, message_id) of every applied change, oldest first."""
    if isinstance(registry, MemoryRegistry):
        actions = {RestoreMove: "restore_device", PasswordChange: "recover_password"}
        return [(actions[type(c)], c.operation_id, c.message_id) for c in registry.audit]
    entries = await registry._redis.xrange(registry._keys.audit())
    return [(e["action"], e["operation_id"], e["message_id"])
            for _, e in entries if e["action"] != "registry_load"]


R6_ID, SARA_ID, CARTABLE_ID, UNKNOWN = "7734567894", "1583250689", "2276543213", "0000000000"
NOBODY = "989000000000"
LOOKUPS = [
    ("check_sim", (SARA_OLD,), SimCheck("expired", True, False, False)),
    ("check_sim", (SARA_OLD, SARA_ID), SimCheck("expired", True, True, False)),
    ("check_sim", (SARA_NEW, ALI_ID), SimCheck("active", True, False, False)),
    ("check_sim", (ALI, ALI_ID), SimCheck("active", True, True, True)),
    ("check_sim", (NOBODY,), None),
    ("check_sim", ("+1 555 0100",), None),  # not a number the registry can hold
    ("check_device", (ALI_DEVICE, ALI, SARA_OLD), DeviceCheck(True, True)),
    ("check_device", (ALI_DEVICE, SARA_NEW, SARA_OLD), DeviceCheck(True, False)),
    ("check_device", (SARA_DEVICE, SARA_NEW, SARA_OLD), DeviceCheck(False, True, on_old_sim=True)),
    ("check_device", (SARA_DEVICE, NOBODY, SARA_OLD), DeviceCheck(False, False, on_old_sim=True)),
    ("check_device", (ATTACHED_DEVICE, SARA_NEW, ATTACHED_SIM),
     DeviceCheck(False, True, on_old_sim=True, attached=True)),
    ("check_device", (RECYCLED_DEVICE, RECYCLED, RECYCLED),
     DeviceCheck(False, False, on_old_sim=True, on_requester_sim=True)),
    ("check_device", ("350000000000000", SARA_NEW, SARA_OLD), None),
    ("cartable", (R6_ID, "989191110015"), CartableSummary(2, ("0912***0014",), False, 0)),
    ("cartable", (ALI_ID, ALI), CartableSummary(1, ("0912***0001",), True, 1)),
    ("cartable", (LOST_SIM_ID, LOST_SIM_NEW), CartableSummary(1, (), False, 2)),
    ("cartable", (SARA_ID, SARA_NEW), None),
    ("cartable", (UNKNOWN, SARA_NEW), None),
    ("verify_birth_date", (R6_ID, "1380/12/29"), True),
    ("verify_birth_date", (R6_ID, "1380/12/28"), False),
    ("verify_birth_date", (UNKNOWN, "1380/12/29"), False),
]


@pytest.mark.parametrize(("method", "args", "expected"), LOOKUPS)
async def test_lookups(any_registry: Registry, method: str, args: tuple[str, ...], expected: object) -> None:
    assert await getattr(any_registry, method)(*args) == expected


def _move(imei: str, from_sim: str, operation_id: str, requester: str = SARA_NEW,
          destination: Destination = "sim_cartable") -> RestoreMove:
    return RestoreMove(imei, from_sim, requester, destination, operation_id, f"m-{operation_id}")


SARA_BACK = _move(SARA_DEVICE, SARA_OLD, "op-00001")
RESTORES = [
    ("applied", [SARA_BACK], [APPLIED],
     DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_NEW, registered_owner=SARA_ID)),
    ("into a national-ID cartable",
     [_move(CARTABLE_DEVICE, CARTABLE_OLD, "op-00001", CARTABLE_SIM, "national_id_cartable")], [APPLIED],
     DeviceRecord(CARTABLE_DEVICE, "Nokia 2660", national_id=CARTABLE_ID)),
    ("a national-ID destination without the requester in it",
     [_move(SARA_DEVICE, SARA_OLD, "op-00001", destination="national_id_cartable")], [CONFLICT],
     DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_OLD, registered_owner=SARA_ID)),
    ("once per operation", [SARA_BACK, SARA_BACK], [APPLIED, ALREADY],
     DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_NEW, registered_owner=SARA_ID)),
    ("home changed since", [SARA_BACK, _move(SARA_DEVICE, SARA_OLD, "op-00002", ATTACHED_SIM)],
     [APPLIED, CONFLICT], DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_NEW, registered_owner=SARA_ID)),
    ("old SIM active for its owner", [_move(ATTACHED_DEVICE, ATTACHED_SIM, "op-00001")],
     [CONFLICT], DeviceRecord(ATTACHED_DEVICE, "Galaxy A14", sim=ATTACHED_SIM, registered_owner=SARA_ID)),
    ("another registered owner", [_move(RECYCLED_DEVICE, RECYCLED, "op-00001", NEW_OWNER)],
     [CONFLICT], DeviceRecord(RECYCLED_DEVICE, "Redmi Note 12", sim=RECYCLED, registered_owner=SARA_ID)),
    ("in a national-ID cartable", [_move(ALI_DEVICE, ALI, "op-00001")],
     [CONFLICT], DeviceRecord(ALI_DEVICE, "Nokia 105", national_id=ALI_ID)),
    ("a requester SIM not active", [_move(SARA_DEVICE, SARA_OLD, "op-00001", SARA_OLD)],
     [CONFLICT], DeviceRecord(SARA_DEVICE, "Galaxy A52", sim=SARA_OLD, registered_owner=SARA_ID)),
]


@pytest.mark.parametrize(("title", "moves", "results", "device"), RESTORES, ids=[r[0] for r in RESTORES])
async def test_restore_device(
    any_registry: Registry, held: MemoryRegistry | RedisRegistry, title: str, moves: list[RestoreMove],
    results: list[MoveResult], device: DeviceRecord,
) -> None:
    assert [await any_registry.restore_device(move) for move in moves] == results
    assert await held.device(device.imei) == device
    applied = [move for move, result in zip(moves, results, strict=True) if result is APPLIED]
    expected = [("restore_device", m.operation_id, m.message_id) for m in applied]
    assert await audited(held) == expected


def _change(national_id: str, requester: str, add: bool, operation_id: str = "op-00001") -> PasswordChange:
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
    any_registry: Registry, held: MemoryRegistry | RedisRegistry, title: str,
    changes: list[tuple[PasswordChange, str]],
    results: list[tuple[MoveResult, int]], password: str | None, sims: list[str] | None,
) -> None:
    national_id = changes[0][0].national_id
    assert [await any_registry.recover_password(c, pw) for c, pw in changes] == results
    assert await held.cartable_sims(national_id) == sims
    stored = await stored_hash(held, national_id)
    if password is not None:
        assert stored is not None and verify_password(password, stored)
    assert stored not in {pw for _, pw in changes}  # only ever a hash
    applied = [c for (c, _), (result, _) in zip(changes, results, strict=True) if result is APPLIED]
    expected = [("recover_password", c.operation_id, c.message_id) for c in applied]
    assert await audited(held) == expected


LOADED = [(ALI_ID, "only-in-fixtures"), (CARTABLE_ID, "demo-pass-2"), (LOST_SIM_ID, "demo-pass-5")]


@pytest.mark.parametrize(("national_id", "password"), LOADED)
@pytest.mark.parametrize("store", ["memory", "redis"])  # the records: the http seam holds none
async def test_loaded_passwords_are_kept_as_hashes(
    registry: RedisRegistry, store: str, national_id: str, password: str
) -> None:
    held = memory_registry() if store == "memory" else registry
    stored = await stored_hash(held, national_id)
    assert stored is not None and stored != password and verify_password(password, stored)
