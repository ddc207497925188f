"""Issue 11, the admin API for real: a gateway (redis-server, the simulator over TCP) with its
admin port open, called over HTTP as the console and curl would: token, CORS, masked state,
resets, audit by value and time, dead letters, queues and partitions; every action audited."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiosmpplib import SmppCommandStatus

from flows.catalog import default_catalog
from gateway.app import Gateway
from smpp.sim import SmscSimulator
from tests.harness import ALI, ALI_ID, SARA_DEVICE, SARA_NEW, SARA_OLD, running_gateway
from tests.processes import Citizen
from tests.redis_events import keyspace

TOKEN = "admin-token-for-the-tests"
SARA_ID = "1583250689"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Admin = tuple[Gateway, SmscSimulator, "Client"]


def fa(key: str) -> str:
    return default_catalog().render("fa", key)


class Client:
    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def call(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                   **options: Any) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
        async with self.http.request(method, self.base + path, headers=AUTH if headers is None else headers,
                                     **options) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None, response.headers

    async def get(self, path: str, **options: Any) -> Any:
        status, body, _ = await self.call("GET", path, **options)
        assert status == 200, body
        return body

    async def post(self, path: str, **options: Any) -> Any:
        status, body, _ = await self.call("POST", path, **options)
        assert status == 200, body
        return body


@pytest_asyncio.fixture
async def admin(redis_url: str) -> AsyncIterator[Admin]:
    async with running_gateway(redis_url, admin={"token": TOKEN, "port": 0}) as (gateway, sim):
        await gateway.leases.changed.wait()
        async with aiohttp.ClientSession() as http:
            yield gateway, sim, Client(http, f"http://127.0.0.1:{gateway.admin_port}")


async def test_every_route_needs_the_token(admin: Admin) -> None:
    _gateway, _sim, client = admin
    routes = [("GET", f"/v1/subscribers/{SARA_NEW}"), ("POST", f"/v1/subscribers/{SARA_NEW}/reset-session"),
              ("POST", f"/v1/subscribers/{SARA_NEW}/reset-lockout"), ("GET", "/v1/audit"),
              ("GET", "/v1/dead-letters"), ("POST", "/v1/dead-letters/1-0/replay"),
              ("DELETE", "/v1/dead-letters/1-0"), ("POST", "/v1/dead-letters/purge"),
              ("GET", "/v1/queues"), ("GET", "/v1/partitions"), ("GET", "/v1/nothing-here")]
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        for method, path in routes:
            status, body, response_headers = await client.call(method, path, headers=headers)
            assert status == 401, (method, path, headers)
            assert body["status"] == 401 and "Authorization" in body["error"]
            assert response_headers["Content-Type"].startswith("application/problem+json")
            assert response_headers["WWW-Authenticate"].startswith("Bearer")
    # Nothing was done by the refused calls: no admin record in the audit stream.
    records = (await client.get("/v1/audit"))["records"]
    assert [r["action"] for r in records] == ["registry_load"]
    status, body, _ = await client.call("GET", "/v1/nothing-here")
    assert (status, body["error"]) == (404, "Not Found")


async def test_cors_answers_the_consoles_origin_only(admin: Admin) -> None:
    gateway, _sim, client = admin
    console = f"http://127.0.0.1:{gateway.http_port}"
    preflight = {"Origin": console, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}
    status, _, headers = await client.call("OPTIONS", f"/v1/subscribers/{SARA_NEW}/reset-session",
                                           headers=preflight)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == console
    assert "Authorization" in headers["Access-Control-Allow-Headers"]
    assert "POST" in headers["Access-Control-Allow-Methods"]
    status, _, headers = await client.call("OPTIONS", "/v1/queues", headers={
        **preflight, "Origin": "http://evil.example"})
    assert status == 403 and "Access-Control-Allow-Origin" not in headers
    status, _, headers = await client.call("GET", "/v1/queues", headers={**AUTH, "Origin": console})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == console
    status, _, headers = await client.call("GET", "/v1/queues", headers={"Origin": console})
    assert status == 401 and headers["Access-Control-Allow-Origin"] == console  # readable by the page


async def test_subscriber_state_is_masked_and_a_session_reset_is_audited(admin: Admin) -> None:
    _gateway, sim, client = admin
    sara = Citizen(sim, SARA_NEW)
    await sara.text("1")
    await sara.text(SARA_DEVICE)  # the restore flow now asks for the old number
    state = await client.get(f"/v1/subscribers/{SARA_NEW}")
    assert state["msisdn"] == "0936***0003"
    session = state["session"]
    assert (session["flow"], session["step"], session["channel"], session["language"]) == (
        "restore", "ask_old_number", "sms", "fa")
    assert 0 < session["idle_expires_in"] <= 600
    assert session["collected"] == {"imei": "49***18"}
    assert state["lockout"] == {"locked": False, "count": 0, "strikes_to_lock": 5, "until": None}
    assert state["limits"]["codes_hour"] == {"used": 0, "limit": 3}
    raw = json.dumps(state)
    assert SARA_DEVICE not in raw and SARA_NEW not in raw and "9361110003" not in raw

    assert await client.post(f"/v1/subscribers/{SARA_NEW}/reset-session") == {"ok": True}
    assert (await client.get(f"/v1/subscribers/{SARA_NEW}"))["session"] is None
    assert await sara.text("1") == fa("ask_imei")  # afresh: "1" is the menu's, not an old number
    records = (await client.get("/v1/audit", params={"msisdn": "09361110003"}))["records"]
    assert [(r["action"], r["who"], r["via"], r["target"]) for r in records] == [
        ("admin_reset_session", "admin", "api", "0936***0003")]


async def test_a_lockout_is_shown_and_reset(admin: Admin, redis_client: Any) -> None:
    gateway, _sim, client = admin
    now = time.time()
    record = {"msisdn": SARA_NEW, "strikes": [now - 60] * 5, "locked_until": now + 3600,
              "code_sends_at": [now - 30]}
    await redis_client.set(gateway.keys.subscriber(SARA_NEW), json.dumps(record), ex=86400)
    lockout = (await client.get(f"/v1/subscribers/{SARA_NEW}"))["lockout"]
    assert (lockout["locked"], lockout["count"]) == (True, 5) and lockout["until"].endswith("Z")
    assert await client.post(f"/v1/subscribers/{SARA_NEW}/reset-lockout") == {"ok": True}
    state = await client.get(f"/v1/subscribers/{SARA_NEW}")
    assert (state["lockout"]["locked"], state["lockout"]["count"]) == (False, 0)
    assert state["limits"]["codes_hour"]["used"] == 1  # the code limits are not the lockout
    assert await redis_client.ttl(gateway.keys.subscriber(SARA_NEW)) > 80000  # TTL kept
    actions = [r["action"] for r in (await client.get("/v1/audit"))["records"]]
    assert actions[0] == "admin_reset_lockout"


async def test_audit_by_imei_number_national_id_and_time_after_a_real_restore(
    admin: Admin, redis_client: Any
) -> None:
    _gateway, sim, client = admin
    sara = Citizen(sim, SARA_NEW)
    await sara.text("1")
    await sara.text(SARA_DEVICE)
    await sara.text("09351110002")
    await sara.text("{code}")
    for params in ({"imei": SARA_DEVICE}, {"msisdn": SARA_OLD}, {"msisdn": "09361110003"},
                   {"national_id": SARA_ID}, {"imei": SARA_DEVICE, "msisdn": SARA_NEW}):
        records = (await client.get("/v1/audit", params=params))["records"]
        assert [r["action"] for r in records] == ["restore_device"], params
        restore = records[0]
        assert (restore["imei"], restore["from_sim"], restore["to_sim"]) == (
            "49***18", "0935***0002", "0936***0003")
        assert SARA_DEVICE not in json.dumps(records) and SARA_ID not in json.dumps(records)
    index = [key async for key in redis_client.scan_iter(match="hamta:{reg}:audit-ix:*")]
    assert len(index) == 4  # the IMEI, the old and the new number, the owner's national ID
    assert not any(value in key for key in index for value in (SARA_DEVICE, SARA_ID, SARA_NEW[2:],
                                                                SARA_OLD[2:]))
    assert (await client.get("/v1/audit", params={"imei": "355762052793235"}))["records"] == []
    future = time.time() + 3600
    later = await client.get("/v1/audit", params={"imei": SARA_DEVICE, "since": str(future)})
    assert later["records"] == []
    by_time = await client.get("/v1/audit", params={"since": "2020-01-01T00:00:00Z", "limit": "1"})
    assert [r["action"] for r in by_time["records"]] == ["restore_device"]  # newest first
    everything = (await client.get("/v1/audit"))["records"]
    assert [r["action"] for r in everything] == ["restore_device", "registry_load"]
    for bad in ({"imei": "123"}, {"since": "yesterday"}, {"limit": "0"}, {"national_id": "1234567890"},
                {"colour": "red"}):
        status, body, _ = await client.call("GET", "/v1/audit", params=bad)
        assert status == 400 and body["error"], bad


async def test_dead_letters_listed_replayed_deleted_purged_and_audited(
    admin: Admin, redis_client: Any
) -> None:
    gateway, sim, client = admin
    sara = Citizen(sim, SARA_NEW)
    sim.submit_responses.append(SmppCommandStatus.ESME_RINVDSTADR)  # a permanent refusal
    assert await sara.send("سلام") == [SmppCommandStatus.ESME_ROK]
    letters = await _until_dead_letters(redis_client, gateway, client, 1)
    letter = letters[0]
    assert (letter["recipient"], letter["replayable"], letter["reason"]) == (
        "0936***0003", True, "ESME_RINVDSTADR")
    assert "sealed" not in letter and SARA_NEW not in json.dumps(letters)

    replayed = await client.post(f"/v1/dead-letters/{letter['id']}/replay")
    assert (replayed["ok"], replayed["queued_on"], replayed["number"]) == (True, "outbound", "0936***0003")
    assert await sara.reply() == sim.mt_log[-1].text  # sent this time
    assert (await client.get("/v1/dead-letters"))["dead_letters"] == []
    status, body, _ = await client.call("POST", f"/v1/dead-letters/{letter['id']}/replay")
    assert status == 404 and "no dead letter" in body["error"]
    status, body, _ = await client.call("DELETE", "/v1/dead-letters/not-an-id")
    assert status == 400

    for _ in range(3):
        sim.submit_responses.append(SmppCommandStatus.ESME_RINVDSTADR)
        assert await sara.send("3") == [SmppCommandStatus.ESME_ROK]
    letters = await _until_dead_letters(redis_client, gateway, client, 3)
    assert (await client.call("DELETE", f"/v1/dead-letters/{letters[0]['id']}"))[:2] == (200, {"ok": True})
    assert await client.post("/v1/dead-letters/purge", json={"ids": [letters[1]["id"]]}) == {
        "ok": True, "purged": 1}
    assert await client.post("/v1/dead-letters/purge") == {"ok": True, "purged": 1}
    assert (await client.get("/v1/dead-letters"))["dead_letters"] == []
    actions = [r["action"] for r in (await client.get("/v1/audit"))["records"]]
    assert actions[:4] == ["admin_dead_letters_purge", "admin_dead_letters_purge",
                           "admin_dead_letter_delete", "admin_dead_letter_replay"]


async def test_queues_and_partitions(admin: Admin) -> None:
    gateway, _sim, client = admin
    queues = await client.get("/v1/queues")
    assert [row["partition"] for row in queues["partitions"]] == list(range(16))
    assert set(queues["partitions"][0]) == {"partition", "inbound", "outbound", "inbound_pending",
                                            "outbound_pending"}
    assert queues["totals"] == {"inbound": 0, "outbound": 0, "dead_letters": 0}
    await gateway.leases.changed.wait()
    while len(gateway.leases.owned) < 16:
        gateway.leases.changed.clear()
        await gateway.leases.changed.wait()
    partitions = await client.get("/v1/partitions")
    assert {row["holder"] for row in partitions["partitions"]} == {gateway.owner}
    assert all(0 < row["lease_expires_in"] <= 3 for row in partitions["partitions"])
    assert [(m["member"], m["partitions"]) for m in partitions["members"]] == [(gateway.owner, 16)]
    assert (partitions["standby"], partitions["unheld"]) == ([], [])


async def _until_dead_letters(db: Any, gateway: Gateway, client: Client, count: int) -> list[dict[str, Any]]:
    """The dead letters, once there are `count` (a permanent refusal is dead-lettered just after
    the SMSC's answer): woken by each XADD on the dead-letter stream."""
    key = gateway.keys.dead_letters()

    async def enough() -> bool:
        return int(await db.xlen(key)) >= count

    async with keyspace(db, key, "xadd") as added:
        await added.until(enough, timeout=10)
    letters: list[dict[str, Any]] = (await client.get("/v1/dead-letters"))["dead_letters"]
    return letters


async def test_without_a_token_the_admin_api_does_not_start_and_says_so(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="gateway.app")
    async with running_gateway(redis_url, admin={"port": 0}) as (gateway, _sim):
        assert gateway.admin_port is None
    assert "admin API off: admin.token (HAMTA_ADMIN__TOKEN) is not set" in caplog.text


async def test_a_password_recovery_is_found_by_national_id_and_number(admin: Admin) -> None:
    _gateway, sim, client = admin
    ali = Citizen(sim, ALI)
    await ali.text("2")
    await ali.text(ALI_ID)
    await ali.text("1365/04/12")
    await ali.text("{code}")
    for params in ({"national_id": ALI_ID}, {"msisdn": "09121110001"}):
        records = (await client.get("/v1/audit", params=params))["records"]
        assert [(r["action"], r["national_id"], r["requester"]) for r in records] == [
            ("recover_password", "04***99", "0912***0001")], params
