"""`HttpRegistry`: the flows' registry seam (flows.ports.Registry) over docs/registry-api.yaml.

One aiohttp session per process (connection reuse, `registry.max_connections`), a per-attempt
timeout (`registry.timeout_seconds`) bounded by the turn's deadline (deadline.py), retries with
jittered exponential backoff for every call, which is safe because lookups change nothing and
each change carries its operation id as `Idempotency-Key` (a repeated key answers the first
result), and a circuit breaker (breaker.py). Whatever goes wrong reaches the flows as
`RegistryUnavailable`; the worker then answers "try again in a few minutes" and keeps the
session where it was. Nothing personal is logged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from typing import Any, Final, TypeVar

import aiohttp
from pydantic import BaseModel, ValidationError

from flows.password_hash import hash_password
from flows.ports import (
    CartableSummary,
    DeviceCheck,
    MoveResult,
    PasswordChange,
    RegistryUnavailable,
    RestoreMove,
    SimCheck,
)
from gateway.registry_http import wire
from gateway.registry_http.breaker import BreakerState, CircuitBreaker
from gateway.registry_http.deadline import remaining
from gateway.settings import RegistrySettings

log = logging.getLogger("gateway.registry_http.client")

RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
BACKOFF_CAP_SECONDS: Final = 2.0
Answer = TypeVar("Answer", bound=BaseModel)


class RegistryRefused(RegistryUnavailable):
    """The registry refused our credentials (401/403): a configuration error, not an outage."""


class _Retryable(Exception):
    """One attempt failed in a way another attempt may not."""


class HttpRegistry:
    def __init__(self, settings: RegistrySettings) -> None:
        if settings.url is None or settings.token is None:
            raise ValueError("registry.url and registry.token are required for backend http")
        self._settings = settings
        self._base = settings.url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {settings.token.get_secret_value()}",
                         "Accept": "application/json"}
        self._breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds)
        self._session: aiohttp.ClientSession | None = None
        self.last_problem: str | None = None  # for /readyz: why the last call failed, if it did

    # -- lifecycle: the session is made on first use, inside the running loop

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._settings.max_connections, ssl=self._tls())
            self._session = aiohttp.ClientSession(connector=connector, headers=self._headers,
                                                  raise_for_status=False)
        return self._session

    def _tls(self) -> ssl.SSLContext | bool:
        s = self._settings
        if s.ca_file is None and s.client_cert is None:
            return True  # the system's trust store for https (nothing for http)
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        if s.client_cert is not None and s.client_key is not None:
            context.load_cert_chain(str(s.client_cert), str(s.client_key))
        return context

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- the seam

    async def check_sim(self, msisdn: str, national_id: str = "") -> SimCheck | None:
        body = _request(wire.SimCheckRequest, msisdn=msisdn, national_id=national_id or None)
        if body is None:  # not a number the registry can hold: unknown, as the embedded one says
            return None
        answer = await self._call(wire.SIM_CHECK, body, wire.SimCheckResponse, found_or_none=True)
        if answer is None:
            return None
        return SimCheck(answer.status, answer.has_owner, answer.owner_matches, answer.in_owner_cartable)

    async def check_device(self, imei: str, requester: str, old_sim: str) -> DeviceCheck | None:
        body = _request(wire.DeviceCheckRequest, imei=imei, requester_msisdn=requester, old_msisdn=old_sim)
        if body is None:
            return None
        answer = await self._call(wire.DEVICE_CHECK, body, wire.DeviceCheckResponse, found_or_none=True)
        if answer is None:
            return None
        return DeviceCheck(answer.in_national_id_cartable, answer.owner_is_requester,
                           answer.on_old_sim, answer.on_requester_sim, answer.attached)

    async def cartable(self, national_id: str, requester: str) -> CartableSummary | None:
        body = _request(wire.CartableSummaryRequest, national_id=national_id, requester_msisdn=requester)
        if body is None:
            return None
        answer = await self._call(wire.CARTABLE_SUMMARY, body, wire.CartableSummaryResponse,
                                  found_or_none=True)
        if answer is None:
            return None
        return CartableSummary(answer.sim_count, tuple(answer.usable_sims_masked),
                               answer.requester_usable, answer.device_count)

    async def verify_birth_date(self, national_id: str, birth_date: str) -> bool:
        body = _request(wire.VerifyBirthDateRequest, national_id=national_id, birth_date=birth_date)
        if body is None:
            return False
        answer = await self._call(wire.VERIFY_BIRTH_DATE, body, wire.VerifyBirthDateResponse)
        return answer is not None and answer.match

    async def restore_device(self, move: RestoreMove) -> MoveResult:
        body = wire.RestoreDeviceRequest(
            imei=move.imei, from_msisdn=move.from_sim, requester_msisdn=move.requester,
            destination=move.destination, message_id=move.message_id)  # fmt: skip
        answer = await self._call(wire.RESTORE_DEVICE, body, wire.RestoreDeviceResponse,
                                  idempotency_key=move.operation_id)
        assert answer is not None
        return MoveResult(answer.result)

    async def recover_password(self, change: PasswordChange, new_password: str) -> tuple[MoveResult, int]:
        # scrypt is deliberately slow (~50 ms): off the event loop. A retried turn sends a new
        # hash of the same password (the fingerprint of the key leaves the hash out).
        password_hash = await asyncio.to_thread(hash_password, new_password)
        body = wire.RecoverPasswordRequest(
            national_id=change.national_id, requester_msisdn=change.requester,
            add_requester=change.add_requester, password_hash=password_hash,
            message_id=change.message_id)  # fmt: skip
        answer = await self._call(wire.RECOVER_PASSWORD, body, wire.RecoverPasswordResponse,
                                  idempotency_key=change.operation_id)
        assert answer is not None
        return MoveResult(answer.result), answer.device_count

    # -- health

    async def problem(self) -> str | None:
        """Why the gateway should not count itself ready because of the registry, or None:
        asks GET /v1/status (authenticated) unless the breaker is open."""
        if self._breaker.state is BreakerState.OPEN:
            return f"registry unavailable (circuit open: {self.last_problem or 'failures'})"
        try:
            async with asyncio.timeout(self._settings.timeout_seconds):
                async with self._http().get(self._base + wire.STATUS) as response:
                    if response.status == 200:
                        return None
                    return _status_problem(response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"registry unreachable: {type(exc).__name__}"

    # -- one call: breaker, deadline, attempts

    async def _call(
        self, path: str, body: wire.Body, answer_type: type[Answer], *,
        found_or_none: bool = False, idempotency_key: str | None = None,
    ) -> Answer | None:
        # Every call here is safe to repeat: lookups change nothing, changes are keyed. A call
        # without either (none exists today) would get one attempt.
        attempts = 1 + self._settings.retries if (idempotency_key or path not in _CHANGES) else 1
        headers = {wire.IDEMPOTENCY_KEY: idempotency_key} if idempotency_key else {}
        payload = body.model_dump(mode="json", exclude_none=True)
        if not self._breaker.allow():
            raise RegistryUnavailable(f"registry circuit open ({self.last_problem})")
        try:
            answer = await self._attempts(path, payload, headers, answer_type, found_or_none, attempts)
        except RegistryUnavailable as exc:  # refused credentials, or an answer no retry mends
            self._failed(str(exc))
            raise
        except _Retryable as exc:
            self._failed(str(exc))
            raise RegistryUnavailable(str(exc)) from exc
        except asyncio.CancelledError:
            self._breaker.abandoned()  # the turn was cancelled: never leave a probe pending
            raise
        self._breaker.succeeded()
        self.last_problem = None
        return answer

    def _failed(self, problem: str) -> None:
        self.last_problem = problem
        was_open = self._breaker.state is not BreakerState.CLOSED
        self._breaker.failed()
        if not was_open and self._breaker.state is BreakerState.OPEN:
            log.warning("registry circuit breaker open: %s", problem)

    async def _attempts(
        self, path: str, payload: dict[str, Any], headers: dict[str, str],
        answer_type: type[Answer], found_or_none: bool, attempts: int,
    ) -> Answer | None:
        pause = self._settings.backoff_seconds
        for attempt in range(attempts):
            left = remaining(self._settings.turn_deadline_seconds)
            if left <= 0:
                raise _Retryable("registry turn deadline passed")
            try:
                return await self._attempt(path, payload, headers, answer_type, found_or_none,
                                           min(self._settings.timeout_seconds, left))
            except _Retryable as exc:
                # Full jitter: many gateways retrying together do not beat in step.
                delay = random.uniform(0, min(pause, BACKOFF_CAP_SECONDS))
                if attempt + 1 == attempts or delay >= remaining(self._settings.turn_deadline_seconds):
                    raise
                log.info("registry %s failed (%s); retry %d of %d", path, exc, attempt + 1, attempts - 1)
                await asyncio.sleep(delay)
                pause *= 2
        raise AssertionError("unreachable")

    async def _attempt(
        self, path: str, payload: dict[str, Any], headers: dict[str, str],
        answer_type: type[Answer], found_or_none: bool, timeout: float,
    ) -> Answer | None:
        try:
            async with asyncio.timeout(timeout):
                async with self._http().post(self._base + path, json=payload, headers=headers) as response:
                    status = response.status
                    if status == 200:
                        answer = answer_type.model_validate(await response.json(content_type=None))
                        return _replayed(answer) if response.headers.get(wire.REPLAYED) == "true" else answer
                    if status == 404 and found_or_none:
                        return None
                    problem = _status_problem(status)
                    if status in RETRY_STATUSES:
                        raise _Retryable(problem)
                    if status in (401, 403):
                        raise RegistryRefused(problem)
                    # A 400/422 is the gateway's own mistake: no retry helps; logged, and the
                    # citizen is told to try later rather than left without an answer.
                    log.error("registry %s answered %s", path, status)
                    raise RegistryUnavailable(problem)
        except TimeoutError:
            raise _Retryable(f"registry timed out after {timeout:.1f}s") from None
        except aiohttp.ClientError as exc:
            raise _Retryable(f"registry unreachable: {type(exc).__name__}") from None
        except ValidationError:
            raise _Retryable("registry answered a body outside the API") from None


Request = TypeVar("Request", bound=wire.Body)


def _replayed(answer: Answer) -> Answer:
    """A first answer replayed for a repeated key: to the flows the change was applied before,
    as the embedded registry says of an operation id seen twice."""
    if getattr(answer, "result", None) == "applied":
        return answer.model_copy(update={"result": "already_applied"})
    return answer


def _request(model: type[Request], **fields: Any) -> Request | None:
    """A lookup's body, or None when a value cannot be in the registry at all (a foreign
    sender's number, say): the lookup's answer is then "unknown" without asking."""
    try:
        return model(**fields)
    except ValidationError:
        return None


_CHANGES: Final = frozenset({wire.RESTORE_DEVICE, wire.RECOVER_PASSWORD})


def _status_problem(status: int) -> str:
    if status in (401, 403):
        return (f"registry refused the gateway's credentials (HTTP {status}): check registry.token "
                "(HAMTA_REGISTRY__TOKEN)")
    return f"registry answered HTTP {status}"
