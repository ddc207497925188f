"""HTTP callbacks for aggregators: USSD screens answered in the request, SMS stored then acknowledged.

    POST /ussd         form: sessionId, serviceCode, phoneNumber, text
                       -> 200 text/plain "CON <screen>" (waits for input) or "END <screen>" (last)
    POST /sms/inbound  JSON or form: from, to, text, id
                       -> 200 {"status": "accepted"} or {"status": "duplicate"}

USSD: ``text`` is every input of the dialogue so far, joined by ``*`` ("" on the first hop); the
newest input is its last element, and the number of inputs numbers the hop, so a hop the
aggregator sends again has the same message id (``http-ussd:<sessionId>:<hop>``). The input is
stored through the `AggregatorBridge`, then the gateway's screen for that session is awaited
for ``answer_budget_seconds``; when none comes in time the dialogue ends with a polite screen
saying the answer follows by SMS (the worker carries on and replies by SMS).

A request that is malformed gets 400 with a short reason (`BadRequest`); one that cannot be
stored gets 503 (a retryable error from the bridge, `StorageUnavailable`: the aggregator
retries). Nothing is acknowledged before it is stored. Logs name the masked number, never the
text. Errors are gateway/errors.py's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Protocol

from aiohttp import web

from flows.normalize import mask_msisdn, parse_msisdn
from gateway.errors import BadRequest, StorageUnavailable, is_retryable
from gateway.messages import InboundMessage, OutboundMessage

log = logging.getLogger("gateway.transports.http_callbacks")

SMS_FALLBACK_FA: Final = "پاسخ شما به‌زودی با پیامک فرستاده می‌شود. از شکیبایی شما سپاسگزاریم."
DEFAULT_BUDGET_SECONDS: Final = 2.0
GRACE_SECONDS: Final = 0.25  # beyond the budget, for a bridge slow to give up
MAX_TEXT: Final = 1000
_IDENTIFIER: Final = re.compile(r"[\x21-\x7e]{1,128}", re.ASCII)  # printable, no spaces
_SERVICE_CODE: Final = re.compile(r"[*#0-9]{1,32}", re.ASCII)
_SHORTCODE: Final = re.compile(r"[A-Za-z0-9+]{1,20}", re.ASCII)
PLAIN: Final = "text/plain"


class AggregatorBridge(Protocol):
    async def store(self, message: InboundMessage) -> None:
        """Store durably (the id is stable per hop: a repeat may be recognised); a retryable
        error (`StorageUnavailable`) when it could not."""

    async def store_once(self, message: InboundMessage, dedupe_key: str) -> bool:
        """Store durably unless ``dedupe_key`` was stored before; False for such a duplicate."""

    async def await_screen(self, session_id: str, timeout: float) -> OutboundMessage | None:
        """The gateway's next screen for a USSD session, or None when none comes in time."""


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def ussd_routes(
    bridge: AggregatorBridge,
    *,
    answer_budget_seconds: float = DEFAULT_BUDGET_SECONDS,
    fallback_text: str = SMS_FALLBACK_FA,
) -> list[web.RouteDef]:
    """The two callbacks, bound to ``bridge``; add them with ``app.add_routes``."""

    async def ussd(request: web.Request) -> web.StreamResponse:
        message = ussd_message(await request.post())
        await _store(bridge.store(message), message)
        screen = await _await_screen(bridge, message.session_id, answer_budget_seconds)
        if screen is None:
            log.info("no screen within %.1fs for %s; ending, SMS follows",
                     answer_budget_seconds, mask_msisdn(message.sender))
            return _plain(f"END {fallback_text}")
        return _plain(f"{'END' if screen.ussd_end else 'CON'} {screen.text}")

    async def sms_inbound(request: web.Request) -> web.StreamResponse:
        message, dedupe_key = sms_message(await _sms_fields(request))
        stored = await _store(bridge.store_once(message, dedupe_key), message)
        return web.json_response({"status": "accepted" if stored else "duplicate"})

    return [web.post("/ussd", _answer_bad_requests(ussd, plain=True)),
            web.post("/sms/inbound", _answer_bad_requests(sms_inbound, plain=False))]  # fmt: skip


# -- requests to messages ----------------------------------------------------------------------


def ussd_message(form: Mapping[str, object]) -> InboundMessage:
    """BadRequest when a field is missing or malformed."""
    session_id = _field(form, "sessionId", _IDENTIFIER)
    service_code = _field(form, "serviceCode", _SERVICE_CODE)
    sender = _msisdn(_field(form, "phoneNumber"))
    text = _field(form, "text", allow_empty=True)
    inputs = text.split("*") if text else []
    return InboundMessage(
        id=f"http-ussd:{session_id}:{len(inputs)}", channel="ussd", transport="http",
        sender=sender, recipient=service_code, text=inputs[-1] if inputs else "",
        session_id=session_id, ussd_event="continue" if inputs else "begin",
    )  # fmt: skip


def sms_message(fields: Mapping[str, object]) -> tuple[InboundMessage, str]:
    """The message and its dedupe key (the aggregator's id); BadRequest when malformed."""
    message_id = _field(fields, "id", _IDENTIFIER)
    message = InboundMessage(
        id=f"http-sms:{message_id}", channel="sms", transport="http",
        sender=_msisdn(_field(fields, "from")), recipient=_field(fields, "to", _SHORTCODE),
        text=_field(fields, "text", allow_empty=True),
    )  # fmt: skip
    return message, message_id


async def _sms_fields(request: web.Request) -> Mapping[str, object]:
    if request.content_type != "application/json":
        return await request.post()
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest("body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _field(
    fields: Mapping[str, object], name: str, pattern: re.Pattern[str] | None = None,
    *, allow_empty: bool = False,
) -> str:  # fmt: skip
    value = fields.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # JSON numbers for ids and numbers are common
    if not isinstance(value, str) or (not value and not allow_empty):
        raise BadRequest(f"missing field {name}")
    if len(value) > MAX_TEXT or (pattern is not None and not pattern.fullmatch(value)):
        raise BadRequest(f"malformed field {name}")
    return value


def _msisdn(value: str) -> str:
    msisdn = parse_msisdn(value)
    if msisdn is None:
        raise BadRequest("not a mobile number")
    return msisdn


# -- answers -----------------------------------------------------------------------------------


def _answer_bad_requests(handler: Handler, *, plain: bool) -> Handler:
    """400 with the reason for a BadRequest, 503 for StorageUnavailable; plain text or JSON."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadRequest as exc:
            log.info("%s %s refused: %s", request.method, request.path, exc)
            return _error(400, str(exc), plain)
        except StorageUnavailable:
            return _error(503, "storage unavailable, try again later", plain)

    return guarded


async def _store(storing: Awaitable[bool | None], message: InboundMessage) -> bool:
    """False only for a duplicate; StorageUnavailable when the bridge could not store."""
    try:
        return await storing is not False
    except Exception as exc:
        if not is_retryable(exc):
            raise
        log.error("%s from %s not stored: %s", message.channel, mask_msisdn(message.sender),
                  type(exc).__name__)
        if isinstance(exc, StorageUnavailable):
            raise
        raise StorageUnavailable(f"not stored: {type(exc).__name__}") from exc


async def _await_screen(
    bridge: AggregatorBridge, session_id: str, budget: float
) -> OutboundMessage | None:
    try:
        async with asyncio.timeout(budget + GRACE_SECONDS):
            return await bridge.await_screen(session_id, budget)
    except TimeoutError:
        return None
    except Exception as exc:  # stored already: the worker answers by SMS
        if not is_retryable(exc):
            raise
        log.warning("screen for a USSD session not awaited: %s", type(exc).__name__)
        return None


def _plain(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type=PLAIN, charset="utf-8")


def _error(status: int, reason: str, plain: bool) -> web.Response:
    if plain:
        return _plain(reason, status)
    return web.json_response({"status": "error", "reason": reason}, status=status)
