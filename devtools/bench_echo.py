"""The benchmark's baseline: a bare aiosmpplib ESME (stock ESME, broker and correlator) that
answers each MO with one single-segment Persian text (70 UCS-2 characters), the reply the
gateway aims at (issue 13: one segment per happy-path reply).
Run as `python -m devtools.bench_echo HOST PORT PASSWORD`."""

from __future__ import annotations

import asyncio
import signal
import sys

from aiosmpplib import ESME, AbstractHook, DeliverSm, PhoneNumber, SmppMessage, SubmitSm
from aiosmpplib.log import ERROR

from gateway import event_loop

SHORTCODE = "7777"
REPLY = "پاسخ آزمایشی همتا با همان درازای پاسخ‌های درگاه، تا بخش پیامک هر دو آزمون یکسان باشد: " * 2


class EchoHook(AbstractHook):  # type: ignore[misc]  # aiosmpplib ships no type information
    def __init__(self) -> None:
        self.esme: ESME | None = None

    async def sending(self, smpp_message: SmppMessage, pdu: bytes, client_id: str) -> None:
        return None

    async def received(self, smpp_message: SmppMessage | None, pdu: bytes, client_id: str) -> None:
        if isinstance(smpp_message, DeliverSm) and not smpp_message.is_receipt() and self.esme:
            reply = SubmitSm(short_message=REPLY[:70], source=PhoneNumber(SHORTCODE),
                             destination=smpp_message.source, esm_class=0x40,
                             auto_message_payload=False)
            await self.esme.broker.enqueue(reply)

    async def send_error(self, smpp_message: SmppMessage, error: Exception, client_id: str) -> None:
        return None


async def main(host: str, port: int, password: str) -> None:
    hook = EchoHook()
    esme = ESME(host, port, "hamta", password, hook=hook, log_level=ERROR)
    hook.esme = esme
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    task = asyncio.create_task(esme.start())
    await stop.wait()
    await esme.stop()
    task.cancel()


if __name__ == "__main__":
    event_loop.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
