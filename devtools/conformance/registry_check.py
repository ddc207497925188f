"""`expect_registry` steps: read one record as `registry show` prints it, compare, explain.

The reader is a small seam (`RegistryReader`): the embedded registry on the settings' Redis
(`gateway.app.embedded_registry`, a `RedisRegistry`) by default. A gateway under test with a registry of its
own is checked with `--no-registry`, and these steps are then reported as skipped.
"""

from __future__ import annotations

from typing import Any, Protocol

from devtools.conformance.steps import ExpectDevice, ExpectPerson, ExpectRegistry, ExpectSim

Record = dict[str, Any]


class RegistryReader(Protocol):
    async def show(self, kind: str, value: str) -> Record | None:
        """One record as `hamta-gateway registry show` prints it; None when there is none."""


def subject(expect: ExpectRegistry) -> tuple[str, str]:
    """The `registry show` kind and value the step is about."""
    if isinstance(expect, ExpectDevice):
        return "imei", expect.imei
    if isinstance(expect, ExpectSim):
        return "msisdn", expect.msisdn
    return "national-id", expect.national_id


async def check(reader: RegistryReader, expect: ExpectRegistry) -> tuple[str, list[str]]:
    """What was found (one line) and the differences from what was expected (empty: as expected)."""
    kind, value = subject(expect)
    record = await reader.show(kind, value)
    if record is None:
        return f"no {kind} {local(value)} in the registry", [f"no {kind} {local(value)}"]
    if isinstance(expect, ExpectDevice):
        return _device(expect, record)
    if isinstance(expect, ExpectSim):
        return _sim(expect, record)
    return _person(expect, record)


def _device(expect: ExpectDevice, record: Record) -> tuple[str, list[str]]:
    home: dict[str, str] = record.get("home", {})
    if "national_id" in home:
        found = f"device {expect.imei} is in the national-ID cartable of {home['national_id']}"
    else:
        found = (f"device {expect.imei} is in the SIM cartable of {local(home.get('sim', '?'))}"
                 f" (registered owner {home.get('registered_owner', '?')}"
                 f"{', detached' if record.get('detached') else ''})")
    problems = []
    if expect.sim is not None and home.get("sim") != expect.sim:
        problems.append(f"expected in the SIM cartable of {local(expect.sim)}")
    if expect.national_id is not None and home.get("national_id") != expect.national_id:
        problems.append(f"expected in the national-ID cartable of {expect.national_id}")
    if expect.detached is not None and bool(record.get("detached")) != expect.detached:
        problems.append("expected detached" if expect.detached else "expected attached")
    return found, problems


def _sim(expect: ExpectSim, record: Record) -> tuple[str, list[str]]:
    found = f"SIM {local(expect.msisdn)} is {record['status']}, owner {record['owner']}"
    problems = []
    if expect.status is not None and record["status"] != expect.status:
        problems.append(f"expected {expect.status}")
    if expect.owner is not None and record["owner"] != expect.owner:
        problems.append(f"expected owner {expect.owner}")
    return found, problems


def _person(expect: ExpectPerson, record: Record) -> tuple[str, list[str]]:
    cartable: dict[str, Any] | None = record.get("cartable")
    if cartable is None:
        return f"{expect.national_id} has no national-ID cartable", ["expected a national-ID cartable"]
    sims: list[str] = cartable["sims"]
    found = (f"national-ID cartable of {expect.national_id}: SIMs "
             f"{', '.join(map(local, sims)) or '(none)'}; {cartable['device_count']} device(s)")
    problems = [f"expected {local(s)} in it" for s in expect.cartable_sims_include if s not in sims]
    problems += [f"expected {local(s)} not in it" for s in expect.cartable_sims_exclude if s in sims]
    if expect.device_count is not None and cartable["device_count"] != expect.device_count:
        problems.append(f"expected {expect.device_count} device(s)")
    return found, problems


def local(msisdn: str) -> str:
    """98XXXXXXXXXX as written in Iran, 09XXXXXXXXX; anything else unchanged."""
    return "0" + msisdn[2:] if len(msisdn) == 12 and msisdn.startswith("98") else msisdn
