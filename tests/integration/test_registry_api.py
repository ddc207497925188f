"""The reference server (`registry serve`'s app) held to docs/registry-api.yaml: every request
and every answer here, errors included, is validated against the OpenAPI file (openapi-core),
besides the values asserted. Real HTTP on a free port, over the test's Redis (demo registry)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import redis.asyncio
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from flows.password_hash import hash_password
from gateway.registry_http.serving import registry_server
from gateway.store.keys import Keys
from tests.harness import (
    ALI,
    ALI_DEVICE,
    ALI_ID,
    LOST_SIM_ID,
    LOST_SIM_NEW,
    REGISTRY_TOKEN,
    SARA_DEVICE,
    SARA_NEW,
    SARA_OLD,
    gateway_settings,
)

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "registry-api.yaml"
# RFC 9457's media type is JSON: read it as such (openapi-core knows application/json only).
SPEC = OpenAPI.from_path(SPEC_PATH, config=Config(extra_media_type_deserializers={
    "application/problem+json": json.loads}))
SPEC_SERVER = "https://registry.example"
AUTH = {"Authorization": f"Bearer {REGISTRY_TOKEN}"}
KEYS = Keys()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


class Api:
    """Calls the server and validates the request and the answer against the OpenAPI file."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http, self.base = http, base

    async def call(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None,
        *, raw: bytes | None = None, content_type: str = "application/json", valid_request: bool = True,
    ) -> Answer:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {**({"Content-Type": content_type} if data is not None else {}), **(headers or {})}
        async with self.http.request(method, self.base + path, data=data, headers=sent) as response:
            payload = await response.read()
            answer = Answer(response.status, dict(response.headers), json.loads(payload))
            answered_type = response.content_type
        # Validated as addressed to the file's server: the shape is checked, not the host.
        request = MockRequest(SPEC_SERVER, method.lower(), path, headers=sent, data=data,
                              content_type=content_type)
        if valid_request:
            SPEC.validate_request(request)
        else:  # the server is expected to refuse it: the answer must still be one the file lists
            assert list(SPEC.iter_request_errors(request)), "expected an invalid request"
        SPEC.validate_response(request, MockResponse(payload, answer.status, answer.headers, answered_type))
        if answer.status >= 400:
            assert answered_type == "application/problem+json"
            assert answer.body["status"] == answer.status and answer.body["title"]
        return answer

    async def post(self, path: str, body: object, headers: dict[str, str] | None = None,
                   **options: Any) -> Answer:
        return await self.call("POST", path, body, {**AUTH, **(headers or {})}, **options)


@pytest_asyncio.fixture
async def api(db: redis.asyncio.Redis, redis_url: str) -> AsyncIterator[Api]:
    settings = gateway_settings(redis_url, 1, registry={"token": REGISTRY_TOKEN})
    async with registry_server(settings, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        yield Api(http, f"http://127.0.0.1:{port}")


def test_the_contract_is_valid_openapi_3_1() -> None:
    spec, _ = read_from_filename(str(SPEC_PATH))
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert all(path.startswith("/v1/") for path in spec["paths"] if path not in ("/healthz", "/readyz"))


def test_personal_identifiers_never_in_a_path() -> None:
    spec, _ = read_from_filename(str(SPEC_PATH))
    for path, operations in spec["paths"].items():
        assert "{" not in path, path
        for operation in operations.values():
            assert all(p.get("in") != "query" for p in operation.get("parameters", [])), path


LOOKUPS = [
    ("/v1/sims/check", {"msisdn": SARA_OLD, "national_id": "1583250689"}, 200,
     {"status": "expired", "has_owner": True, "owner_matches": True, "in_owner_cartable": False}),
    ("/v1/sims/check", {"msisdn": ALI}, 200,
     {"status": "active", "has_owner": True, "owner_matches": False, "in_owner_cartable": True}),
    ("/v1/sims/check", {"msisdn": "989000000000"}, 404, None),
    ("/v1/devices/check", {"imei": SARA_DEVICE, "requester_msisdn": SARA_NEW, "old_msisdn": SARA_OLD}, 200,
     {"in_national_id_cartable": False, "owner_is_requester": True, "on_old_sim": True,
      "on_requester_sim": False, "attached": False}),
    ("/v1/devices/check", {"imei": ALI_DEVICE, "requester_msisdn": SARA_NEW, "old_msisdn": SARA_OLD}, 200,
     {"in_national_id_cartable": True, "owner_is_requester": False, "on_old_sim": False,
      "on_requester_sim": False, "attached": False}),
    ("/v1/devices/check", {"imei": "350000000000000", "requester_msisdn": SARA_NEW, "old_msisdn": SARA_OLD},
     404, None),
    ("/v1/cartables/summary", {"national_id": "7734567894", "requester_msisdn": "989191110015"}, 200,
     {"sim_count": 2, "usable_sims_masked": ["0912***0014"], "requester_usable": False, "device_count": 0}),
    ("/v1/cartables/summary", {"national_id": "1583250689", "requester_msisdn": SARA_NEW}, 404, None),
    ("/v1/people/verify-birth-date", {"national_id": ALI_ID, "birth_date": "1365/04/12"}, 200,
     {"match": True}),
    ("/v1/people/verify-birth-date", {"national_id": ALI_ID, "birth_date": "1365/04/13"}, 200,
     {"match": False}),
    ("/v1/people/verify-birth-date", {"national_id": "0000000000", "birth_date": "1365/04/12"}, 200,
     {"match": False}),
]


@pytest.mark.parametrize(("path", "body", "status", "expected"), LOOKUPS)
async def test_lookups(api: Api, path: str, body: dict[str, str], status: int, expected: object) -> None:
    answer = await api.post(path, body)
    assert answer.status == status
    if expected is not None:
        assert answer.body == expected


async def test_no_answer_tells_an_owner_or_a_birth_date(api: Api) -> None:
    answers = [await api.post(path, body) for path, body, _, _ in LOOKUPS]
    text = json.dumps([a.body for a in answers])
    for secret in ("1583250689", "0499370899", "1365/04/12", "1380/12/29", "09121110014", "989121110014"):
        assert secret not in text


async def test_errors_are_problem_details_that_echo_nothing(api: Api) -> None:
    no_token = await api.call("POST", "/v1/sims/check", {"msisdn": SARA_OLD},
                              {"Authorization": "Bearer wrong-token-0000000000"})
    assert no_token.status == 401 and "Bearer" in no_token.headers["WWW-Authenticate"]
    missing = await api.call("POST", "/v1/sims/check", {"msisdn": SARA_OLD}, valid_request=False)
    assert missing.status == 401
    bad = await api.post("/v1/sims/check", {"msisdn": "09121234567", "extra": "x"}, valid_request=False)
    assert bad.status == 400 and "msisdn" in bad.body["detail"] and "09121234567" not in json.dumps(bad.body)
    form = await api.post("/v1/people/verify-birth-date", None, raw=b"national_id=1",
                          content_type="application/x-www-form-urlencoded", valid_request=False)
    assert form.status == 415
    huge = await api.post("/v1/sims/check", {"msisdn": SARA_OLD, "pad": "x" * 20_000}, valid_request=False)
    assert huge.status == 413


def _restore(message_id: str = "m-1", **change: str) -> dict[str, str]:
    return {"imei": SARA_DEVICE, "from_msisdn": SARA_OLD, "requester_msisdn": SARA_NEW,
            "destination": "sim_cartable", "message_id": message_id, **change}


async def audit(db: redis.asyncio.Redis, action: str) -> list[dict[str, str]]:
    return [fields for _id, fields in await db.xrange(KEYS.audit()) if fields["action"] == action]


async def test_a_change_is_applied_once_per_key_and_answers_its_first_result(
    api: Api, db: redis.asyncio.Redis
) -> None:
    key = {"Idempotency-Key": "op-restore-0001"}
    first = await api.post("/v1/devices/restore", _restore(), key)
    assert (first.status, first.body) == (200, {"result": "applied"})
    assert "Idempotent-Replayed" not in first.headers
    # The same change again, from a later message of the dialog: the first answer, replayed.
    again = await api.post("/v1/devices/restore", _restore("m-2"), key)
    assert (again.status, again.body) == (200, {"result": "applied"})
    assert again.headers["Idempotent-Replayed"] == "true"
    # Another change under the same key is refused, and changes nothing.
    other = await api.post("/v1/devices/restore", _restore(destination="national_id_cartable"), key)
    assert other.status == 422 and other.body["type"] == "/problems/idempotency-key-reused"
    # A new key for the same move: the device has moved, so the registry says so.
    later = await api.post("/v1/devices/restore", _restore("m-3"), {"Idempotency-Key": "op-restore-0002"})
    assert later.body == {"result": "conflict"}
    (entry,) = await audit(db, "restore_device")
    audited = entry["operation_id"], entry["message_id"], entry["requester"]
    assert audited == ("op-restore-0001", "m-1", SARA_NEW)
    assert await db.hget(KEYS.device(SARA_DEVICE), "sim") == SARA_NEW


async def test_a_change_needs_an_idempotency_key(api: Api, db: redis.asyncio.Redis) -> None:
    answer = await api.post("/v1/devices/restore", _restore(), valid_request=False)
    assert answer.status == 400 and answer.body["type"] == "/problems/idempotency-key-required"
    assert await audit(db, "restore_device") == []


async def test_password_recovery_takes_only_a_hash(api: Api, db: redis.asyncio.Redis) -> None:
    def change(password: str, message_id: str) -> dict[str, object]:
        return {"national_id": LOST_SIM_ID, "requester_msisdn": LOST_SIM_NEW, "add_requester": True,
                "password_hash": hash_password(password), "message_id": message_id}

    key = {"Idempotency-Key": "op-password-0001"}
    first = await api.post("/v1/cartables/recover-password", change("Pw-one-23", "m-1"), key)
    assert first.body == {"result": "applied", "device_count": 2}
    # A retry hashes the same password anew (another salt): still the same change.
    again = await api.post("/v1/cartables/recover-password", change("Pw-one-23", "m-2"), key)
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    assert len(await audit(db, "recover_password")) == 1
    assert LOST_SIM_NEW in await db.smembers(KEYS.cartable(LOST_SIM_ID))
    clear = await api.post("/v1/cartables/recover-password",
                           {**change("x", "m-3"), "password_hash": "Pw-one-23"}, valid_request=False)
    assert clear.status == 400


async def test_health_routes(api: Api) -> None:
    assert (await api.call("GET", "/healthz")).body == {"status": "ok"}
    assert (await api.call("GET", "/readyz")).body == {"status": "ready"}
    assert (await api.call("GET", "/v1/status", headers=AUTH)).body == {"status": "ready"}
    assert (await api.call("GET", "/v1/status", valid_request=False)).status == 401
