"""The aggregator callbacks against hostile input and crowds, on a real aiohttp server with the
real Redis bridge: every malformed request is a 4xx that stores nothing, never a 500; beyond
the concurrency bounds the answer is immediate (503/429 with Retry-After), never a queue."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
import redis.asyncio
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.messages import OutboundMessage, from_stream_entry
from gateway.store.aggregator_bridge import RedisAggregatorBridge
from gateway.store.keys import Keys
from gateway.transports.http_app import build_http_app
from gateway.transports.http_auth import token_middleware
from gateway.transports.http_callbacks import AggregatorBridge, ussd_routes
from gateway.transports.http_limits import concurrency_middleware

KEYS = Keys("hard", 4)
TOKEN = "a-long-shared-aggregator-secret"
HOP = {"sessionId": "s-1", "serviceCode": "*7777#", "phoneNumber": "09121110001", "text": ""}
SMS = {"from": "09121110001", "to": "7777", "text": "1", "id": "agg-1"}
FORM = "application/x-www-form-urlencoded"
ALLOWED = {200, 400, 401, 413, 415, 429, 503}
Client = TestClient[Any, Any]
Serve = Callable[..., Awaitable[Client]]


async def ready() -> list[str]:
    return []


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    clients: list[Client] = []

    async def start(bridge: AggregatorBridge, *, budget: float = 0.05, token: str | None = TOKEN,
                    screen_waits: int = 200, requests: int = 500, per_source: int = 50,
                    max_body: int = 512 * 1024) -> Client:  # fmt: skip
        guards = [concurrency_middleware(requests, per_source)]
        guards += [token_middleware(token)] if token else []
        routes = ussd_routes(bridge, answer_budget_seconds=budget, max_screen_waits=screen_waits)
        app = build_http_app(ready, routes, guards, client_max_size=max_body)
        client = TestClient(TestServer(app, host="127.0.0.1", port=0, auto_decompress=False))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def http(serve: Serve, redis_client: redis.asyncio.Redis) -> Client:
    return await serve(RedisAggregatorBridge(redis_client, KEYS))


async def stored(client: redis.asyncio.Redis) -> int:
    return sum([await client.xlen(KEYS.inbound(p)) for p in range(KEYS.partitions)])


def authed(content_type: str | None = None, **more: str) -> dict[str, str]:
    headers = {"X-Hamta-Token": TOKEN, **more}
    return {**headers, "Content-Type": content_type} if content_type else headers


# -- malformed bodies: 4xx, nothing stored -----------------------------------------------------

DEEP = b"[" * 200_000 + b"]" * 200_000
HUGE_INT = b'{"from": "09121110001", "to": "7777", "text": "1", "id": ' + b"9" * 4301 + b"}"
CASES = [
    # 400 kB: over http.max_body_bytes' default (64 kB, then 413) but under this server's limit
    ("deep-json", "/sms/inbound", DEEP, "application/json", 400, "nested too deeply"),
    ("deep-json-object", "/sms/inbound", b'{"a":' * 60_000 + b"1" + b"}" * 60_000,
     "application/json", 400, "nested too deeply"),
    ("4301-digit-int", "/sms/inbound", HUGE_INT, "application/json", 400, "not valid JSON"),
    ("33-digit-id", "/sms/inbound", HUGE_INT.replace(b"9" * 4301, b"9" * 33), "application/json",
     400, "not valid JSON"),
    ("lone-surrogate", "/sms/inbound", b'{"from": "09121110001", "to": "7777", "text": "\\ud800", '
     b'"id": "x"}', "application/json", 400, "malformed field text"),
    ("charset-nope", "/ussd", b"sessionId=s", f"{FORM}; charset=nope-42", 400, "unsupported charset"),
    ("gzip", "/sms/inbound", b"\x1f\x8b nope", "application/json", 415, "content encoding"),
    ("charset-rot13", "/ussd", b"sessionId=s", f"{FORM}; charset=rot13", 400, "unsupported charset"),
    ("charset-utf16", "/ussd", b"sessionId=s", f"{FORM}; charset=utf-16", 400, "unsupported charset"),
    ("form-not-utf8", "/ussd", b"sessionId=s-1&serviceCode=*7777%23&phoneNumber=09121110001&text=\xff",
     FORM, 400, "not valid utf-8"),
    ("form-escape-not-utf8", "/ussd", b"sessionId=s-1&serviceCode=*7777%23&phoneNumber=0912111000"
     b"1&text=%ff%fe", FORM, 400, "not valid utf-8"),
    ("json-not-utf8", "/sms/inbound", b'{"text": "\xc3\x28"}', "application/json", 400,
     "not valid utf-8"),
    ("too-many-fields", "/ussd", b"&".join(b"f%d=1" % i for i in range(40)), FORM, 400, "form fields"),
    ("oversized", "/ussd", b"text=" + b"1" * 600_000, FORM, 413, "larger than 524288"),
    ("ussd-as-json", "/ussd", b'{"sessionId": "s-1"}', "application/json", 415, "content type"),
    ("multipart", "/ussd", b"--b\r\n\r\n--b--\r\n", "multipart/form-data; boundary=b", 415,
     "content type"),
    ("text-plain", "/sms/inbound", b"hello", "text/plain", 415, "content type"),
    ("no-content-type", "/sms/inbound", b"hello", None, 415, "content type"),
    ("json-array", "/sms/inbound", b"[1, 2]", "application/json", 400, "must be a JSON object"),
]


@pytest.mark.parametrize(("path", "body", "content_type", "status", "reason"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])  # fmt: skip
async def test_malformed_requests_are_refused_and_nothing_is_stored(
    http: Client, redis_client: redis.asyncio.Redis, path: str, body: bytes,
    content_type: str | None, status: int, reason: str,
) -> None:  # fmt: skip
    headers = authed(content_type)
    if body.startswith(b"\x1f\x8b"):
        headers["Content-Encoding"] = "gzip"
    if content_type is None:
        headers["Content-Type"] = ""  # aiohttp's client would otherwise add one
    response = await http.post(path, data=body, headers=headers)
    assert response.status == status
    assert reason in await response.text()
    assert await stored(redis_client) == 0


@pytest.mark.parametrize("header", ["Default", "a b", "-lead", "x" * 33, "agg/1", "ü"])
async def test_a_malformed_aggregator_header_is_400(
    http: Client, redis_client: redis.asyncio.Redis, header: str
) -> None:
    headers = authed(**{"X-Hamta-Aggregator": header.encode().decode("latin-1")})
    response = await http.post("/ussd", data=HOP, headers=headers)
    assert (response.status, await response.text()) == (400, "malformed header X-Hamta-Aggregator")
    assert await stored(redis_client) == 0


async def test_a_token_header_of_raw_bytes_is_401(http: Client) -> None:
    headers = {"X-Hamta-Token": b"\xff\xfe caf\xc3".decode("latin-1")}
    assert (await http.post("/sms/inbound", json=SMS, headers=headers)).status == 401


async def test_the_same_sms_id_from_two_aggregators_is_two_messages(
    http: Client, redis_client: redis.asyncio.Redis
) -> None:
    for aggregator in ("agg-a", "agg-b", "agg-a"):
        headers = authed(**{"X-Hamta-Aggregator": aggregator})
        assert (await http.post("/sms/inbound", json=SMS, headers=headers)).status == 200
    assert await stored(redis_client) == 2


# -- the fuzz: any body, headers, content type -------------------------------------------------

WEIRD_TYPES = st.one_of(
    st.sampled_from([f"{FORM}; charset=nope-42", "application/json; charset=", "application/json; "
                     "charset=utf-16", "text/plain", "multipart/form-data; boundary=x", "application/JSON",
                     ";;;", "", "*/*", f"{FORM}; charset=latin-1", f"{FORM}; charset=\"utf-8\""]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=40),
)  # fmt: skip
VALUES = st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans(), st.floats(),
                   st.lists(st.integers(), max_size=3),
                   st.sampled_from(["09121110001", "+989121110001", "*7777#", "7777", "s-1", "1*2"]))
NAMES = ["sessionId", "serviceCode", "phoneNumber", "text", "from", "to", "id", "x"]
FIELDS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=8)
NASTY = [DEEP[:20_000] + DEEP[-20_000:], HUGE_INT, b'{"a": 1e999999}', b"\x00" * 50, b"%" * 40,
         b'{"id": -' + b"1" * 40 + b"}", b"text=%ud800",
         b'{"from": "09121110001", "to": "7777", "text": "\\udfff", "id": "1"}',
         b"\xef\xbb\xbf{}", b"sessionId=%00&text=%C0%80"]
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xff, exclude_characters="\x7f"),
                      max_size=40)
MOSTLY = [True, True, True, True, False]  # mostly right, so the later checks are reached too


def _form(fields: dict[str, object]) -> bytes:
    return urlencode({k: "" if v is None else str(v) for k, v in fields.items()}).encode()


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str]]:
    """A request to either callback: mostly with the token and a matching content type, and a
    body that is a form, JSON, a known nasty or any bytes."""
    path = draw(st.sampled_from(["/ussd", "/sms/inbound"]))
    kind = draw(st.sampled_from(["form", "json", "nasty", "bytes"]))
    fields = draw(FIELDS)
    body = {"form": lambda: _form(fields), "json": lambda: json.dumps(fields).encode(),
            "nasty": lambda: draw(st.sampled_from(NASTY)),
            "bytes": lambda: draw(st.binary(max_size=300))}[kind]()  # fmt: skip
    matching = "application/json" if kind == "json" or body[:1] in (b"{", b"[") else FORM
    headers = {"Content-Type": matching if draw(st.sampled_from(MOSTLY)) else draw(WEIRD_TYPES)}
    headers["X-Hamta-Token"] = TOKEN if draw(st.sampled_from(MOSTLY)) else draw(HEADER_TEXT)
    if draw(st.booleans()):
        headers["X-Hamta-Aggregator"] = draw(st.one_of(st.sampled_from(["agg-1", "default"]), HEADER_TEXT))
    if not draw(st.sampled_from(MOSTLY)):
        headers["Content-Encoding"] = draw(st.sampled_from(["gzip", "deflate", "br", "nope", "identity"]))
    return path, body, headers


@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(request=requests(), chunked=st.booleans())
async def test_fuzz_the_callbacks_never_answer_500_and_store_nothing_for_a_refusal(
    http: Client, redis_client: redis.asyncio.Redis, request: tuple[str, bytes, dict[str, str]],
    chunked: bool,
) -> None:  # fmt: skip
    path, body, headers = request
    before = await stored(redis_client)

    async def in_chunks() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        yield body[len(body) // 2 :]

    response = await http.post(path, data=in_chunks() if chunked else body, headers=headers)
    await response.read()
    assert response.status in ALLOWED
    if response.status >= 400:
        assert await stored(redis_client) == before


# -- crowds: answered at once, never queued ----------------------------------------------------


class StalledBridge(RedisAggregatorBridge):
    """The real bridge, but a screen comes only when the test says so; `waiting` counts hops
    inside await_screen."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        super().__init__(client, KEYS)
        self.release = asyncio.Event()
        self.waiting = 0
        self.changed = asyncio.Condition()

    async def await_screen(self, session_id: str, timeout: float) -> OutboundMessage | None:
        async with self.changed:
            self.waiting += 1
            self.changed.notify_all()
        await self.release.wait()
        return OutboundMessage(id="o", channel="ussd", transport="http", sender="*7777#",
                               recipient="989121110001", text="Menu", session_id=session_id)

    async def until_waiting(self, count: int) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.waiting >= count), 5)


def hop(n: int) -> dict[str, str]:
    return {**HOP, "sessionId": f"s-{n}"}


async def test_screen_waits_beyond_the_budget_are_503_at_once_and_not_stored(
    serve: Serve, redis_client: redis.asyncio.Redis
) -> None:
    bridge = StalledBridge(redis_client)
    http = await serve(bridge, budget=30, screen_waits=2)
    waiting = [asyncio.create_task(http.post("/ussd", data=hop(n), headers=authed())) for n in (1, 2)]
    await bridge.until_waiting(2)
    third = await asyncio.wait_for(http.post("/ussd", data=hop(3), headers=authed()), 2)
    assert (third.status, third.headers["Retry-After"]) == (503, "1")
    assert "too many USSD sessions waiting" in await third.text()
    assert await stored(redis_client) == 2  # the third was refused before storing
    bridge.release.set()
    assert [await (await task).text() for task in waiting] == ["CON Menu", "CON Menu"]
    assert (await http.post("/ussd", data=hop(4), headers=authed())).status == 200  # slots freed


async def test_requests_beyond_the_process_limit_are_503_and_beyond_the_source_limit_429(
    serve: Serve, redis_client: redis.asyncio.Redis
) -> None:
    bridge = StalledBridge(redis_client)
    per_source = await serve(bridge, budget=30, requests=10, per_source=2)
    held = [asyncio.create_task(per_source.post("/ussd", data=hop(n), headers=authed())) for n in (1, 2)]
    await bridge.until_waiting(2)
    refused = await asyncio.wait_for(per_source.post("/sms/inbound", json=SMS, headers=authed()), 2)
    assert (refused.status, refused.headers["Retry-After"]) == (429, "1")
    assert (await refused.json())["status"] == "error"
    assert (await per_source.get("/healthz")).status == 200  # not counted
    process = await serve(bridge, budget=30, requests=1, per_source=5)
    held.append(asyncio.create_task(process.post("/ussd", data=hop(3), headers=authed())))
    await bridge.until_waiting(3)
    busy = await asyncio.wait_for(process.post("/ussd", data=hop(4), headers=authed()), 2)
    assert (busy.status, busy.headers["Retry-After"]) == (503, "1")
    assert await stored(redis_client) == 3
    bridge.release.set()
    assert {(await task).status for task in held} == {200}


async def test_a_dialogue_is_the_aggregator_the_session_and_the_number(
    http: Client, redis_client: redis.asyncio.Redis
) -> None:
    for number, aggregator in (("09121110001", "a"), ("09121110002", "a"), ("09121110001", "b")):
        headers = authed(**{"X-Hamta-Aggregator": aggregator})
        response = await http.post("/ussd", data={**HOP, "phoneNumber": number}, headers=headers)
        assert response.status == 200
    entries = [from_stream_entry(entry_id, fields) for p in range(KEYS.partitions)
               for entry_id, fields in await redis_client.xrange(KEYS.inbound(p))]  # fmt: skip
    assert len({entry.session_id for entry in entries}) == 3  # three dialogues, none deduped
    assert {KEYS.ussd_screen(entry.session_id) for entry in entries}.isdisjoint(
        {f"hard:ussd-screen:{entry.session_id}" for entry in entries})
    assert all("9121110001" not in KEYS.ussd_screen(entry.session_id) for entry in entries)
