"""A gateway on the http backend while the registry goes away and comes back (in one process:
the reference server's app on a fixed free port, stopped and started again): the citizen is
told to try again, the session stays where it was, the dialog then completes, once."""

from __future__ import annotations

import socket

import redis.asyncio

from flows.catalog import default_catalog
from gateway.registry_http.serving import registry_server
from gateway.store.keys import Keys
from tests.conftest import http_registry_sections
from tests.harness import ALI, REGISTRY_TOKEN, SARA_DEVICE, SARA_NEW, gateway_settings, running_gateway
from tests.processes import Citizen

FA = default_catalog()
KEYS = Keys()


def fa(key: str, **params: object) -> str:
    return FA.render("fa", key, **params)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_session_stays_where_it_was_while_the_registry_is_away(
    redis_url: str, db: redis.asyncio.Redis
) -> None:
    port = free_port()
    served = gateway_settings(redis_url, 1, registry={"token": REGISTRY_TOKEN})
    sections = http_registry_sections(port)
    sections["registry"] |= {"retries": 0, "breaker_failures": 100}
    async with running_gateway(redis_url, **sections) as (_gateway, sim):
        sara = Citizen(sim, SARA_NEW)
        async with registry_server(served, "127.0.0.1", port):
            assert await sara.text("1") == fa("ask_imei")
            assert await sara.text(SARA_DEVICE) == fa("ask_old_number")
            assert (await sara.text("09351110002")).startswith("کد تأیید همتا")
        # The registry is gone: the code is answered "try again", and nothing of the turn kept.
        assert await sara.text("{code}") == fa("registry_unavailable")
        # Over USSD too: the menu needs no registry, the restore does; the screen ends saying so.
        dialogue = await sim.ussd_start(ALI)
        assert (await dialogue.screen(5)).text == fa("ussd_menu")
        await dialogue.reply("1")
        refused = await dialogue.screen(5)
        assert refused.ends and refused.text == fa("registry_unavailable")
        assert await db.hget(KEYS.device(SARA_DEVICE), "sim") == "989351110002"
        async with registry_server(served, "127.0.0.1", port):
            # The same code again, in the same session: the change, once.
            assert await sara.text("{code}") == fa("restored_to_sim", imei_tail="7518")
    audit = [f for _id, f in await db.xrange(KEYS.audit()) if f["action"] == "restore_device"]
    assert len(audit) == 1 and await db.hget(KEYS.device(SARA_DEVICE), "sim") == SARA_NEW
