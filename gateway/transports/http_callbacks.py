"""HTTP callbacks for aggregators: USSD screens answered in the request, SMS stored then acknowledged.

    POST /ussd         form: sessionId, serviceCode, phoneNumber, text
                       -> 200 text/plain "CON <screen>" (waits for input) or "END <screen>" (last)
    POST /sms/inbound  JSON or form: from, to, text, id
                       -> 200 {"status": "accepted"} or {"status": "duplicate"}

The aggregator is who called: the optional `X-Hamta-Aggregator` header (lower-case letters,
digits, ``_`` and ``-``, at most 32, starting with a letter or digit), else ``default``. One
aggregator's sessionIds and SMS ids never meet another's.

USSD: a dialogue is the aggregator, its ``sessionId`` and the ``phoneNumber`` together (two
numbers sharing a sessionId are two dialogues); the message's ``session_id`` is
``http|<aggregator>|<sessionId>|<msisdn>``, which the worker echoes on the screen and
gateway/store/keys.py hashes into the screen's key. ``text`` is every input of the dialogue so
far, joined by ``*`` ("" on the first hop); the newest input is its last element, and the number
of inputs numbers the hop, so a hop the aggregator sends again has the same message id
(``http-ussd:<digest of the dialogue>:<hop>``). The input is stored through the
`AggregatorBridge`, then the gateway's screen for that dialogue is awaited for
``answer_budget_seconds``; when none comes in time the dialogue ends with a polite screen saying
the answer follows by SMS (the worker carries on and replies by SMS). At most
``max_screen_waits`` hops wait at once; one more is answered 503 with Retry-After at once,
before anything is stored (http_limits.py; the aggregator or the user tries again).

Bodies are read by http_bodies.py. A request that is malformed gets 400 with a short reason
(`BadRequest`; 413 and 415 for its subclasses); one that cannot be stored gets 503 (a retryable
error from the bridge, `StorageUnavailable`: the aggregator retries). Nothing is acknowledged
before it is stored. Logs name the masked number, never the text. Errors are gateway/errors.py's.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, Protocol

from aiohttp import web

from flows.normalize import mask_msisdn, parse_msisdn
from gateway.errors import BadRequest, StorageUnavailable, is_retryable
from gateway.messages import InboundMessage, OutboundMessage
from gateway.transports.http_bodies import FORM, JSON, read_fields
from gateway.transports.http_limits import RefusalLog, Slots, too_busy

log = logging.getLogger("gateway.transports.http_callbacks")

SMS_FALLBACK_FA: Final = "پاسخ شما به‌زودی با پیامک فرستاده می‌شود. از شکیبایی شما سپاسگزاریم."
DEFAULT_BUDGET_SECONDS: Final = 2.0
DEFAULT_SCREEN_WAITS: Final = 200
AGGREGATOR_HEADER: Final = "X-Hamta-Aggregator"
DEFAULT_AGGREGATOR: Final = "default"
_AGGREGATOR: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}", re.ASCII)
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
    max_screen_waits: int = DEFAULT_SCREEN_WAITS,
    on_refused: Callable[[str], None] = lambda limit: None,
) -> list[web.RouteDef]:
    """The two callbacks, bound to ``bridge``; add them with ``app.add_routes``. `on_refused` is
    told "max_screen_waits" when a hop is refused for it (the metrics count them)."""
    waits = Slots(max_screen_waits)
    refusals = RefusalLog()

    async def ussd(request: web.Request) -> web.StreamResponse:
        message = ussd_message(await read_fields(request, (FORM,)), aggregator_of(request))
        with waits.hold() as free:
            if not free:
                on_refused("max_screen_waits")
                refusals.refused(f"USSD hop refused: {waits.limit} hops already wait for their screen")
                return too_busy(503, "too many USSD sessions waiting, try again later", json=False)
            return await _answer(message)

    async def _answer(message: InboundMessage) -> web.StreamResponse:
        await _store(bridge.store(message), message)
        screen = await _await_screen(bridge, message.session_id, answer_budget_seconds)
        if screen is None:
            log.info("no screen within %.1fs for %s; ending, SMS follows",
                     answer_budget_seconds, mask_msisdn(message.sender))
            return _plain(f"END {fallback_text}")
        return _plain(f"{'END' if screen.ussd_end else 'CON'} {screen.text}")

    async def sms_inbound(request: web.Request) -> web.StreamResponse:
        fields = await read_fields(request, (JSON, FORM))
        message, dedupe_key = sms_message(fields, aggregator_of(request))
        stored = await _store(bridge.store_once(message, dedupe_key), message)
        return web.json_response({"status": "accepted" if stored else "duplicate"})

    return [web.post("/ussd", _answer_bad_requests(ussd, plain=True)),
            web.post("/sms/inbound", _answer_bad_requests(sms_inbound, plain=False))]  # fmt: skip


# -- requests to messages ----------------------------------------------------------------------


def aggregator_of(request: web.Request) -> str:
    """Who called: the X-Hamta-Aggregator header, else "default"; BadRequest when malformed."""
    name = request.headers.get(AGGREGATOR_HEADER)
    if name is None:
        return DEFAULT_AGGREGATOR
    if not _AGGREGATOR.fullmatch(name):
        raise BadRequest(f"malformed header {AGGREGATOR_HEADER}")
    return name


def ussd_session_id(aggregator: str, session_id: str, msisdn: str) -> str:
    """The dialogue: unambiguous, as neither the aggregator nor the number can hold a ``|``."""
    return f"http|{aggregator}|{session_id}|{msisdn}"


def ussd_message(form: Mapping[str, object], aggregator: str = DEFAULT_AGGREGATOR) -> InboundMessage:
    """BadRequest when a field is missing or malformed."""
    session_id = _field(form, "sessionId", _IDENTIFIER)
    service_code = _field(form, "serviceCode", _SERVICE_CODE)
    sender = _msisdn(_field(form, "phoneNumber"))
    text = _field(form, "text", allow_empty=True)
    inputs = text.split("*") if text else []
    dialogue = ussd_session_id(aggregator, session_id, sender)
    digest = hashlib.blake2b(dialogue.encode("utf-8"), digest_size=16).hexdigest()
    return InboundMessage(
        id=f"http-ussd:{digest}:{len(inputs)}", channel="ussd", transport="http",
        sender=sender, recipient=service_code, text=inputs[-1] if inputs else "",
        session_id=dialogue, ussd_event="continue" if inputs else "begin",
    )  # fmt: skip


def sms_message(
    fields: Mapping[str, object], aggregator: str = DEFAULT_AGGREGATOR
) -> tuple[InboundMessage, str]:
    """The message and its dedupe key (the aggregator and its id); BadRequest when malformed."""
    dedupe_key = f"{aggregator}:{_field(fields, 'id', _IDENTIFIER)}"
    message = InboundMessage(
        id=f"http-sms:{dedupe_key}", channel="sms", transport="http",
        sender=_msisdn(_field(fields, "from")), recipient=_field(fields, "to", _SHORTCODE),
        text=_field(fields, "text", allow_empty=True),
    )  # fmt: skip
    return message, dedupe_key


def _field(
    fields: Mapping[str, object], name: str, pattern: re.Pattern[str] | None = None,
    *, allow_empty: bool = False,
) -> str:  # fmt: skip
    value = fields.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # JSON numbers for ids and numbers are common (at most 32 digits)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise BadRequest(f"missing field {name}")
    if len(value) > MAX_TEXT or (pattern is not None and not pattern.fullmatch(value)):
        raise BadRequest(f"malformed field {name}")
    if not _writable(value):
        raise BadRequest(f"malformed field {name}")
    return value


def _writable(value: str) -> bool:
    """False for a string UTF-8 cannot hold (a lone surrogate, which JSON can spell)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _msisdn(value: str) -> str:
    msisdn = parse_msisdn(value)
    if msisdn is None:
        raise BadRequest("not a mobile number")
    return msisdn


# -- answers -----------------------------------------------------------------------------------


def _answer_bad_requests(handler: Handler, *, plain: bool) -> Handler:
    """400 with the reason for a BadRequest (413, 415: its subclasses' status), 503 for
    StorageUnavailable; plain text or JSON."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadRequest as exc:
            log.info("%s %s refused: %s", request.method, request.path, exc)
            return _error(exc.status, str(exc), plain)
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
