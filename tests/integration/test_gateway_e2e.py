"""The gateway for real: redis-server, the SMSC simulator over TCP, the gateway process parts.

Each test talks Persian to the gateway as a subscriber would and checks what the simulator
received and what the registry holds afterwards.
"""

from __future__ import annotations

import re

import aiohttp
from aiosmpplib import SmppCommandStatus

from devtools.redis_server import RedisServer
from flows.catalog import default_catalog
from smpp.sim import SmscSimulator
from tests.harness import (
    SARA_DEVICE,
    SARA_NEW,
    SARA_OLD,
    Sections,
    running_gateway,
)

SHORTCODE = "7777"
FA = default_catalog()


class Subscriber:
    def __init__(self, sim: SmscSimulator, msisdn: str) -> None:
        self.sim, self.msisdn, self.code = sim, msisdn, ""

    async def text(self, body: str, **options: object) -> str:
        body = body.replace("{code}", self.code)
        statuses = await self.sim.send_mo(self.msisdn, SHORTCODE, body, **options)  # type: ignore[arg-type]
        assert set(statuses) == {SmppCommandStatus.ESME_ROK}
        return await self.reply()

    async def reply(self) -> str:
        mt = await self.sim.await_mt(self.msisdn, timeout=10)
        if found := re.search(r"\b[1-9][0-9]{5}\b", mt.text):
            self.code = found.group()
        return mt.text


def fa(key: str, **params: object) -> str:
    return FA.render("fa", key, **params)


async def test_persian_restore_end_to_end(redis_url: str, registry_backend: Sections) -> None:
    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        sara = Subscriber(sim, SARA_NEW)
        assert await sara.text("سلام") == fa("menu")
        assert await sara.text("۱") == fa("ask_imei")
        assert await sara.text("۴۹۰۱۵۴۲۰۳۲۳۷۵۱۸") == fa("ask_old_number")
        assert (await sara.text("۰۹۳۵۱۱۱۰۰۰۲")).startswith("کد تأیید همتا")
        assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_OLD
        assert await sara.text("{code}") == fa("restored_to_sim", imei_tail="7518")
        device = await gateway.registry.device(SARA_DEVICE)
        assert (device.sim, device.registered_owner) == (SARA_NEW, "1583250689")


async def test_replies_are_ucs2_concatenated_with_receipts(redis_url: str) -> None:
    async with running_gateway(redis_url) as (_gateway, sim):
        await sim.send_mo(SARA_NEW, SHORTCODE, "3")  # help: two parts (the happy path has one)
        mt = await sim.await_mt(SARA_NEW)
        assert (mt.data_coding, mt.parts, mt.registered_delivery & 1) == (8, 2, 1)
        assert mt.source == SHORTCODE and mt.destination == SARA_NEW
        await sim.send_mo(SARA_NEW, SHORTCODE, "1")
        assert (await sim.await_mt(SARA_NEW)).parts == 1
        await sim.send_mo(SARA_NEW, SHORTCODE, "EN")  # the question again, in English: GSM 7-bit
        english = await sim.await_mt(SARA_NEW)
        assert (english.data_coding, english.parts) == (0, 1)


async def test_concatenated_mo_is_one_message(redis_url: str) -> None:
    long_text = "سلام، من سیم‌کارت قبلی‌ام را گم کرده‌ام و می‌خواهم گوشی‌ام را بازیابی کنم. " * 3
    async with running_gateway(redis_url) as (_gateway, sim):
        sara = Subscriber(sim, SARA_NEW)
        for concat in ("udh", "sar"):
            assert await sara.text(long_text, concat=concat) == fa("menu")
        # Had the parts been taken one by one, more menus would be queued before this answer.
        assert await sara.text("1") == fa("ask_imei")


async def test_wrong_inputs_wrong_code_and_cancel(redis_url: str, registry_backend: Sections) -> None:
    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        sara = Subscriber(sim, SARA_NEW)
        assert await sara.text("1") == fa("ask_imei")
        assert await sara.text("12345") == fa("imei_length")
        assert await sara.text(SARA_DEVICE) == fa("ask_old_number")
        assert await sara.text("021 8877 6655") == fa("number_invalid")
        await sara.text("09351110002")
        assert await sara.text("100000") == fa("code_wrong", left=2)
        assert await sara.text("لغو") == fa("cancelled")
        assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_OLD


async def test_lockout(redis_url: str, registry_backend: Sections) -> None:
    lockout = {"lockout_strikes": 2}
    async with running_gateway(redis_url, service=lockout, **registry_backend) as (_gateway, sim):
        sara = Subscriber(sim, SARA_NEW)
        await sara.text(SARA_DEVICE)
        assert await sara.text("09131110005") == fa("mismatch", left=2)
        await sara.text(SARA_DEVICE)
        assert await sara.text("09131110005") == fa("locked", hours=24)
        assert await sara.text("1") == fa("locked", hours=24)


async def test_health_and_readiness(redis_url: str) -> None:
    async with running_gateway(redis_url) as (gateway, _sim):
        base = f"http://127.0.0.1:{gateway.http_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
            async with http.get(f"{base}/readyz") as response:
                assert response.status == 200 and (await response.json())["status"] == "ready"


async def test_not_ready_without_a_bind(redis_url: str) -> None:
    from gateway.app import Gateway
    from tests.harness import gateway_settings

    async with SmscSimulator(port=0, password="other") as sim:  # refuses our password
        gateway = Gateway(gateway_settings(redis_url, sim.port))
        await gateway.start()
        try:
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{gateway.http_port}/readyz"
                async with http.get(url) as response:
                    assert response.status == 503
                    assert "smpp not bound" in (await response.json())["reasons"]
        finally:
            await gateway.stop()


async def test_redis_down_mo_refused_temporarily_then_recovered(
    redis_url: str, redis_server: RedisServer
) -> None:
    async with running_gateway(redis_url) as (_gateway, sim):
        sara = Subscriber(sim, SARA_NEW)
        assert await sara.text("1") == fa("ask_imei")
        redis_server.kill()
        try:
            statuses = await sim.send_mo(SARA_NEW, SHORTCODE, SARA_DEVICE)
            assert statuses == [SmppCommandStatus.ESME_RX_T_APPN]
        finally:
            redis_server.restart()
        # The SMSC retries; the session survived the restart (AOF) and the dialog goes on.
        assert await sara.text(SARA_DEVICE) == fa("ask_old_number")


async def test_password_recovery_end_to_end(redis_url: str, registry_backend: Sections) -> None:
    from flows.password_hash import verify_password
    from tests.harness import LOST_SIM_ID, LOST_SIM_NEW

    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        person = Subscriber(sim, LOST_SIM_NEW)
        assert await person.text("رمز") == fa("ask_national_id")
        assert await person.text("۵۵۱-۲۳۴۵۶۷-۲") == fa("ask_birth_date")
        assert (await person.text("۱۳۶۸/۰۲/۲۰")).startswith("کد تأیید همتا")
        assert await person.text("{code}") == fa("password_reset_sim_added", devices=2)
        password_sms = await person.reply()
        password = password_sms.split(":")[1].split()[0]
        stored = await gateway.redis.hget(gateway.keys.person(LOST_SIM_ID), "password_hash")
        assert verify_password(password, stored)
        assert {mt.destination for mt in sim.mt_log} == {LOST_SIM_NEW}
        shown = await gateway.registry.show("national-id", LOST_SIM_ID)
        assert LOST_SIM_NEW in shown["cartable"]["sims"] and shown["cartable"]["device_count"] == 2


async def test_redelivered_mo_after_a_rebind_is_processed_once(
    redis_url: str, registry_backend: Sections
) -> None:
    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        sara = Subscriber(sim, SARA_NEW)
        assert await sara.text("1") == fa("ask_imei")
        binds = gateway.smpp.binds
        await sim.drop_binds()  # as if the deliver_sm_resp of "1" had been lost with the link
        await sim.wait_bound()
        assert await sim.send_mo(SARA_NEW, SHORTCODE, "1") == [SmppCommandStatus.ESME_ROK]
        assert gateway.smpp.binds == binds + 1  # it came on the new bind
        # Processed again, "1" would be a wrong IMEI and its answer would come first.
        assert await sara.text(SARA_DEVICE) == fa("ask_old_number")


async def test_throttled_parts_are_retried_not_dropped(redis_url: str) -> None:
    async with running_gateway(redis_url) as (gateway, sim):
        sim.submit_responses.extend([SmppCommandStatus.ESME_RTHROTTLED, SmppCommandStatus.ESME_RMSGQFUL,
                                     SmppCommandStatus.ESME_RTHROTTLED])
        sara = Subscriber(sim, SARA_NEW)
        assert await sara.text("1") == fa("ask_imei")
        assert gateway.sender.throttled == 3
        assert not sim.submit_responses
