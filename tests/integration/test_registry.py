"""The Redis registry and the fixture format: load (idempotent, all-or-nothing), show, CLI."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from devtools.demo import DEMO_REGISTRY
from flows.password_hash import verify_password
from gateway.errors import FixtureError
from gateway.store.fixtures import parse_fixture
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry

SPEC_EXAMPLE = {
    "people": [
        {"national_id": "0499370899", "birth_date": "1365/04/12",
         "cartable": {"password": "only-in-fixtures", "sims": ["09121110001"]}},
        {"national_id": "1583250689", "birth_date": "1370/05/12"},
    ],
    "sims": [
        {"msisdn": "09121110001", "owner": "0499370899", "status": "active"},
        {"msisdn": "+98 935 111 0002", "owner": "1583250689", "status": "expired"},
        {"msisdn": "۰۹۳۶۱۱۱۰۰۰۳", "owner": "1583250689", "status": "active"},
    ],
    "devices": [
        {"imei": "355762052793235", "national_id": "0499370899"},
        {"imei": "49-015420-323751-8", "model": "Galaxy A52", "sim": "09351110002",
         "registered_owner": "1583250689"},
    ],
}


@pytest.fixture
async def redis(redis_url: str):  # type: ignore[no-untyped-def]
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_load_normalises_and_shows(redis: Redis) -> None:
    registry = RedisRegistry(redis, Keys())
    await registry.load(parse_fixture(SPEC_EXAMPLE))
    assert await registry.show("imei", "490154203237518") == {
        "imei": "490154203237518", "model": "Galaxy A52",
        "home": {"sim": "989351110002", "registered_owner": "1583250689"}, "detached": True,
    }
    assert await registry.show("msisdn", "989351110002") == {
        "msisdn": "989351110002", "owner": "1583250689", "status": "expired",
        "devices": ["490154203237518"],
    }
    person = await registry.show("national-id", "0499370899")
    assert person == {"national_id": "0499370899", "birth_date": "1365/04/12",
                      "cartable": {"sims": ["989121110001"], "device_count": 1,
                                   "devices": ["355762052793235"]}}
    assert "password" not in json.dumps(person)


async def test_password_is_stored_as_a_slow_salted_hash(redis: Redis) -> None:
    keys = Keys()
    await RedisRegistry(redis, keys).load(parse_fixture(SPEC_EXAMPLE))
    stored = await redis.hget(keys.person("0499370899"), "password_hash")
    assert stored.startswith("scrypt$") and "only-in-fixtures" not in stored
    assert verify_password("only-in-fixtures", stored)
    assert not verify_password("guess", stored)


async def test_load_replaces_contents_and_is_idempotent(redis: Redis) -> None:
    registry = RedisRegistry(redis, Keys())
    await registry.load(parse_fixture(json.loads(DEMO_REGISTRY.read_text())))
    await registry.load(parse_fixture(SPEC_EXAMPLE))
    first = await _registry_snapshot(redis)
    await registry.load(parse_fixture(SPEC_EXAMPLE))
    assert await _registry_snapshot(redis) == first
    assert await registry.show("imei", "353322110000339") is None  # demo-only device gone


async def _registry_snapshot(redis: Redis) -> dict[str, object]:
    snapshot: dict[str, object] = {}
    async for key in redis.scan_iter(match="hamta:{reg}:*"):
        kind = await redis.type(key)
        if kind == "hash":
            fields = await redis.hgetall(key)
            fields.pop("password_hash", None)  # salted: differs on every load
            snapshot[key] = fields
        elif kind == "set":
            snapshot[key] = await redis.smembers(key)
    return snapshot


def _broken(path: str, value: object) -> dict[str, object]:
    fixture = copy.deepcopy(SPEC_EXAMPLE)
    section, index, name = path.split(".")
    fixture[section][int(index)][name] = value  # type: ignore[index]
    return fixture


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        (_broken("devices.1.imei", "490154203237519"), "devices[1] (490154203237519): not a valid"),
        (_broken("sims.2.owner", "0061234567"), "owner 0061234567 is not a listed person"),
        (_broken("sims.0.status", "lost"), "sims[0].status"),
        (_broken("sims.1.msisdn", "02188776655"), "not an Iranian mobile number"),
        (_broken("devices.1.sim", "09120000000"), "is not a listed SIM"),
        (_broken("devices.0.sim", "09121110001"), "needs exactly one home"),
        (_broken("people.1.birth_date", "12 May 1991"), "birth_date"),
        (_broken("people.1.birth_date", "1404/12/30"), "not a real Jalali date"),
        (_broken("people.1.national_id", "1583250688"), "check digit"),
        (_broken("people.0.cartable", {"password": "x", "sims": ["09129999999"]}), "cartable SIM"),
        ({**SPEC_EXAMPLE, "cars": []}, "cars"),
    ],
)
def test_invalid_fixture_names_the_entry(fixture: dict[str, object], message: str) -> None:
    with pytest.raises(FixtureError, match=__import__("re").escape(message)):
        parse_fixture(fixture)


def _cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAMTA_REDIS__URL": redis_url}
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_cli_load_and_show(redis_url: str, tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SPEC_EXAMPLE), encoding="utf-8")
    loaded = _cli(redis_url, "registry", "load", str(good))
    assert loaded.returncode == 0, loaded.stderr
    shown = _cli(redis_url, "registry", "show", "msisdn", "0936-111-0003")
    assert json.loads(shown.stdout)["owner"] == "1583250689"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_broken("sims.2.owner", "1111111111")), encoding="utf-8")
    refused = _cli(redis_url, "registry", "load", str(bad))
    assert refused.returncode == 1 and "sims[2]" in refused.stderr
    still = _cli(redis_url, "registry", "show", "imei", "490154203237518")
    assert json.loads(still.stdout)["home"]["sim"] == "989351110002"  # nothing changed
    missing = _cli(redis_url, "registry", "show", "national-id", "2276543213")
    assert missing.returncode == 1


def test_bad_setting_stops_with_the_key_named(redis_url: str) -> None:
    env = {**os.environ, "HAMTA_SMPP__WINDOW": "lots"}
    result = subprocess.run([sys.executable, "-m", "gateway", "registry", "show", "imei", "1"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "smpp.window (HAMTA_SMPP__WINDOW)" in result.stderr
