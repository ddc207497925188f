"""The reference registry server: the embedded Redis registry (the one `registry load` fills)
behind docs/registry-api.yaml, for carriers' labs, the demo and the tests
(`hamta-gateway registry serve`).

Every /v1/ route needs `Authorization: Bearer <registry.token>`; errors are RFC 9457 problem
details (`application/problem+json`) that never echo a submitted value. Changes are applied by
the embedded registry's scripts (once per operation id, with their audit records); the answer
is remembered under the Idempotency-Key (idempotency.py). /healthz and /readyz are open, as the
gateway's are, and say nothing but whether Redis answers.

`RegistryFaults` is for tests only: a delay before every /v1/ answer, or a 500 after a change
was applied (the answer lost on the way back). `registry serve` reads it from the environment
variable HAMTA_TEST_REGISTRY_FAULTS (JSON), which production never sets.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis

from flows.ports import PasswordChange, RestoreMove
from gateway.errors import FOREIGN_RETRYABLE
from gateway.registry_http import wire
from gateway.registry_http.idempotency import IdempotencyStore, fingerprint
from gateway.store.registry import RedisRegistry

log = logging.getLogger("gateway.registry_http.server")

FAULTS_ENV: Final = "HAMTA_TEST_REGISTRY_FAULTS"
MAX_BODY_BYTES: Final = 16 * 1024
Request = TypeVar("Request", bound=wire.Body)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class RegistryFaults:
    delay_seconds: float = 0.0  # before every /v1/ answer
    fail_after_apply: int = 0  # this many changes answer 500 after being applied (and remembered)

    @classmethod
    def from_environment(cls) -> RegistryFaults:
        raw = os.environ.get(FAULTS_ENV)
        return cls(**json.loads(raw)) if raw else cls()


class Problem(Exception):
    """An RFC 9457 problem: `kind` is the last part of its type URI (docs/registry-api.yaml)."""

    def __init__(self, status: int, kind: str, title: str, detail: str = "") -> None:
        super().__init__(title)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail

    def response(self) -> web.Response:
        body: dict[str, Any] = {"type": f"/problems/{self.kind}", "title": self.title,
                                "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        headers = {"WWW-Authenticate": 'Bearer realm="hamta-registry"'} if self.status == 401 else {}
        return web.json_response(body, status=self.status, content_type=wire.PROBLEM_JSON,
                                 headers=headers)


def build_registry_app(
    registry: RedisRegistry, redis: Redis, token: str, idempotency: IdempotencyStore,
    faults: RegistryFaults | None = None,
) -> web.Application:
    faults = faults or RegistryFaults()
    expected = token.encode("utf-8")

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            if request.path.startswith("/v1/"):
                given = request.headers.get("Authorization", "")
                scheme, _, credentials = given.partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(
                    credentials.strip().encode("utf-8"), expected
                ):
                    raise Problem(401, "unauthorized", "A valid bearer token is required")
                if faults.delay_seconds:
                    await asyncio.sleep(faults.delay_seconds)
            return await handler(request)
        except Problem as problem:
            return problem.response()
        except web.HTTPException as exc:
            return Problem(exc.status, "http", exc.reason).response()
        except FOREIGN_RETRYABLE:
            log.warning("registry storage unavailable")
            return Problem(503, "unavailable", "The registry is temporarily unavailable").response()

    async def sim_check(request: web.Request) -> web.Response:
        body = await _body(request, wire.SimCheckRequest)
        found = await registry.check_sim(body.msisdn, body.national_id or "")
        if found is None:
            raise Problem(404, "not-found", "No such SIM")
        return _answer(wire.SimCheckResponse(
            status=found.status, has_owner=found.has_owner, owner_matches=found.owner_matches,
            in_owner_cartable=found.in_owner_cartable))  # fmt: skip

    async def device_check(request: web.Request) -> web.Response:
        body = await _body(request, wire.DeviceCheckRequest)
        found = await registry.check_device(body.imei, body.requester_msisdn, body.old_msisdn)
        if found is None:
            raise Problem(404, "not-found", "No such device")
        return _answer(wire.DeviceCheckResponse(
            in_national_id_cartable=found.in_national_id_cartable,
            owner_is_requester=found.owner_is_requester, on_old_sim=found.on_old_sim,
            on_requester_sim=found.on_requester_sim, attached=found.attached))  # fmt: skip

    async def cartable_summary(request: web.Request) -> web.Response:
        body = await _body(request, wire.CartableSummaryRequest)
        found = await registry.cartable(body.national_id, body.requester_msisdn)
        if found is None:  # unknown person and no cartable: one answer, nothing to tell apart
            raise Problem(404, "not-found", "No national-ID cartable")
        return _answer(wire.CartableSummaryResponse(
            sim_count=found.sim_count, usable_sims_masked=list(found.usable_sims),
            requester_usable=found.requester_usable, device_count=found.device_count))  # fmt: skip

    async def verify_birth_date(request: web.Request) -> web.Response:
        body = await _body(request, wire.VerifyBirthDateRequest)
        match = await registry.verify_birth_date(body.national_id, body.birth_date)
        return _answer(wire.VerifyBirthDateResponse(match=match))

    async def restore_device(request: web.Request) -> web.Response:
        key = _idempotency_key(request)
        body = await _body(request, wire.RestoreDeviceRequest)

        async def apply() -> dict[str, Any]:
            move = RestoreMove(body.imei, body.from_msisdn, body.requester_msisdn, body.destination,
                               operation_id=key, message_id=body.message_id)
            result = await registry.restore_device(move)
            return wire.RestoreDeviceResponse(result=result.value).model_dump(mode="json")

        return await _once(request.path, key, body.fingerprint_fields(), apply)

    async def recover_password(request: web.Request) -> web.Response:
        key = _idempotency_key(request)
        body = await _body(request, wire.RecoverPasswordRequest)

        async def apply() -> dict[str, Any]:
            change = PasswordChange(body.national_id, body.requester_msisdn, body.add_requester,
                                    operation_id=key, message_id=body.message_id)
            result, devices = await registry.recover_password_hashed(change, body.password_hash)
            answer = wire.RecoverPasswordResponse(result=result.value, device_count=devices)
            return answer.model_dump(mode="json")

        return await _once(request.path, key, body.fingerprint_fields(), apply)

    async def _once(
        path: str, key: str, fields: dict[str, object], apply: Callable[[], Awaitable[dict[str, Any]]]
    ) -> web.Response:
        change = fingerprint(path, fields)
        remembered = await idempotency.recall(key)
        if remembered is not None:
            if remembered.fingerprint != change:
                raise Problem(422, "idempotency-key-reused",
                              "This Idempotency-Key was used for another change")
            return web.json_response(remembered.answer, headers={wire.REPLAYED: "true"})
        answer = await apply()
        await idempotency.remember(key, change, answer)
        if faults.fail_after_apply > 0:
            faults.fail_after_apply -= 1
            log.warning("test fault: the answer to an applied change is lost (500)")
            raise Problem(500, "internal", "Injected fault after the change was applied")
        return web.json_response(answer)

    async def status(request: web.Request) -> web.Response:
        if await _redis_problem(redis):
            raise Problem(503, "unavailable", "The registry is temporarily unavailable")
        return _answer(wire.StatusResponse(status="ready"))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        problem = await _redis_problem(redis)
        if problem:
            return web.json_response({"status": "not ready", "reasons": [problem]}, status=503)
        return web.json_response({"status": "ready"})

    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY_BYTES)
    app.router.add_post(wire.SIM_CHECK, sim_check)
    app.router.add_post(wire.DEVICE_CHECK, device_check)
    app.router.add_post(wire.CARTABLE_SUMMARY, cartable_summary)
    app.router.add_post(wire.VERIFY_BIRTH_DATE, verify_birth_date)
    app.router.add_post(wire.RESTORE_DEVICE, restore_device)
    app.router.add_post(wire.RECOVER_PASSWORD, recover_password)
    app.router.add_get(wire.STATUS, status)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def _body(request: web.Request, model: type[Request]) -> Request:
    if request.content_type != "application/json":
        raise Problem(415, "unsupported-media-type", "The body must be application/json")
    try:
        raw = await request.read()
        return model.model_validate_json(raw)
    except web.HTTPRequestEntityTooLarge:
        raise Problem(413, "too-large", "The body is too large") from None
    except ValidationError as exc:
        # Which fields, never their values (they are personal data).
        fields = sorted({".".join(str(part) for part in error["loc"]) or "body" for error in exc.errors()})
        raise Problem(400, "invalid-request", "The request body does not match the API",
                      "invalid or missing: " + ", ".join(fields)) from None


def _idempotency_key(request: web.Request) -> str:
    key = request.headers.get(wire.IDEMPOTENCY_KEY, "")
    if not _KEY.fullmatch(key):
        raise Problem(400, "idempotency-key-required",
                      "A change needs an Idempotency-Key header (8-64 of A-Z a-z 0-9 _ -)")
    return key


def _answer(model: wire.Body) -> web.Response:
    return web.json_response(model.model_dump(mode="json"))


async def _redis_problem(redis: Redis) -> str | None:
    try:
        await redis.ping()
    except FOREIGN_RETRYABLE as exc:
        return f"redis unreachable: {type(exc).__name__}"
    return None


_KEY: Final = re.compile(wire.IDEMPOTENCY_KEY_PATTERN.strip("^$"))
