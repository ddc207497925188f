"""Abuse limits through a real gateway: a number flooding the shortcode costs the operator a
bounded number of MT segments, is told once, and its dialog state is untouched meanwhile."""

from __future__ import annotations

import asyncio
import json
import re
import time

import redis.asyncio
from aiosmpplib import SmppCommandStatus

from flows.catalog import default_catalog
from gateway.settings import load_settings
from gateway.store.keys import Keys
from tests.harness import SARA_DEVICE, SARA_NEW, SARA_OLD, running_gateway
from tests.redis_events import emptied, keyspace

KEYS = Keys()
CODE = re.compile(r"\b[1-9][0-9]{5}\b")
FA = default_catalog()


async def test_100_mo_in_a_minute_cost_at_most_20_segments(
    redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    defaults = load_settings().limits.model_dump()  # the shipped budget, not the tests' relaxed one
    async with running_gateway(redis_url, limits=defaults) as (gateway, sim):
        partition = KEYS.partition_of(SARA_NEW)
        inbound, outbound = KEYS.inbound(partition), KEYS.outbound_sessionless(partition)
        # Silenced turns write no reply: the inbound stream is what every turn ends on. Help to
        # a number with no dialog queues in the sessionless lane.
        async with keyspace(redis_client, inbound, "xdel") as handled:
            for _ in range(100):  # help: 4 segments each, the costliest text to ask for
                assert await sim.send_mo(SARA_NEW, "7777", "3") == [SmppCommandStatus.ESME_ROK]
            await handled.until(emptied(redis_client, inbound), timeout=30)
        async with keyspace(redis_client, outbound, "xdel") as sent:
            await sent.until(emptied(redis_client, outbound), timeout=30)
        mts = [mt for mt in sim.mt_log if mt.destination == SARA_NEW]
        assert sum(mt.parts for mt in mts) <= 20
        assert [mt.text for mt in mts].count(FA.render("fa", "reply_limit")) == 1
        assert gateway.worker.rate_limited["replies"] >= 90


async def test_20_code_requests_from_one_number_get_3_codes_then_the_wait(redis_url: str) -> None:
    """Through a real gateway: new sessions and resends alike count (3 codes an hour)."""
    async with running_gateway(redis_url) as (_gateway, sim):
        texts: list[str] = []
        for _ in range(10):  # 20 code requests: each session asks once and resends once
            for text in ("1", SARA_DEVICE, SARA_OLD, "دوباره", "0"):
                await sim.send_mo(SARA_NEW, "7777", text)
                texts.append((await sim.await_mt(SARA_NEW, timeout=10)).text)
        codes = [text for text in texts if CODE.search(text) and "IMEI" in text]
        assert len(codes) == 3
        waits = [text for text in texts if text.startswith(FA.render("fa", "code_limit_minutes",
                                                                     minutes=1)[:40])]
        assert waits, texts


async def test_a_restore_completes_within_2_s_while_200_strangers_flood(
    redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """200 numbers with no dialog ask for help at once (800+ MT segments, seconds of the
    account's TPS); an eligible citizen's dialog goes first and is done long before them."""
    strangers = [f"98990{n:07d}" for n in range(200)]
    limits = {"sessionless_segments_per_second": 100}  # the flood drains in seconds, not a minute
    async with running_gateway(redis_url, limits=limits, smpp={"tps": 200}) as (gateway, sim):
        statuses = await asyncio.gather(*(sim.send_mo(number, "7777", "3") for number in strangers))
        assert all(status == [SmppCommandStatus.ESME_ROK] for status in statuses)
        loop = asyncio.get_running_loop()
        started = loop.time()
        texts = []
        for text in ("1", SARA_DEVICE, SARA_OLD):
            await sim.send_mo(SARA_NEW, "7777", text)
            texts.append((await sim.await_mt(SARA_NEW, timeout=10)).text)
        code = CODE.search(texts[-1])
        assert code is not None, texts
        await sim.send_mo(SARA_NEW, "7777", code.group())
        await sim.await_mt(SARA_NEW, timeout=10)
        elapsed = loop.time() - started
        assert (await gateway.registry.device(SARA_DEVICE)).sim == SARA_NEW
        assert elapsed < 2.0, elapsed
        helped = {mt.destination for mt in sim.mt_log} - {SARA_NEW}
        assert len(helped) < len(strangers)  # the flood was still queued: the dialog went first
        answered: set[str] = set()
        while len(answered) < len(strangers):  # and every stranger is answered after it
            answered.add((await sim.await_mt(timeout=30)).destination)
        assert answered == set(strangers)


async def test_the_sixth_code_in_24_h_is_the_last_one_through_a_real_gateway(
    redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    """The day's limit holds across sessions and hours: five codes sent over the last 20 hours
    (seeded in the subscriber's record, as earlier sessions left it) leave one more today."""
    now = time.time()
    sent = [now - hours * 3600 for hours in (20, 10, 5, 3, 2)]
    await redis_client.set(KEYS.subscriber(SARA_NEW), json.dumps({"code_sends_at": sent}))
    async with running_gateway(redis_url) as (_gateway, sim):
        texts = []
        for text in ("1", SARA_DEVICE, SARA_OLD, "دوباره"):
            await sim.send_mo(SARA_NEW, "7777", text)
            texts.append((await sim.await_mt(SARA_NEW, timeout=10)).text)
        assert CODE.search(texts[2]), texts  # the sixth code of the day
        # The seventh waits until the oldest of the six is 24 h old: 4 hours from now.
        assert texts[3] == FA.render("fa", "code_limit_hours", hours=4)
