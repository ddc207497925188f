"""Both procedures over USSD, through SMPP (the simulator's USSD dialogues) and through the
HTTP aggregator callback, with the registry checked after each."""

from __future__ import annotations

import re

import aiohttp

from flows.catalog import default_catalog
from flows.dialog_types import channel_words
from flows.password_hash import verify_password
from tests.harness import (
    LOST_SIM_ID,
    LOST_SIM_NEW,
    SARA_DEVICE,
    SARA_NEW,
    SARA_OLD,
    Sections,
    running_gateway,
)

FA = default_catalog()
CODE = re.compile(r"\b[1-9][0-9]{5}\b")


def screen(key: str, **params: object) -> str:
    shown = f"ussd_{key}" if f"ussd_{key}" in FA.keys("fa") else key
    return FA.render("fa", shown, **channel_words(FA, "fa", "ussd"), **params)


async def test_restore_over_ussd_through_smpp(redis_url: str, registry_backend: Sections) -> None:
    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        dialogue = await sim.ussd_start(SARA_NEW, code="*7777#")
        menu = await dialogue.screen(5)
        assert menu.text == screen("menu") and not menu.ends
        await dialogue.reply("1")
        assert (await dialogue.screen(5)).text == screen("ask_imei")
        await dialogue.reply(SARA_DEVICE)
        assert (await dialogue.screen(5)).text == screen("ask_old_number")
        await dialogue.reply("09351110002")
        waiting = await dialogue.screen(5)
        assert waiting.text == screen("code_sent", minutes=3) and not waiting.ends
        code_sms = await sim.await_mt(SARA_NEW)  # the code comes by SMS, not on the screen
        assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_OLD
        await dialogue.reply(CODE.search(code_sms.text).group())  # type: ignore[union-attr]
        done = await dialogue.screen(5)
        assert done.ends and done.text == screen("restored_to_sim", imei_tail="7518")
        assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_NEW


async def test_password_over_ussd_dialled_straight_to_the_option(
    redis_url: str, registry_backend: Sections
) -> None:
    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        dialogue = await sim.ussd_start(LOST_SIM_NEW, code="*7777*2#")
        assert (await dialogue.screen(5)).text == screen("ask_national_id")
        await dialogue.reply(LOST_SIM_ID)
        assert (await dialogue.screen(5)).text == screen("ask_birth_date")
        await dialogue.reply("1368/02/20")
        assert not (await dialogue.screen(5)).ends
        code = CODE.search((await sim.await_mt(LOST_SIM_NEW)).text).group()  # type: ignore[union-attr]
        await dialogue.reply(code)
        done = await dialogue.screen(5)  # one screen: the happy path fits one SMS segment
        assert done.ends and done.text == screen("password_reset_sim_added", devices=2)
        password = (await sim.await_mt(LOST_SIM_NEW)).text.split(":")[1].split()[0]
        stored = await gateway.redis.hget(gateway.keys.person(LOST_SIM_ID), "password_hash")
        assert verify_password(password, stored)


async def test_paging_and_user_abort_then_resume(redis_url: str, registry_backend: Sections) -> None:
    async with running_gateway(redis_url, **registry_backend) as (_gateway, sim):
        dialogue = await sim.ussd_start(SARA_NEW)
        await dialogue.screen(5)
        await dialogue.reply("1")
        await dialogue.screen(5)
        await dialogue.reply(SARA_DEVICE)
        assert (await dialogue.screen(5)).text == screen("ask_old_number")
        await dialogue.abort()
        again = await sim.ussd_start(SARA_NEW)
        assert (await again.screen(5)).text == screen("resume")
        await again.reply("1")
        assert (await again.screen(5)).text == screen("ask_old_number")
        await again.reply("0")
        assert (await again.screen(5)).ends
        help_dialogue = await sim.ussd_start(SARA_NEW)
        await help_dialogue.screen(5)
        await help_dialogue.reply("3")
        first = await help_dialogue.screen(5)
        assert first.text.endswith(screen("more")) and not first.ends
        await help_dialogue.reply("#")
        assert (await help_dialogue.screen(5)).text != first.text


async def _hop(http: aiohttp.ClientSession, url: str, session: str, number: str, text: str) -> str:
    form = {"sessionId": session, "serviceCode": "*7777#", "phoneNumber": number, "text": text}
    async with http.post(url, data=form) as response:
        assert response.status == 200
        return await response.text()


async def test_restore_over_the_http_ussd_callback(redis_url: str, registry_backend: Sections) -> None:
    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        url = f"http://127.0.0.1:{gateway.http_port}/ussd"
        async with aiohttp.ClientSession() as http:
            hops = ["", "1", f"1*{SARA_DEVICE}", f"1*{SARA_DEVICE}*09351110002"]
            answers = [await _hop(http, url, "at-1", "+989361110003", text) for text in hops]
            assert answers == ["CON " + screen("menu"), "CON " + screen("ask_imei"),
                               "CON " + screen("ask_old_number"), "CON " + screen("code_sent", minutes=3)]
            code = CODE.search((await sim.await_mt(SARA_NEW)).text).group()  # type: ignore[union-attr]
            done = await _hop(http, url, "at-1", "+989361110003", f"{hops[-1]}*{code}")
            assert done == "END " + screen("restored_to_sim", imei_tail="7518")
            async with http.post(url, data={"sessionId": "x"}) as bad:
                assert bad.status == 400
    assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_NEW


async def test_http_sms_inbound_is_stored_once_and_answered_by_smpp(redis_url: str) -> None:
    async with running_gateway(redis_url) as (gateway, sim):
        url = f"http://127.0.0.1:{gateway.http_port}/sms/inbound"
        body = {"from": "09361110003", "to": "7777", "text": "1", "id": "agg-42"}
        async with aiohttp.ClientSession() as http:
            for expected in ("accepted", "duplicate"):
                async with http.post(url, json=body) as response:
                    assert response.status == 200 and (await response.json())["status"] == expected
        assert (await sim.await_mt(SARA_NEW)).text == FA.render("fa", "ask_imei")
        await sim.send_mo(SARA_NEW, "7777", SARA_DEVICE)  # answered once: the next is the next step
        assert (await sim.await_mt(SARA_NEW)).text == FA.render("fa", "ask_old_number")


async def test_aggregator_callbacks_require_the_token_when_one_is_set(redis_url: str) -> None:
    token = "a-long-shared-aggregator-secret"
    async with running_gateway(redis_url, http={"aggregator_token": token}) as (gateway, sim):
        url = f"http://127.0.0.1:{gateway.http_port}/sms/inbound"
        body = {"from": "09361110003", "to": "7777", "text": "1", "id": "agg-token-1"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=body) as refused:
                assert refused.status == 401
            async with http.post(url, json=body, headers={"X-Hamta-Token": "wrong-but-long-enough"}) as wrong:
                assert wrong.status == 401
            async with http.post(url, json=body, headers={"X-Hamta-Token": token}) as taken:
                assert taken.status == 200
            async with http.get(f"http://127.0.0.1:{gateway.http_port}/healthz") as health:
                assert health.status == 200  # probes need no token
        assert (await sim.await_mt(SARA_NEW)).text == FA.render("fa", "ask_imei")


async def test_password_over_the_http_ussd_callback(redis_url: str, registry_backend: Sections) -> None:
    async with running_gateway(redis_url, **registry_backend) as (gateway, sim):
        url = f"http://127.0.0.1:{gateway.http_port}/ussd"
        number = "+989121110010"
        async with aiohttp.ClientSession() as http:
            assert await _hop(http, url, "at-2", number, "") == "CON " + screen("menu")
            assert await _hop(http, url, "at-2", number, "2") == "CON " + screen("ask_national_id")
            asked = await _hop(http, url, "at-2", number, f"2*{LOST_SIM_ID}")
            assert asked == "CON " + screen("ask_birth_date")
            waiting = await _hop(http, url, "at-2", number, f"2*{LOST_SIM_ID}*1368/02/20")
            assert waiting == "CON " + screen("code_sent", minutes=3)
            code = CODE.search((await sim.await_mt(LOST_SIM_NEW)).text).group()  # type: ignore[union-attr]
            done = await _hop(http, url, "at-2", number, f"2*{LOST_SIM_ID}*1368/02/20*{code}")
            assert done == "END " + screen("password_reset_sim_added", devices=2)
        password = (await sim.await_mt(LOST_SIM_NEW)).text.split(":")[1].split()[0]
        stored = await gateway.redis.hget(gateway.keys.person(LOST_SIM_ID), "password_hash")
        assert verify_password(password, stored)
        assert LOST_SIM_NEW in (await gateway.registry.person(LOST_SIM_ID)).cartable_sims


async def test_a_dialogue_past_the_network_limit_continues_by_sms(
    redis_url: str, registry_backend: Sections
) -> None:
    cut_off = {"session_seconds": 0.000001}
    async with running_gateway(redis_url, ussd=cut_off, **registry_backend) as (_gateway, sim):
        dialogue = await sim.ussd_start(SARA_NEW)
        assert (await dialogue.screen(5)).text == screen("menu")  # a dial is always answered
        await dialogue.reply("1")  # a round trip later, far past a 1 µs network limit
        cut = await dialogue.screen(5)
        assert cut.ends and cut.text == FA.render("fa", "ussd_slow")
        assert (await sim.await_mt(SARA_NEW)).text == FA.render("fa", "ask_imei")  # by SMS, in SMS words
        # handed over: the next SMS answers the question (no "dialogue closed" notice)
        await sim.send_mo(SARA_NEW, "7777", SARA_DEVICE)
        assert (await sim.await_mt(SARA_NEW)).text == FA.render("fa", "ask_old_number")


async def test_an_sms_after_an_abandoned_ussd_dialogue_starts_afresh(redis_url: str) -> None:
    """docs/conversations.md, Channels, rule 2: the user hangs up in the middle of a password
    dialogue, then texts `?`: the answer is the general help after a line saying the USSD
    dialogue was closed, not the birth date's help; the next SMS is a first message again."""
    async with running_gateway(redis_url) as (_gateway, sim):
        dialogue = await sim.ussd_start(LOST_SIM_NEW, code="*7777*2#")
        await dialogue.screen(5)
        await dialogue.reply(LOST_SIM_ID)
        assert (await dialogue.screen(5)).text == screen("ask_birth_date")
        await dialogue.abort()
        await sim.send_mo(LOST_SIM_NEW, "7777", "?")
        assert (await sim.await_mt(LOST_SIM_NEW)).text == FA.render("fa", "ussd_dialogue_closed")
        assert (await sim.await_mt(LOST_SIM_NEW)).text == FA.render("fa", "help")
        await sim.send_mo(LOST_SIM_NEW, "7777", "1368/02/20")  # the old step's answer: not taken
        assert (await sim.await_mt(LOST_SIM_NEW)).text == FA.render("fa", "menu")
