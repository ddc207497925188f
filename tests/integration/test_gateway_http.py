"""The HTTP callbacks inside the whole gateway (real Redis, real SMPP to the simulator, real
HTTP): dialogues keyed by aggregator + sessionId + number, the screen-wait budget that never
reaches the SMPP intake's Redis connections, and no open callbacks on the network."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiosmpplib import SmppCommandStatus

from flows.catalog import default_catalog
from flows.dialog_types import channel_words
from flows.outcomes import TurnOutcome
from flows.session import Subscriber
from gateway.app import Gateway
from gateway.errors import StartupFailed
from gateway.messages import InboundMessage, OutboundMessage
from gateway.settings import HttpSettings
from tests.harness import LOST_SIM_ID, LOST_SIM_NEW, SARA_DEVICE, SARA_NEW, gateway_settings, running_gateway

FA = default_catalog()
Replies = tuple[list[OutboundMessage], TurnOutcome]
UssdTurn = Callable[[Subscriber, InboundMessage], Awaitable[Replies]]


def screen(key: str) -> str:
    shown = f"ussd_{key}" if f"ussd_{key}" in FA.keys("fa") else key
    return FA.render("fa", shown, **channel_words(FA, "fa", "ussd"))


async def _hop(
    http: aiohttp.ClientSession, url: str, session: str, number: str, text: str
) -> tuple[int, str]:
    form = {"sessionId": session, "serviceCode": "*7777#", "phoneNumber": number, "text": text}
    async with http.post(url, data=form) as response:
        return response.status, await response.text()


async def test_two_dialogues_sharing_a_session_id_each_get_their_own_screens(redis_url: str) -> None:
    async with running_gateway(redis_url) as (gateway, _sim):
        url = f"http://127.0.0.1:{gateway.http_port}/ussd"
        a, b = "+" + SARA_NEW, "+" + LOST_SIM_NEW  # a may restore, b may recover a password
        async with aiohttp.ClientSession() as http:
            menus = await asyncio.gather(_hop(http, url, "shared", a, ""), _hop(http, url, "shared", b, ""))
            assert menus == [(200, "CON " + screen("menu"))] * 2
            steps = [("1", "2", "ask_imei", "ask_national_id"),
                     (f"1*{SARA_DEVICE}", f"2*{LOST_SIM_ID}", "ask_old_number", "ask_birth_date")]
            for text_a, text_b, screen_a, screen_b in steps:  # concurrently, each its own step
                answers = await asyncio.gather(_hop(http, url, "shared", a, text_a),
                                               _hop(http, url, "shared", b, text_b))  # fmt: skip
                assert answers == [(200, "CON " + screen(screen_a)), (200, "CON " + screen(screen_b))]


class StalledTurns:
    """Holds the worker's USSD turn for the chosen numbers until released; `entered` counts the
    held turns (each number in a partition of its own, so none waits behind another)."""

    def __init__(self, gateway: Gateway, numbers: set[str]) -> None:
        self._original: UssdTurn = gateway.worker._ussd_turn
        self._numbers = numbers
        self.release = asyncio.Event()
        self.entered = 0
        self.changed = asyncio.Condition()
        gateway.worker._ussd_turn = self._turn  # type: ignore[method-assign]

    async def _turn(self, subscriber: Subscriber, message: InboundMessage) -> Replies:
        if message.sender in self._numbers:
            async with self.changed:
                self.entered += 1
                self.changed.notify_all()
            await self.release.wait()
        return await self._original(subscriber, message)

    async def until_entered(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.entered >= count), 10)


def numbers_in_distinct_partitions(gateway: Gateway, count: int) -> list[str]:
    chosen: dict[int, str] = {}
    for n in range(100):
        msisdn = f"98912111{n:04d}"
        chosen.setdefault(gateway.keys.partition_of(msisdn), msisdn)
    return list(chosen.values())[:count]


async def test_beyond_the_screen_budget_a_hop_is_503_at_once_and_smpp_intake_is_unaffected(
    redis_url: str,
) -> None:
    sections = {"http": {"max_screen_waits": 2}, "ussd": {"answer_budget_seconds": 30},
}  # fmt: skip
    async with running_gateway(redis_url, **sections) as (gateway, sim):
        url = f"http://127.0.0.1:{gateway.http_port}/ussd"
        first, second, third = numbers_in_distinct_partitions(gateway, 3)
        stalled = StalledTurns(gateway, {first, second})
        async with aiohttp.ClientSession() as http:
            waiting = [asyncio.create_task(_hop(http, url, f"s-{n}", n, "")) for n in (first, second)]
            await stalled.until_entered(2)  # both stored, both holding a screen wait
            status, text = await asyncio.wait_for(_hop(http, url, "s-3", third, ""), 2)
            assert (status, "too many USSD sessions waiting" in text) == (503, True)
            acked = await asyncio.wait_for(sim.send_mo(SARA_NEW, "7777", "1"), 2)
            assert acked == [SmppCommandStatus.ESME_ROK]  # stored and acknowledged meanwhile
            stalled.release.set()
            assert [await task for task in waiting] == [(200, "CON " + screen("menu"))] * 2
            # answered too (its partition's worker may have been one of the held ones)
            assert (await sim.await_mt(SARA_NEW)).text == FA.render("fa", "ask_imei")
            assert (await _hop(http, url, "s-3", third, ""))[0] == 200  # the budget is free again


async def test_the_gateway_will_not_listen_open_on_the_network(redis_url: str) -> None:
    settings = gateway_settings(redis_url, 1)
    # Built without validation (as a programmatic caller could): the start-up check still holds.
    open_http = HttpSettings.model_construct(**{**settings.http.model_dump(), "host": "0.0.0.0"})
    gateway = Gateway(settings.model_copy(update={"http": open_http}))
    with pytest.raises(StartupFailed, match="HAMTA_HTTP__AGGREGATOR_TOKEN"):
        await gateway.start()


async def test_allow_insecure_starts_open_with_a_warning(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateway.app")
    http = {"host": "0.0.0.0", "allow_insecure": True}
    async with running_gateway(redis_url, http=http) as (gateway, _sim):
        assert gateway.http_port
        assert any("allow_insecure" in record.getMessage() and record.levelno == logging.WARNING
                   for record in caplog.records)  # fmt: skip
