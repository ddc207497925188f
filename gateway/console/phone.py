"""The web console's phone: the seam to a handset driver, and its JSON routes.

The gateway never knows the SMSC simulator (tests/unit/test_layers.py): the demo hands the
HTTP app an object implementing `PhoneDriver` (devtools/web_phone.py drives the in-process
simulator with it), and only then do these routes exist; a production gateway has none, so
they are 404 there and `config.json` says `phone_enabled: false`.

    POST /console/api/phone/sms     {"msisdn", "text"}                   text the shortcode
    POST /console/api/phone/ussd    {"msisdn", "dial": "*7777#"}         dial a code
                                    {"msisdn", "text": "1"}              answer the screen shown
                                    {"msisdn", "cancel": true}           hang up
    GET  /console/api/phone/thread?msisdn=&after=N[&wait=25]             the number's events
                                    after seq N; waits (long poll) until there is one

Every answer is JSON; a refusal is {"error": "..."} with 400 (bad input) or 409 (not now).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final, Literal, Protocol

from aiohttp import web

from flows.normalize import parse_msisdn
from gateway.errors import PhoneRefused

PhoneEventKind = Literal[
    "sms_mo",  # the handset texted the shortcode
    "sms_mt",  # an SMS arrived
    "ussd_dial",  # the handset dialled a code
    "ussd_answer",  # the handset answered a screen
    "ussd_screen",  # a USSD screen arrived (`ends`: it closes the dialogue)
    "ussd_ended",  # the dialogue ended without a closing screen (`text`: user|network|refused)
    "error",  # what the simulator refused (`text` says what)
]

MAX_TEXT: Final = 1000  # longer than any citizen types; the simulator splits it into parts
DEFAULT_WAIT: Final = 25.0  # below common proxy idle timeouts (30-60 s)
MAX_WAIT: Final = 30.0
_USSD_CODE: Final = re.compile(r"[*#][0-9*]*[0-9][0-9*]*#", re.ASCII)


@dataclass(frozen=True, slots=True)
class PhoneEvent:
    seq: int  # per number, from 1, increasing
    at: float  # epoch seconds
    kind: PhoneEventKind
    text: str = ""
    ends: bool = False


@dataclass(frozen=True, slots=True)
class DemoNumber:
    msisdn: str  # 98XXXXXXXXXX
    label: str  # what a tester can try with it


class PhoneDriver(Protocol):
    """Handsets the console drives. Methods raise `PhoneRefused` when the act is impossible now."""

    @property
    def numbers(self) -> Sequence[DemoNumber]: ...

    async def text(self, msisdn: str, text: str) -> None: ...

    async def dial(self, msisdn: str, code: str) -> None: ...

    async def answer(self, msisdn: str, text: str) -> None: ...

    async def hang_up(self, msisdn: str) -> None: ...

    async def events(self, msisdn: str, after: int, timeout: float) -> list[PhoneEvent]:
        """Events of `msisdn` with seq > `after`; waits up to `timeout` for one, else []."""
        ...


PHONE: web.AppKey[PhoneDriver] = web.AppKey("console_phone")
CLOSING: web.AppKey[asyncio.Event] = web.AppKey("console_closing")


def add_phone_routes(app: web.Application, driver: PhoneDriver) -> None:
    app[PHONE] = driver
    app[CLOSING] = asyncio.Event()
    app.on_shutdown.append(_wake_long_polls)
    app.router.add_post("/console/api/phone/sms", sms)
    app.router.add_post("/console/api/phone/ussd", ussd)
    app.router.add_get("/console/api/phone/thread", thread)


async def _wake_long_polls(app: web.Application) -> None:
    """Runs before the server waits for its handlers: a long poll must not hold the stop."""
    app[CLOSING].set()


def _error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(
            text='{"error": "the body is not JSON"}', content_type="application/json"
        ) from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "the body is not a JSON object"}', content_type="application/json"
        )
    return body


def _msisdn(value: object) -> str | None:
    return parse_msisdn(value) if isinstance(value, str) else None


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        return None
    return value.strip()


async def sms(request: web.Request) -> web.Response:
    body = await _body(request)
    msisdn, text = _msisdn(body.get("msisdn")), _text(body.get("text"))
    if msisdn is None:
        return _error(400, "msisdn: not a mobile number (0912…, +98912…)")
    if text is None:
        return _error(400, f"text: 1 to {MAX_TEXT} characters")
    try:
        await request.app[PHONE].text(msisdn, text)
    except PhoneRefused as exc:
        return _error(PhoneRefused.status, str(exc))
    return web.json_response({"ok": True})


async def ussd(request: web.Request) -> web.Response:
    body = await _body(request)
    msisdn = _msisdn(body.get("msisdn"))
    if msisdn is None:
        return _error(400, "msisdn: not a mobile number (0912…, +98912…)")
    driver = request.app[PHONE]
    try:
        if body.get("cancel") is True:
            await driver.hang_up(msisdn)
        elif "dial" in body:
            code = body["dial"]
            if not isinstance(code, str) or not _USSD_CODE.fullmatch(code):
                return _error(400, "dial: a USSD code such as *7777#")
            await driver.dial(msisdn, code)
        elif (text := _text(body.get("text"))) is not None:
            await driver.answer(msisdn, text)
        else:
            return _error(400, "give one of: dial (a code), text (an answer), cancel: true")
    except PhoneRefused as exc:
        return _error(PhoneRefused.status, str(exc))
    return web.json_response({"ok": True})


async def thread(request: web.Request) -> web.Response:
    msisdn = _msisdn(request.query.get("msisdn"))
    if msisdn is None:
        return _error(400, "msisdn: not a mobile number (0912…, +98912…)")
    try:
        after = int(request.query.get("after", "0"))
        wait = min(max(float(request.query.get("wait", DEFAULT_WAIT)), 0.0), MAX_WAIT)
    except ValueError:
        return _error(400, "after: an integer; wait: seconds")
    events = await _until_closing(request.app, request.app[PHONE].events(msisdn, after, wait))
    return web.json_response({"msisdn": msisdn, "events": [asdict(event) for event in events]})


async def _until_closing(app: web.Application, waiting: Awaitable[list[PhoneEvent]]) -> list[PhoneEvent]:
    """The driver's answer, or [] as soon as the server begins to stop."""
    answer = asyncio.ensure_future(waiting)
    closing = asyncio.ensure_future(app[CLOSING].wait())
    try:
        await asyncio.wait({answer, closing}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (answer, closing):
            task.cancel()  # a no-op for the one that is done
        await asyncio.gather(answer, closing, return_exceptions=True)
    return [] if answer.cancelled() else answer.result()
