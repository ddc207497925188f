"""The aggregator callbacks on a real aiohttp server (port 0), with a bridge backed by real Redis."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio
from aiohttp.test_utils import TestClient, TestServer

from gateway.messages import InboundMessage, OutboundMessage
from gateway.transports.http_app import build_http_app
from gateway.transports.http_callbacks import (
    SMS_FALLBACK_FA,
    AggregatorBridge,
    ussd_routes,
    ussd_session_id,
)

STREAM = "test:inbound"
PHONE = "09121110001"
MSISDN = "989121110001"
FIRST_HOP = {"sessionId": "ATUid_5b1c", "serviceCode": "*7777#", "phoneNumber": PHONE, "text": ""}
SMS = {"from": "+989121110001", "to": "7777", "text": "۱", "id": "agg-42"}
SESSION = ussd_session_id("default", "ATUid_5b1c", MSISDN)
DIGEST = hashlib.blake2b(SESSION.encode(), digest_size=16).hexdigest()


class RedisBridge:
    """store = XADD; store_once = SET NX then XADD; await_screen = BLPOP on a list tests fill."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.redis = client

    async def store(self, message: InboundMessage) -> None:
        await self.redis.xadd(STREAM, {"message": message.model_dump_json()})

    async def store_once(self, message: InboundMessage, dedupe_key: str) -> bool:
        if not await self.redis.set(f"test:seen:{dedupe_key}", 1, nx=True, ex=600):
            return False
        await self.store(message)
        return True

    async def await_screen(self, session_id: str, timeout: float) -> OutboundMessage | None:
        popped = await self.redis.blpop([screens_key(session_id)], timeout=timeout)
        return None if popped is None else OutboundMessage.model_validate_json(popped[1])


def screens_key(session_id: str) -> str:
    return f"test:screens:{session_id}"


def screen(text: str, end: bool, session_id: str = SESSION) -> str:
    return OutboundMessage(id="o1", channel="ussd", transport="http", sender="*7777#",
                           recipient=MSISDN, text=text, session_id=session_id,
                           ussd_end=end).model_dump_json()  # fmt: skip


Serve = Callable[..., Awaitable[TestClient[Any, Any]]]


async def ready() -> list[str]:
    return []


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start the callbacks for a bridge on a real server; the client talks to it over TCP."""
    clients: list[TestClient[Any, Any]] = []

    async def start(bridge: AggregatorBridge, budget: float = 5.0) -> TestClient[Any, Any]:
        app = build_http_app(ready, ussd_routes(bridge, answer_budget_seconds=budget))
        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def http(serve: Serve, redis_client: redis.asyncio.Redis) -> TestClient[Any, Any]:
    return await serve(RedisBridge(redis_client))


async def stored(client: redis.asyncio.Redis) -> list[InboundMessage]:
    return [InboundMessage.model_validate_json(fields["message"])
            for _id, fields in await client.xrange(STREAM)]  # fmt: skip


@pytest.fixture
async def dead_bridge(redis_url: str) -> AsyncIterator[RedisBridge]:
    """A bridge whose Redis refuses connections (a port nobody listens on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = redis.asyncio.Redis(host="127.0.0.1", port=port, socket_connect_timeout=1, retry=None)
    try:
        yield RedisBridge(client)
    finally:
        await client.aclose()


async def test_the_callbacks_sit_beside_the_health_checks(http: TestClient[Any, Any]) -> None:
    assert (await http.get("/healthz")).status == 200
    assert (await http.get("/ussd")).status == 405  # POST only


# -- USSD --------------------------------------------------------------------------------------


async def test_first_hop_is_stored_as_begin_and_answered_con(
    http: TestClient[Any, Any], redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.rpush(screens_key(SESSION), screen("۱. بازیابی دستگاه\n۲. رمز", end=False))
    response = await http.post("/ussd", data=FIRST_HOP)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert await response.text() == "CON ۱. بازیابی دستگاه\n۲. رمز"
    (message,) = await stored(redis_client)
    assert (message.id, message.channel, message.transport, message.ussd_event) == (
        f"http-ussd:{DIGEST}:0", "ussd", "http", "begin")  # fmt: skip
    assert (message.sender, message.recipient, message.text, message.session_id) == (
        MSISDN, "*7777#", "", "http|default|ATUid_5b1c|989121110001")  # fmt: skip


@pytest.mark.parametrize(
    ("text", "newest", "hop"), [("1", "1", 1), ("1*490154203237518", "490154203237518", 2),
                                ("1*2*#", "#", 3), ("1**", "", 3)],
)  # fmt: skip
async def test_later_hops_carry_the_newest_input(
    http: TestClient[Any, Any], redis_client: redis.asyncio.Redis, text: str, newest: str, hop: int
) -> None:
    await redis_client.rpush(screens_key(SESSION), screen("Done.", end=True))
    response = await http.post("/ussd", data={**FIRST_HOP, "text": text})
    assert await response.text() == "END Done."
    (message,) = await stored(redis_client)
    expected = (newest, "continue", f"http-ussd:{DIGEST}:{hop}")
    assert (message.text, message.ussd_event, message.id) == expected


async def test_the_answer_waits_for_the_screen(
    http: TestClient[Any, Any], redis_client: redis.asyncio.Redis
) -> None:
    request = asyncio.create_task(http.post("/ussd", data=FIRST_HOP))
    await redis_client.xread({STREAM: "0"}, block=5000)  # the input is stored before any screen
    assert not request.done()
    await redis_client.rpush(screens_key(SESSION), screen("Menu", end=False))
    assert await (await request).text() == "CON Menu"


async def test_no_screen_within_the_budget_ends_politely(
    serve: Serve, redis_client: redis.asyncio.Redis
) -> None:
    http = await serve(RedisBridge(redis_client), budget=0.2)
    response = await http.post("/ussd", data=FIRST_HOP)
    assert response.status == 200
    assert await response.text() == f"END {SMS_FALLBACK_FA}"
    assert len(await stored(redis_client)) == 1  # stored: the worker answers by SMS


@pytest.mark.parametrize(
    ("change", "reason"),
    [({"sessionId": None}, "missing field sessionId"), ({"serviceCode": None}, "missing field serviceCode"),
     ({"phoneNumber": None}, "missing field phoneNumber"), ({"text": None}, "missing field text"),
     ({"phoneNumber": "02112345678"}, "not a mobile number"),
     ({"phoneNumber": "0912"}, "not a mobile number"),
     ({"sessionId": "a b"}, "malformed field sessionId"),
     ({"serviceCode": "7777; DROP"}, "malformed field serviceCode"),
     ({"text": "1" * 1001}, "malformed field text")],
)  # fmt: skip
async def test_bad_ussd_requests_get_400_with_a_reason(
    http: TestClient[Any, Any], redis_client: redis.asyncio.Redis, change: dict[str, str | None], reason: str
) -> None:
    form = {k: v for k, v in {**FIRST_HOP, **change}.items() if v is not None}
    response = await http.post("/ussd", data=form)
    assert response.status == 400
    assert await response.text() == reason
    assert await redis_client.xlen(STREAM) == 0


async def test_ussd_storage_failure_is_503(serve: Serve, dead_bridge: RedisBridge) -> None:
    response = await (await serve(dead_bridge)).post("/ussd", data=FIRST_HOP)
    assert response.status == 503
    assert "storage unavailable" in await response.text()


# -- SMS inbound -------------------------------------------------------------------------------


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "form"])
async def test_sms_is_stored_once(
    http: TestClient[Any, Any], redis_client: redis.asyncio.Redis, as_json: bool
) -> None:
    send = (lambda: http.post("/sms/inbound", json=SMS)) if as_json else \
        (lambda: http.post("/sms/inbound", data=SMS))  # fmt: skip
    first = await send()
    assert (first.status, await first.json()) == (200, {"status": "accepted"})
    again = await send()
    assert (again.status, await again.json()) == (200, {"status": "duplicate"})
    (message,) = await stored(redis_client)
    assert (message.id, message.channel, message.transport) == ("http-sms:default:agg-42", "sms", "http")
    assert (message.sender, message.recipient, message.text) == (MSISDN, "7777", "۱")


async def test_sms_with_a_numeric_json_id(
    http: TestClient[Any, Any], redis_client: redis.asyncio.Redis
) -> None:
    response = await http.post("/sms/inbound", json={**SMS, "id": 9001})
    assert await response.json() == {"status": "accepted"}
    assert (await stored(redis_client))[0].id == "http-sms:default:9001"


@pytest.mark.parametrize(
    ("body", "reason"),
    [({**SMS, "from": "7777"}, "not a mobile number"), ({**SMS, "id": ""}, "missing field id"),
     ({k: v for k, v in SMS.items() if k != "to"}, "missing field to"),
     ({k: v for k, v in SMS.items() if k != "text"}, "missing field text"),
     ({**SMS, "text": ["x"]}, "missing field text"), ({**SMS, "id": True}, "missing field id"),
     ([SMS], "body must be a JSON object")],
)  # fmt: skip
async def test_bad_sms_requests_get_400_with_a_reason(
    http: TestClient[Any, Any], redis_client: redis.asyncio.Redis, body: object, reason: str
) -> None:
    response = await http.post("/sms/inbound", json=body)
    assert response.status == 400
    assert await response.json() == {"status": "error", "reason": reason}
    assert await redis_client.xlen(STREAM) == 0


async def test_sms_body_that_is_not_json(http: TestClient[Any, Any]) -> None:
    response = await http.post("/sms/inbound", data=b"{nope", headers={"Content-Type": "application/json"})
    assert (response.status, (await response.json())["reason"]) == (400, "body is not valid JSON")


async def test_sms_storage_failure_is_503(serve: Serve, dead_bridge: RedisBridge) -> None:
    response = await (await serve(dead_bridge)).post("/sms/inbound", json=SMS)
    assert response.status == 503
    assert (await response.json())["status"] == "error"
