"""The network registry under faults (issue 12), with real processes: `python -m gateway run`
with `registry.backend: http` against `python -m gateway registry serve`, both on the session
redis-server, and the SMSC simulator in the test. Faults: a slow registry, a registry down
while 100 dialogs run, an answer lost after the change was applied (a 500), a wrong token.

Faults are injected through HAMTA_TEST_REGISTRY_FAULTS (test-only, read by `registry serve`) or
by killing the server. Tests wait on replies and logs; the one pause is the outage itself.
"""

from __future__ import annotations

import asyncio
import socket

import pytest
import redis.asyncio

from devtools.bench import bench_fixture
from flows.catalog import default_catalog
from gateway.store.fixtures import parse_fixture
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry
from smpp.sim import SmscSimulator
from tests.harness import REGISTRY_TOKEN, SARA_DEVICE, SARA_NEW, SARA_OLD
from tests.processes import Citizen, GatewayProcess, Gateways

CATALOG = default_catalog()
KEYS = Keys()
UNAVAILABLE = CATALOG.render("fa", "registry_unavailable")
OUTAGE_SECONDS = 5  # the 30 s, scaled down to keep the test short


def fa(key: str, **params: object) -> str:
    return CATALOG.render("fa", key, **params)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_backend(port: int, **more: str | int | float | bool) -> dict[str, str | int | float | bool]:
    return {"registry__backend": "http", "registry__url": f"http://127.0.0.1:{port}",
            "registry__token": REGISTRY_TOKEN, **more}


async def gateway_on(gateways: Gateways, sim: SmscSimulator, port: int,
                     **more: str | int | float | bool) -> GatewayProcess:
    process = await gateways.start(sim.port, **http_backend(port, **more))
    await sim.wait_bound(timeout=10)
    await process.wait_log("took partition", 16)
    return process


async def restores(db: redis.asyncio.Redis) -> list[dict[str, str]]:
    return [f for _id, f in await db.xrange(KEYS.audit()) if f["action"] == "restore_device"]


@pytest.mark.slow
async def test_a_slow_registry_ends_the_ussd_screen_politely_and_sms_dialogs_complete(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    port = free_port()
    await gateways.serve_registry(port, '{"delay_seconds": 2}', registry__token=REGISTRY_TOKEN)
    await gateway_on(gateways, sim, port)
    # USSD: the menu needs no registry; choosing restore does (2 s, past the 2 s budget).
    dialogue = await sim.ussd_start(SARA_NEW)
    assert (await dialogue.screen(5)).text == fa("ussd_menu")
    await dialogue.reply("1")
    cut = await dialogue.screen(10)
    assert cut.ends and cut.text == fa("ussd_slow")
    sara = Citizen(sim, SARA_NEW)
    assert await sara.reply(timeout=15) == fa("ask_imei")  # the screen's content, in SMS words
    # ...and the dialog goes on by SMS, to its end, each turn a few seconds long.
    assert await sara.text(SARA_DEVICE) == fa("ask_old_number")
    assert (await sara.text("09351110002")).startswith("کد تأیید همتا")
    assert await sara.text("{code}") == fa("restored_to_sim", imei_tail="7518")
    assert len(await restores(db)) == 1


@pytest.mark.slow
async def test_registry_down_during_100_dialogs_every_one_completes_and_moves_once(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    count = 100
    await RedisRegistry(db, KEYS).load(parse_fixture(bench_fixture(count)))
    port = free_port()
    registry = await gateways.serve_registry(port, registry__token=REGISTRY_TOKEN)
    await gateway_on(gateways, sim, port, registry__breaker_reset_seconds=0.5, registry__retries=1)
    back, codes_sent, unavailable = asyncio.Event(), asyncio.Semaphore(0), asyncio.Event()

    async def turn(citizen: Citizen, text: str) -> str:
        """Send; on "temporarily unavailable", send the same again once the registry is back,
        as the citizen told to try again later would."""
        while True:
            reply = await citizen.text(text)
            if reply != UNAVAILABLE:
                return reply
            unavailable.set()
            await back.wait()

    fixture = bench_fixture(count)

    async def dialog(i: int) -> None:
        new, device = fixture["sims"][2 * i + 1]["msisdn"], fixture["devices"][i]
        citizen = Citizen(sim, "98" + new[1:])
        assert await turn(citizen, "1") == fa("ask_imei")
        assert await turn(citizen, device["imei"]) == fa("ask_old_number")
        assert (await turn(citizen, device["sim"])).startswith("کد تأیید همتا")
        codes_sent.release()
        assert (await turn(citizen, "{code}")).startswith("دستگاه با شناسه IMEI")

    dialogs = [asyncio.create_task(dialog(i)) for i in range(count)]
    for _ in range(count // 4):  # a quarter of the dialogs have their code: the registry dies
        await codes_sent.acquire()
    registry.kill()
    await registry.wait_exit()
    await asyncio.wait_for(unavailable.wait(), 30)  # the outage reached citizens
    await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself (the fault's length, not a wait)
    await gateways.serve_registry(port, registry__token=REGISTRY_TOKEN)
    back.set()
    await asyncio.wait_for(asyncio.gather(*dialogs), 60)

    moved = await restores(db)
    assert len(moved) == count  # every device moved...
    assert len({entry["imei"] for entry in moved}) == count  # ...exactly once
    fixture = bench_fixture(count)
    for device, new in zip(fixture["devices"], fixture["sims"][1::2], strict=True):
        assert await db.hget(KEYS.device(device["imei"]), "sim") == "98" + new["msisdn"][1:]


@pytest.mark.slow
async def test_an_answer_lost_after_the_change_was_applied_is_retried_without_applying_twice(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    port = free_port()
    # The first change is applied, then answered 500; no retry inside the turn (retries 0), so
    # the citizen is told to try again, and the code sent again retries under the same key.
    await gateways.serve_registry(port, '{"fail_after_apply": 1}', registry__token=REGISTRY_TOKEN)
    await gateway_on(gateways, sim, port, registry__retries=0)
    sara = Citizen(sim, SARA_NEW)
    assert await sara.text("1") == fa("ask_imei")
    assert await sara.text(SARA_DEVICE) == fa("ask_old_number")
    assert (await sara.text("09351110002")).startswith("کد تأیید همتا")
    assert await sara.text("{code}") == UNAVAILABLE
    (applied,) = await restores(db)  # applied, though the gateway never heard so
    assert await db.hget(KEYS.device(SARA_DEVICE), "sim") == SARA_NEW
    assert await sara.text("{code}") == fa("restored_to_sim", imei_tail="7518")  # same session
    assert await restores(db) == [applied]  # not applied twice
    assert applied["from_sim"] == SARA_OLD


@pytest.mark.slow
async def test_a_wrong_token_is_a_clear_readiness_reason_not_a_crash(
    sim: SmscSimulator, db: redis.asyncio.Redis, gateways: Gateways
) -> None:
    port = free_port()
    await gateways.serve_registry(port, registry__token="another-token-entirely-0000")
    gateway = await gateway_on(gateways, sim, port)
    status, body = await gateway.get("/readyz")
    assert status == 503
    reasons = body["reasons"]
    assert isinstance(reasons, list) and len(reasons) == 1
    assert "401" in reasons[0] and "HAMTA_REGISTRY__TOKEN" in reasons[0]
    assert REGISTRY_TOKEN not in str(body)
    sara = Citizen(sim, SARA_NEW)
    assert await sara.text("1") == UNAVAILABLE  # the citizen hears "try again later"
    assert gateway.running
