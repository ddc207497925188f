"""The registry fixture format (DESIGN §4): parse, normalise and cross-check before any write.

`parse_fixture` returns a validated `Fixture` or raises `FixtureError` naming the bad entry,
so `registry load` is all-or-nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from flows.birth_date import format_jalali, parse_birth_date
from flows.national_id import parse_national_id
from flows.normalize import parse_imei, parse_msisdn, to_ascii_digits
from gateway.errors import FixtureError

_JALALI = re.compile(r"^[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}$")


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CartableIn(_Entry):
    password: str
    sims: list[str]


class PersonIn(_Entry):
    national_id: str
    birth_date: str
    cartable: CartableIn | None = None


class SimIn(_Entry):
    msisdn: str
    owner: str
    status: Literal["active", "expired"]


class DeviceIn(_Entry):
    imei: str
    model: str = ""
    national_id: str = ""
    sim: str = ""
    registered_owner: str = ""


class FixtureIn(_Entry):
    people: list[PersonIn] = []
    sims: list[SimIn] = []
    devices: list[DeviceIn] = []


class Fixture(BaseModel):
    """Normalised: numbers as 98XXXXXXXXXX, digits ASCII; keyed by identifier."""

    people: dict[str, PersonIn]
    sims: dict[str, SimIn]
    devices: dict[str, DeviceIn]


def load_fixture_file(path: Path) -> Fixture:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise FixtureError(f"{path}: cannot read JSON: {exc}") from exc
    return parse_fixture(raw)


def parse_fixture(raw: object) -> Fixture:
    try:
        fixture = FixtureIn.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise FixtureError(f"entry {where.lstrip('.')}: {first['msg']}") from exc
    people = _people(fixture.people)
    sims = _sims(fixture.sims, people)
    devices = _devices(fixture.devices, people, sims)
    _check_cartables(people, sims)
    return Fixture(people=people, sims=sims, devices=devices)


def _national_id(value: str, where: str) -> str:
    national_id = parse_national_id(value)
    if national_id is None or len(to_ascii_digits(value).strip()) != 10:
        raise FixtureError(f"{where}: {value!r} is not a valid 10-digit national ID (check digit)")
    return national_id


def _msisdn(value: str, where: str) -> str:
    msisdn = parse_msisdn(value)
    if msisdn is None:
        raise FixtureError(f"{where}: {value!r} is not an Iranian mobile number")
    return msisdn


def _people(entries: list[PersonIn]) -> dict[str, PersonIn]:
    people: dict[str, PersonIn] = {}
    for i, person in enumerate(entries):
        where = f"people[{i}]"
        nid = _national_id(person.national_id, where)
        birth_date = parse_birth_date(person.birth_date)
        if birth_date is None or not _JALALI.match(to_ascii_digits(person.birth_date).strip()):
            raise FixtureError(f"{where} ({nid}): birth_date {person.birth_date!r} is not a real "
                               "Jalali date written YYYY/MM/DD")
        birth = format_jalali(birth_date)
        if nid in people:
            raise FixtureError(f"{where}: national ID {nid} is listed twice")
        cartable = person.cartable
        if cartable is not None:
            sims = [_msisdn(s, f"{where}.cartable.sims") for s in cartable.sims]
            cartable = CartableIn(password=cartable.password, sims=sims)
        people[nid] = PersonIn(national_id=nid, birth_date=birth, cartable=cartable)
    return people


def _sims(entries: list[SimIn], people: dict[str, PersonIn]) -> dict[str, SimIn]:
    sims: dict[str, SimIn] = {}
    for i, sim in enumerate(entries):
        msisdn = _msisdn(sim.msisdn, f"sims[{i}]")
        where = f"sims[{i}] ({sim.msisdn})"
        owner = _national_id(sim.owner, where)
        if owner not in people:
            raise FixtureError(f"{where}: owner {owner} is not a listed person")
        if msisdn in sims:
            raise FixtureError(f"{where}: number listed twice")
        sims[msisdn] = SimIn(msisdn=msisdn, owner=owner, status=sim.status)
    return sims


def _devices(
    entries: list[DeviceIn], people: dict[str, PersonIn], sims: dict[str, SimIn]
) -> dict[str, DeviceIn]:
    devices: dict[str, DeviceIn] = {}
    for i, device in enumerate(entries):
        where = f"devices[{i}] ({device.imei})"
        imei = parse_imei(device.imei)
        if imei is None:
            raise FixtureError(f"{where}: not a valid 15-digit IMEI (Luhn)")
        if imei in devices:
            raise FixtureError(f"{where}: IMEI listed twice")
        devices[imei] = _device_home(device, imei, where, people, sims)
    return devices


def _device_home(
    device: DeviceIn, imei: str, where: str, people: dict[str, PersonIn], sims: dict[str, SimIn]
) -> DeviceIn:
    if device.national_id and not (device.sim or device.registered_owner):
        nid = _national_id(device.national_id, where)
        if people.get(nid) is None or people[nid].cartable is None:
            raise FixtureError(f"{where}: {nid} has no national-ID cartable")
        return DeviceIn(imei=imei, model=device.model, national_id=nid)
    if device.sim and device.registered_owner and not device.national_id:
        sim = _msisdn(device.sim, where)
        if sim not in sims:
            raise FixtureError(f"{where}: sim {device.sim} is not a listed SIM")
        owner = _national_id(device.registered_owner, where)
        if owner not in people:
            raise FixtureError(f"{where}: registered_owner {owner} is not a listed person")
        return DeviceIn(imei=imei, model=device.model, sim=sim, registered_owner=owner)
    raise FixtureError(f"{where}: needs exactly one home: national_id, or sim + registered_owner")


def _check_cartables(people: dict[str, PersonIn], sims: dict[str, SimIn]) -> None:
    for nid, person in people.items():
        for msisdn in person.cartable.sims if person.cartable else []:
            if msisdn not in sims:
                raise FixtureError(f"people ({nid}): cartable SIM {msisdn} is not a listed SIM")
