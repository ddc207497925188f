"""The web console's routes over real HTTP (no browser): the page and its assets, config.json,
the masked audit records, and the phone routes, with the demo's `SimPhones` on a real simulator
and a real gateway, or without a phone (404)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio
from aiohttp import web

from devtools.demo import DEMO_REGISTRY
from devtools.web_phone import NOT_BOUND, SimPhones
from gateway.app import Gateway
from gateway.console import AdminAddress, ConsoleOptions, PhoneEvent
from gateway.console.recent import recent_audit
from gateway.console.routes import ASSETS, STATIC, admin_url
from gateway.store.fixtures import load_fixture_file
from gateway.store.keys import Keys
from gateway.transports.http_app import build_http_app
from smpp.sim import SmscSimulator
from tests.harness import SARA_DEVICE, SARA_NEW, SARA_OLD, gateway_settings

PAGE_TEXTS = ('lang="fa"', 'dir="rtl"', "assets/app.js", "assets/app.css")


async def _ready() -> list[str]:
    return []


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def fetch(url: str, method: str = "GET", body: Any = None) -> tuple[int, dict[str, str], str]:
    async with (aiohttp.ClientSession() as http,
                http.request(method, url, json=body, allow_redirects=False) as response):  # fmt: skip
        return response.status, dict(response.headers), await response.text()


async def test_the_page_assets_and_config_without_a_phone() -> None:
    app = build_http_app(_ready, console=ConsoleOptions("7777", "*7777#"))
    async with serving(app) as base:
        status, headers, _ = await fetch(f"{base}/")
        assert (status, headers["Location"]) == (302, "/console/")
        status, headers, page = await fetch(f"{base}/console/")
        assert status == 200 and all(text in page for text in PAGE_TEXTS)
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        assert "script-src" not in headers["Content-Security-Policy"]  # default-src 'self' covers it
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
            status, headers, _ = await fetch(f"{base}/console/assets/{name}")
            assert (status, headers["Content-Type"]) == (200, f"{kind}; charset=utf-8")
        assert (await fetch(f"{base}/console/assets/../routes.py"))[0] == 404
        assert (await fetch(f"{base}/console/assets/index.html"))[0] == 404
        status, _, text = await fetch(f"{base}/console/config.json")
        assert json.loads(text) == {"admin_url": "", "phone_enabled": False, "shortcode": "7777",
                                    "ussd_code": "*7777#", "phone_numbers": []}  # fmt: skip
        for path, method in (("sms", "POST"), ("ussd", "POST"), ("thread?msisdn=09121110001", "GET")):
            assert (await fetch(f"{base}/console/api/phone/{path}", method, {}))[0] == 404


def test_the_admin_url_is_where_the_browser_reaches_it() -> None:
    assert admin_url(None, "gw.example") == ""
    assert admin_url(AdminAddress("127.0.0.1", lambda: 8081), "localhost") == "http://localhost:8081"
    assert admin_url(AdminAddress("0.0.0.0", lambda: 8081), "10.1.2.3") == "http://10.1.2.3:8081"
    assert admin_url(AdminAddress("10.9.9.9", lambda: 8081), "10.1.2.3") == "http://10.9.9.9:8081"
    assert admin_url(AdminAddress("::1", lambda: 8081), "::1") == "http://[::1]:8081"
    assert admin_url(AdminAddress("127.0.0.1", lambda: None), "localhost") == ""  # not bound yet


async def test_recent_audit_records_show_no_personal_data(redis_client: redis.asyncio.Redis) -> None:
    keys = Keys()
    await redis_client.xadd(keys.audit(), {"action": "registry_load", "loaded_at": "1"})
    await redis_client.xadd(keys.audit(), {  # as restore_device.lua writes it
        "action": "restore_device", "imei": SARA_DEVICE, "from_sim": SARA_OLD, "to_sim": SARA_NEW,
        "to_national_id": "", "requester": SARA_NEW, "message_id": "1-0", "operation_id": "op-secret",
    })  # fmt: skip
    await redis_client.xadd(keys.audit(), {
        "action": "recover_password", "national_id": "5512345672", "requester": "989121110010",
        "sim_added": "1", "message_id": "2-0", "operation_id": "op-2",
    })  # fmt: skip
    options = ConsoleOptions("7777", "*7777#", recent=lambda limit: recent_audit(redis_client, keys, limit))
    async with serving(build_http_app(_ready, console=options)) as base:
        status, _, text = await fetch(f"{base}/console/api/recent?limit=2")
    records = json.loads(text)["records"]
    assert status == 200 and [r["action"] for r in records] == ["recover_password", "restore_device"]
    assert records[0] == {"at": records[0]["at"], "action": "recover_password",
                          "requester": "0912***0010", "sim_added": "1"}  # fmt: skip
    assert records[1] == {"at": records[1]["at"], "action": "restore_device", "requester": "0936***0003",
                          "from_sim": "0935***0002", "to_sim": "0936***0003"}  # fmt: skip
    for secret in (SARA_DEVICE, SARA_NEW, "5512345672", "op-secret", "1-0"):
        assert secret not in text


@contextlib.asynccontextmanager
async def demo_gateway(redis_url: str) -> AsyncIterator[tuple[str, SmscSimulator]]:
    """A gateway with the console's phone on a simulator, as `hamta-gateway demo` wires them."""
    async with (
        SmscSimulator(port=0, system_id="hamta", password="secret") as sim,
        SimPhones(sim, "7777") as phones,
    ):
        gateway = Gateway(gateway_settings(redis_url, sim.port), phone=phones)
        await gateway.registry.load(load_fixture_file(DEMO_REGISTRY))
        await gateway.start()
        try:
            await sim.wait_bound()
            yield f"http://127.0.0.1:{gateway.http_port}", sim
        finally:
            await gateway.stop()


async def thread_until(base: str, msisdn: str, kind: str, after: int = 0) -> list[dict[str, Any]]:
    """The number's events, long-polled until one of `kind` has come."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(15):
        while not any(event["kind"] == kind for event in events):
            last = events[-1]["seq"] if events else after
            _, _, text = await fetch(f"{base}/console/api/phone/thread?msisdn={msisdn}&after={last}&wait=10")
            events += json.loads(text)["events"]
    return events


async def test_the_phone_texts_and_dials_through_the_gateway(redis_url: str) -> None:
    async with demo_gateway(redis_url) as (base, sim):
        _, _, config = await fetch(f"{base}/console/config.json")
        assert json.loads(config)["phone_enabled"] is True
        assert (
            await fetch(f"{base}/console/api/phone/sms", "POST", {"msisdn": "0936 111 0003", "text": "1"})
        )[0] == 200
        events = await thread_until(base, "09361110003", "sms_mt")
        assert [e["kind"] for e in events] == ["sms_mo", "sms_mt"] and "IMEI" in events[1]["text"]
        assert sim.mt_log[-1].text == events[1]["text"]  # the very MT the simulator recorded

        ussd = f"{base}/console/api/phone/ussd"
        assert (await fetch(ussd, "POST", {"msisdn": "09121110001", "text": "1"}))[0] == 409  # nothing shown
        assert (await fetch(ussd, "POST", {"msisdn": "09121110001", "dial": "*7777#"}))[0] == 200
        screen = (await thread_until(base, "09121110001", "ussd_screen"))[-1]
        assert "۱ بازیابی دستگاه" in screen["text"] and screen["ends"] is False
        assert (await fetch(ussd, "POST", {"msisdn": "09121110001", "cancel": True}))[0] == 200
        ended = await thread_until(base, "09121110001", "ussd_ended", after=screen["seq"])
        assert ended[-1]["text"] == "user"
        assert (await fetch(ussd, "POST", {"msisdn": "09121110001", "cancel": True}))[0] == 409


@pytest.mark.parametrize(("path", "body"), [
    ("sms", {"msisdn": "021 1234 5678", "text": "1"}),  # a landline
    ("sms", {"msisdn": "09121110001", "text": "   "}),
    ("sms", {"msisdn": "09121110001", "text": "x" * 1001}),
    ("ussd", {"msisdn": "09121110001", "dial": "7777"}),
    ("ussd", {"msisdn": "09121110001"}),
    ("ussd", ["not", "an", "object"]),
])  # fmt: skip
async def test_the_phone_refuses_bad_requests(path: str, body: object) -> None:
    async with SmscSimulator() as sim, SimPhones(sim, "7777") as phones:
        app = build_http_app(_ready, console=ConsoleOptions("7777", "*7777#", phone=phones))
        async with serving(app) as base:
            status, _, text = await fetch(f"{base}/console/api/phone/{path}", "POST", body)
    assert status == 400 and json.loads(text)["error"]


class PolledPhones:
    """SimPhones, telling when a long poll has reached it (`polled`)."""

    def __init__(self, phones: SimPhones) -> None:
        self.phones = phones
        self.polled = asyncio.Event()
        self.numbers, self.text, self.dial = phones.numbers, phones.text, phones.dial
        self.answer, self.hang_up = phones.answer, phones.hang_up

    async def events(self, msisdn: str, after: int, timeout: float) -> list[PhoneEvent]:
        self.polled.set()
        return await self.phones.events(msisdn, after, timeout)


async def test_the_phone_says_when_no_gateway_is_bound_and_long_polls_end_with_the_server() -> None:
    async with SmscSimulator() as sim, SimPhones(sim, "7777") as sim_phones:
        phones = PolledPhones(sim_phones)
        app = build_http_app(_ready, console=ConsoleOptions("7777", "*7777#", phone=phones))
        runner = web.AppRunner(app, shutdown_timeout=30)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        status, _, text = await fetch(
            f"{base}/console/api/phone/sms", "POST", {"msisdn": "09121110001", "text": "1"}
        )
        assert (status, json.loads(text)) == (409, {"error": NOT_BOUND})
        _, _, text = await fetch(f"{base}/console/api/phone/thread?msisdn=09121110001&after=0&wait=0")
        assert [e["kind"] for e in json.loads(text)["events"]] == ["sms_mo", "error"]

        phones.polled.clear()
        waiting = asyncio.create_task(
            fetch(f"{base}/console/api/phone/thread?msisdn=09121110001&after=2&wait=30")
        )
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(10):
            await phones.polled.wait()
            started = loop.time()
            await runner.cleanup()
            status, _, text = await waiting
        assert (status, json.loads(text)["events"]) == (200, [])
        assert loop.time() - started < 5  # not the 30 s poll, nor the 30 s shutdown timeout


def test_every_shipped_asset_is_served_and_every_served_one_shipped() -> None:
    assert {path.name for path in (STATIC / "assets").iterdir()} == set(ASSETS)
