"""The demo registry (devtools/data/demo-registry.json) as a `MemoryRegistry`: for dialogs run
without Redis (the conversations document, unit tests)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from flows.memory_registry import MemoryRegistry
from flows.ports import DeviceRecord, PersonRecord, SimRecord
from gateway.store.fixtures import Fixture, load_fixture_file

DEMO_REGISTRY = Path(str(files("devtools").joinpath("data/demo-registry.json")))


def registry_from_fixture(fixture: Fixture) -> MemoryRegistry:
    people = [
        PersonRecord(nid, p.birth_date, None if p.cartable is None else tuple(sorted(p.cartable.sims)))
        for nid, p in fixture.people.items()
    ]
    passwords = {nid: p.cartable.password for nid, p in fixture.people.items() if p.cartable is not None}
    sims = [SimRecord(msisdn, sim.owner, sim.status) for msisdn, sim in fixture.sims.items()]
    devices = [DeviceRecord(imei=imei, **d.model_dump(exclude={"imei"}))
               for imei, d in fixture.devices.items()]
    return MemoryRegistry(people, sims, devices, passwords)


def demo_memory_registry() -> MemoryRegistry:
    return registry_from_fixture(load_fixture_file(DEMO_REGISTRY))
