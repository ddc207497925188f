"""Personal data expires with the session, and dead letters keep only what an operator needs:
checked in a real Redis, through a real gateway where the gateway writes it."""

from __future__ import annotations

import json

import pytest
import redis.asyncio

from gateway.messages import InboundMessage, OutboundMessage
from gateway.store.dead_letters import DeadLetters
from gateway.store.keys import Keys
from tests.harness import SARA_DEVICE, SARA_NEW, running_gateway
from tests.integration.test_gateway_e2e import Subscriber, fa

KEYS = Keys()
PERSONAL = (SARA_DEVICE, "09351110002", "989351110002")


async def test_what_the_citizen_typed_expires_with_the_session(
    redis_url: str, redis_client: redis.asyncio.Redis
) -> None:
    async with running_gateway(redis_url) as (_gateway, sim):
        sara = Subscriber(sim, SARA_NEW)
        assert await sara.text("1") == fa("ask_imei")
        assert await sara.text(SARA_DEVICE) == fa("ask_old_number")
        record = await redis_client.get(KEYS.subscriber(SARA_NEW)) or ""
        session = await redis_client.get(KEYS.session(SARA_NEW)) or ""
        assert SARA_DEVICE in session and not any(value in record for value in PERSONAL)
        assert 0 < await redis_client.ttl(KEYS.session(SARA_NEW)) <= 600  # the idle time
        assert await redis_client.ttl(KEYS.subscriber(SARA_NEW)) > 600  # language, lockout
        assert await sara.text("0") == fa("cancelled")
        assert not await redis_client.exists(KEYS.session(SARA_NEW))
        assert json.loads(await redis_client.get(KEYS.subscriber(SARA_NEW)) or "{}").get(
            "session_seen_at", 0) == 0


@pytest.mark.parametrize("keep_text", [False, True])
async def test_dead_letters_are_masked_bounded_and_textless(
    redis_client: redis.asyncio.Redis, keep_text: bool
) -> None:
    dead = DeadLetters(KEYS, ttl_seconds=3600, keep_text=keep_text)
    inbound = InboundMessage(id="1-0", sender=SARA_NEW, recipient="7777", text=SARA_DEVICE)
    code = OutboundMessage(id="1-0/0", sender="7777", recipient=SARA_NEW, text="کد 482915",
                           kind="code")
    reply = OutboundMessage(id="1-0/1", sender="7777", recipient=SARA_NEW, text="سلام")
    async with redis_client.pipeline(transaction=False) as pipe:
        dead.stage_inbound(pipe, inbound, "KeyError")
        dead.stage_outbound(pipe, code, "ESME_RINVDSTADR")
        dead.stage_outbound(pipe, reply, "ESME_RINVDSTADR")
        await pipe.execute()
    entries = [fields for _, fields in await redis_client.xrange(KEYS.dead_letters())]
    dump = json.dumps(entries, ensure_ascii=False)
    assert SARA_NEW not in dump and "0936***0003" in dump and "482915" not in dump
    assert (SARA_DEVICE in dump, "سلام" in dump) == (keep_text, keep_text)
    assert 0 < await redis_client.ttl(KEYS.dead_letters()) <= 3600
