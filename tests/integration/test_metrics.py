"""`GET /metrics` of a real gateway (redis-server, the simulator over TCP) after a Persian restore.

The text must parse as Prometheus exposition, show the dialog in the counters, the bind, the
partitions and the backlog, and a scrape must cost one Redis round trip (one pipeline of XLEN).
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import redis.asyncio
from aiosmpplib import SmppCommandStatus
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import Gateway
from gateway.observability.metrics import GatewayMetrics
from gateway.observability.scrape import Scraper
from smpp.sim import SmscSimulator
from tests.harness import SARA_NEW, running_gateway

SHORTCODE = "7777"
CODE = re.compile(r"\b[1-9][0-9]{5}\b")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def restore(sim: SmscSimulator) -> None:
    """Sara restores her detached device (tests/harness.py), in Persian digits."""
    texts = ["۱", "۴۹۰۱۵۴۲۰۳۲۳۷۵۱۸", "۰۹۳۵۱۱۱۰۰۰۲"]
    code = ""
    for text in [*texts, None]:
        statuses = await sim.send_mo(SARA_NEW, SHORTCODE, text or code)
        assert set(statuses) == {SmppCommandStatus.ESME_ROK}
        reply = (await sim.await_mt(SARA_NEW, timeout=10)).text
        if found := CODE.search(reply):
            code = found.group()
    assert "منتقل شد" in reply


async def scrape(gateway: Gateway) -> tuple[str, str]:
    async with (aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{gateway.http_port}/metrics") as response):
        assert response.status == 200
        return response.headers["Content-Type"], await response.text()


def samples(text: str) -> Samples:
    """Every sample, by name and sorted labels; parsing fails on anything not Prometheus text."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def total(found: Samples, name: str, **labels: str) -> float:
    return sum(value for (sample, sample_labels), value in found.items()
               if sample == name and set(labels.items()) <= set(sample_labels))


async def xlen_calls(client: redis.asyncio.Redis) -> int:
    stats: dict[str, Any] = await client.info("commandstats")
    return int(stats.get("cmdstat_xlen", {}).get("calls", 0))


class CountingConnection(redis.asyncio.Connection):
    """Counts the writes to Redis: a pipeline is one write (one round trip), however long."""

    writes = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).writes += 1
        await super().send_packed_command(command, check_health)


async def test_metrics_after_a_restore(redis_url: str, redis_client: redis.asyncio.Redis) -> None:
    async with running_gateway(redis_url) as (gateway, sim):
        await restore(sim)
        before = await xlen_calls(redis_client)
        content_type, text = await scrape(gateway)
        xlens = await xlen_calls(redis_client) - before

    assert content_type.startswith("text/plain") and "version=" in content_type
    found = samples(text)
    assert total(found, "hamta_mo_received_total", channel="sms", transport="smpp") == 4
    assert total(found, "hamta_turns_total", flow="restore") == 4
    assert total(found, "hamta_turns_total", flow="restore", step="ask_code", outcome="restored") == 1
    assert total(found, "hamta_recoveries_total", procedure="restore", outcome="restored") == 1
    assert total(found, "hamta_recoveries_total", procedure="restore", outcome="mismatch") == 0
    assert total(found, "hamta_mt_segments_total", status="accepted") > 0
    assert total(found, "hamta_smpp_bound", bind="transceiver") == 1
    held = total(found, "hamta_partitions_held")
    assert held > 0
    assert ("hamta_queue_depth", (("direction", "inbound"),)) in found
    assert ("hamta_queue_depth", (("direction", "outbound"),)) in found
    assert ("hamta_dead_letters", ()) in found
    assert total(found, "hamta_turn_seconds_count") == 4
    assert total(found, "hamta_reply_seconds_count") >= 3
    assert total(found, "hamta_rate_limited_total", limit="replies") == 0
    # One pipeline: an XLEN of each held partition's inbound stream and both outbound lanes, and
    # the dead letters.
    assert xlens == 3 * held + 1
    assert "9361110003" not in text and "490154203237518" not in text  # no personal data


async def test_a_scrape_is_one_redis_round_trip(redis_url: str) -> None:
    async with running_gateway(redis_url) as (gateway, _sim):
        await gateway.leases.changed.wait()  # it holds partitions
        pool = redis.asyncio.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
        client = redis.asyncio.Redis(connection_pool=pool)
        try:
            await client.ping()  # the connection's own handshake is not the scrape's
            scraper = Scraper(GatewayMetrics(), client, gateway.keys, gateway.smpp, ["transceiver"],
                              "transceiver", lambda: gateway.leases.owned)
            CountingConnection.writes = 0
            snapshot = await scraper.snapshot()
            assert CountingConnection.writes == 1
        finally:
            await client.aclose()
    assert snapshot.partitions > 0 and snapshot.backlog is not None
    assert snapshot.binds == {"transceiver": True}


async def test_gateways_in_one_process_count_apart(redis_url: str) -> None:
    from tests.harness import gateway_settings

    first, second = (Gateway(gateway_settings(redis_url, 2775)) for _ in range(2))
    first.metrics.mo_stored("sms", "smpp")
    assert first.metrics.registry is not second.metrics.registry
    assert second.metrics.registry.get_sample_value(
        "hamta_mo_received_total", {"channel": "sms", "transport": "smpp"}) == 0
    for gateway in (first, second):
        await gateway.redis.aclose()


async def test_ussd_screens_are_timed(redis_url: str) -> None:
    async with running_gateway(redis_url) as (gateway, sim):
        dialogue = await sim.ussd_start(SARA_NEW)
        assert not (await dialogue.screen(10)).ends  # the menu
        await dialogue.reply("1")
        await dialogue.screen(10)  # ask_imei: the menu's submit_sm_resp was read before it
        _, text = await scrape(gateway)
    found = samples(text)
    assert total(found, "hamta_mo_received_total", channel="ussd", transport="smpp") == 2
    assert total(found, "hamta_turns_total", flow="none", outcome="menu") == 1
    assert total(found, "hamta_turns_total", flow="restore", step="start") == 1
    assert total(found, "hamta_ussd_screen_seconds_count") >= 1


async def test_aggregator_sms_counted_by_transport_and_duplicates(redis_url: str) -> None:
    async with running_gateway(redis_url) as (gateway, sim):
        url = f"http://127.0.0.1:{gateway.http_port}/sms/inbound"
        sms = {"from": "+" + SARA_NEW, "to": SHORTCODE, "text": "1", "id": "agg-1"}
        async with aiohttp.ClientSession() as http:
            for expected in ("accepted", "duplicate"):
                async with http.post(url, json=sms) as response:
                    assert (await response.json())["status"] == expected
        await sim.await_mt(SARA_NEW, timeout=10)  # the worker answered it, by SMPP
        _, text = await scrape(gateway)
    found = samples(text)
    assert total(found, "hamta_mo_received_total", channel="sms", transport="http") == 1
    assert total(found, "hamta_mo_received_total", transport="smpp") == 0
    assert total(found, "hamta_mo_refused_total", reason="duplicate") == 1


async def test_http_limits_tell_which_limit_refused() -> None:
    """concurrency_middleware's refusals, over real HTTP, name the settings that refused them."""
    import asyncio

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from gateway.transports.http_limits import concurrency_middleware

    entered, release, refused = asyncio.Event(), asyncio.Event(), []

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response(text="ok")

    app = web.Application(middlewares=[concurrency_middleware(2, 1, refused.append)])
    app.router.add_post("/ussd", slow)
    async with TestClient(TestServer(app)) as client:
        held = asyncio.create_task(client.post("/ussd"))
        await entered.wait()
        assert (await client.post("/ussd")).status == 429
        release.set()
        assert (await held).status == 200
    assert set(refused) == {"max_concurrent_per_source"}
