"""Interop: Kannel (bearerbox + smsbox, an ESME we did not write) against our SMSC simulator.

Kannel binds as transceiver to `smpp.sim.SmscSimulator`; MTs go in through its sendsms HTTP
interface, MOs and delivery receipts come out to a local aiohttp server as its get-url and
dlr-url. Everything waits on events (the simulator's bind, Kannel's own log lines, HTTP
arrivals) with timeouts; nothing sleeps. Skipped, saying what to install, where Kannel is not
installed (`make test` installs it when run as root: scripts/ensure-kannel.sh).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal

import pytest
from aiohttp import web

from smpp.sim import SmscSimulator
from tests.peers.kannel import PASSWORD, SKIP_REASON, SYSTEM_ID, Kannel, installed

pytestmark = pytest.mark.skipif(not installed(), reason=SKIP_REASON)

PHONE = "989121110001"
SHORTCODE = "7777"
SHORT_PERSIAN = "کد تایید همتا: ۴۸۲۹۱۷"
LONG_PERSIAN = (
    "کاربر گرامی، درخواست بازیابی دستگاه با شناسه ۳۵۵۷۶۲۰۵۲۷۹۳۲۳۵ ثبت شد. "
    "برای تایید، کد ملی مالک را ارسال کنید. این پیام از سامانه همتا است و پاسخ به آن رایگان است."
)
TIMEOUT = 10.0


class Callbacks:
    """The get-url (/mo) and dlr-url (/dlr) Kannel calls: each request's query, in a queue."""

    def __init__(self) -> None:
        self.mo: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.dlr: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.url = ""
        app = web.Application()
        app.router.add_get("/mo", self._take(self.mo))
        app.router.add_get("/dlr", self._take(self.dlr))
        self._runner = web.AppRunner(app)

    @staticmethod
    def _take(queue: asyncio.Queue[dict[str, str]]) -> web.RequestHandler:  # type: ignore[type-arg]
        async def handler(request: web.Request) -> web.Response:
            queue.put_nowait(dict(request.query))
            return web.Response(text="")  # no reply SMS (the service has max-messages = 0)

        return handler

    async def __aenter__(self) -> Callbacks:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()

    @staticmethod
    async def next(queue: asyncio.Queue[dict[str, str]]) -> dict[str, str]:
        return await asyncio.wait_for(queue.get(), TIMEOUT)


@pytest.fixture
async def callbacks() -> AsyncIterator[Callbacks]:
    async with Callbacks() as server:
        yield server


@pytest.fixture
async def sim() -> AsyncIterator[SmscSimulator]:
    # Receipts are sent by the tests, so each is known to come after the submit it is for.
    async with SmscSimulator(port=0, system_id=SYSTEM_ID, password=PASSWORD, receipts=False) as simulator:
        yield simulator


@pytest.fixture
async def kannel(tmp_path: Path, sim: SmscSimulator, callbacks: Callbacks) -> AsyncIterator[Kannel]:
    async with Kannel(tmp_path, sim.port, callbacks.url) as running:
        await running.start_bearerbox()
        await sim.wait_bound(timeout=TIMEOUT)
        await running.start_smsbox()
        yield running


@pytest.mark.parametrize(("text", "parts"), [(SHORT_PERSIAN, 1), (LONG_PERSIAN, 3)], ids=["short", "long"])
async def test_persian_mt_through_sendsms_arrives_whole_in_ucs2(
    sim: SmscSimulator, kannel: Kannel, text: str, parts: int
) -> None:
    assert (await kannel.sendsms(to=PHONE, text=text)).startswith("0: Accepted")
    mt = await sim.await_mt(PHONE, timeout=TIMEOUT)
    assert (mt.text, mt.data_coding, mt.parts, mt.source) == (text, 8, parts, SHORTCODE)
    assert sim.mt_log == [mt]


@pytest.mark.parametrize("concat", ["udh", "sar"])
@pytest.mark.parametrize("text", [SHORT_PERSIAN, LONG_PERSIAN], ids=["short", "long"])
async def test_persian_mo_reaches_the_get_url_whole(
    sim: SmscSimulator, kannel: Kannel, callbacks: Callbacks, text: str, concat: Literal["udh", "sar"]
) -> None:
    statuses = await sim.send_mo(PHONE, SHORTCODE, text, concat=concat)
    assert set(statuses) == {0}
    mo = await callbacks.next(callbacks.mo)
    assert (mo["from"].lstrip("+"), mo["to"], mo["text"]) == (PHONE, SHORTCODE, text)
    assert callbacks.mo.empty()


@pytest.mark.parametrize(("stat", "dlr_status"), [("DELIVRD", "1"), ("UNDELIV", "2")])
async def test_receipt_reaches_the_dlr_url(
    sim: SmscSimulator, kannel: Kannel, callbacks: Callbacks, stat: str, dlr_status: str
) -> None:
    dlr_url = f"{callbacks.url}/dlr?ref=hamta-42&status=%d&smsc=%i&answer=%A"
    await kannel.sendsms(to=PHONE, text=SHORT_PERSIAN, **{"dlr-mask": "3", "dlr-url": dlr_url})
    mt = await sim.await_mt(PHONE, timeout=TIMEOUT)
    assert mt.registered_delivery & 1  # Kannel asked for a receipt
    await sim.send_receipt(mt.message_ids[0], stat)
    dlr = await callbacks.next(callbacks.dlr)
    assert (dlr["ref"], dlr["status"], dlr["smsc"]) == ("hamta-42", dlr_status, "sim")
    assert dlr["answer"].startswith(f"id:{mt.message_ids[0]} ") and f"stat:{stat}" in dlr["answer"]
