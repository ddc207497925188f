"""The benchmark's load: subscribers walking complete dialogs, in a process of its own, bound as
an ESME to its simulator in the router (devtools/bench_router.py).

`concurrency` subscribers are in a dialog at any time; each takes the next subscriber number
when its dialog ends, until `count` dialogs are done. A turn's latency runs from this process
submitting the MO to it receiving the (reassembled) reply. Subscribers are those numbered
`first + k * step` (the router routes replies by that numbering).

With RATE (turns per second, this process's share), the subscribers are paced: turns start at
least 1 / RATE seconds apart (no catching up after a late one), so the load offered is RATE, not
as much as the ESME can take; a subscriber still waits for each reply before its next turn.
The latencies then are those of a gateway at that load rather than of a saturated one (in a
closed loop of N subscribers, a turn's mean latency is N over the turns/s, whatever the ESME).

Run as `python -m devtools.bench_load PORT DIALOG FIRST STEP COUNT CONCURRENCY [RATE]`, DIALOG
being `restore` (the gateway) or `echo` (the echo ESME); it prints one JSON line when done.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from collections.abc import Awaitable, Callable

from aiosmpplib import ESME, AbstractHook, BindTransceiverResp, DeliverSm, PhoneNumber, SmppMessage, SubmitSm
from aiosmpplib.correlator import SimpleCorrelator
from aiosmpplib.log import ERROR

from devtools.bench_fixture import imei, new_msisdn, old_number
from devtools.bench_router import LOAD_PASSWORD, LOAD_SYSTEM_ID
from gateway import event_loop, garbage

SHORTCODE = "7777"
CODE = re.compile(r"\b[1-9][0-9]{5}\b")
TIMEOUT_SECONDS = 60.0


class Replies(AbstractHook):  # type: ignore[misc]  # aiosmpplib ships no type information
    """Each subscriber's next reply, handed to the one turn waiting for it."""

    def __init__(self) -> None:
        self.waiting: dict[str, asyncio.Future[str]] = {}
        self.bound = asyncio.Event()

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        if isinstance(smpp_message, BindTransceiverResp):
            self.bound.set()
        elif isinstance(smpp_message, DeliverSm) and not smpp_message.is_receipt():
            future = self.waiting.pop(smpp_message.destination.number, None)
            if future is not None and not future.done():
                future.set_result(smpp_message.short_message)

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        return None


class NoReceipts(SimpleCorrelator):  # type: ignore[misc]
    """The stock correlator keeps every submit's SMSC message id for its receipt and scans them
    all on each call: a long run would measure that. The load asks for no receipts."""

    async def put_delivery(self, smsc_message_id: str, submit_sm: SubmitSm) -> None:
        return None


class Pace:
    """Start times one `1 / rate` apart, handed out in turn (rate 0: no pacing)."""

    def __init__(self, rate: float) -> None:
        self._interval = 1 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self._interval:
            return
        now = time.perf_counter()
        self._next = max(self._next + self._interval, now) if self._next else now
        if self._next > now:
            await asyncio.sleep(self._next - now)


class Load:
    def __init__(self, esme: ESME, replies: Replies, pace: Pace) -> None:
        self._esme, self._replies, self._pace = esme, replies, pace
        self.latencies: list[float] = []
        self.done_at: list[float] = []

    async def turn(self, msisdn: str, text: str) -> str:
        await self._pace.wait()
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._replies.waiting[msisdn] = future
        started = time.perf_counter()
        await self._esme.broker.enqueue(SubmitSm(
            short_message=text, source=PhoneNumber(msisdn), destination=PhoneNumber(SHORTCODE)))
        reply = await asyncio.wait_for(future, TIMEOUT_SECONDS)
        now = time.perf_counter()
        self.latencies.append(now - started)
        self.done_at.append(now)
        return reply

    async def restore(self, i: int) -> None:
        msisdn = "98" + new_msisdn(i)[1:]
        await self.turn(msisdn, "1")
        await self.turn(msisdn, imei(i))
        code = CODE.search(await self.turn(msisdn, old_number(i)))
        if code is None:
            raise RuntimeError("no confirmation code in the reply")
        await self.turn(msisdn, code.group())

    async def echo(self, i: int) -> None:
        msisdn = "98" + new_msisdn(i)[1:]
        for text in ("1", imei(i), old_number(i), "123456"):
            await self.turn(msisdn, text)


async def drive(dialog: Callable[[int], Awaitable[None]], numbers: list[int], concurrency: int) -> None:
    queue = iter(numbers)

    async def subscriber() -> None:
        for i in queue:
            await dialog(i)

    await asyncio.gather(*(subscriber() for _ in range(concurrency)))


async def main(port: int, kind: str, first: int, step: int, count: int, concurrency: int,
               rate: float = 0.0) -> None:
    replies = Replies()
    esme = ESME("127.0.0.1", port, LOAD_SYSTEM_ID, LOAD_PASSWORD, hook=replies, log_level=ERROR,
                correlator=NoReceipts(LOAD_SYSTEM_ID))
    task = asyncio.create_task(esme.start())
    load = Load(esme, replies, Pace(rate))
    await asyncio.wait_for(replies.bound.wait(), TIMEOUT_SECONDS)
    numbers = [first + k * step for k in range(count)]
    garbage.settle()  # the load, set as the gateway is: the harness stays light
    # Every load process starts at once, when the bench says so (after all of them are bound).
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    started = time.perf_counter()
    await drive(load.restore if kind == "restore" else load.echo, numbers, concurrency)
    print(json.dumps({"turns": len(load.latencies), "started": started, "latencies": load.latencies,
                      "done_at": load.done_at}), flush=True)
    await esme.stop()
    task.cancel()


if __name__ == "__main__":
    port, kind, first, step, count, concurrency = sys.argv[1:7]
    rate = float(sys.argv[7]) if len(sys.argv) > 7 else 0.0
    event_loop.run(main(int(port), kind, int(first), int(step), int(count), int(concurrency), rate))
