"""The web console's phone in the demo: handsets driven through the in-process SMSC simulator.

`SimPhones` implements `gateway.console.PhoneDriver`; `hamta-gateway demo` makes one beside its
simulator and hands it to `Gateway(settings, phone=...)`, so the console's phone routes exist
only there. It does what the terminal `phone` (devtools/phone.py) does: an SMS is an MO from
the number to the shortcode; a dial opens a USSD dialogue, each answer replies to the screen
shown, cancel hangs up, and a screen that never comes ends the dialogue as the network would.

It watches every MT the simulator records (`SmscSimulator.mt_observers`) without taking any
from `await_mt`, so the terminal phone of the same demo still gets its replies. Each number's
thread is a bounded list of `PhoneEvent`s (the newest `MAX_EVENTS`, for the newest
`MAX_NUMBERS` numbers) that the console long-polls.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Sequence
from typing import Final

from aiosmpplib import SmppCommandStatus

from devtools.phone import REPLY_TIMEOUT
from flows.normalize import parse_msisdn
from gateway.console import DemoNumber, PhoneEvent
from gateway.console.phone import PhoneEventKind
from gateway.errors import PhoneRefused
from smpp.sim import MtMessage, NoReceiverBound, SmscSimulator, UssdDialogue, UssdStateError

log = logging.getLogger("devtools.web_phone")

MAX_EVENTS: Final = 300
MAX_NUMBERS: Final = 200
NOT_BOUND: Final = "the gateway is not bound to the simulator (yet): try again in a moment"

# What a tester can try from each demo number (devtools/data/demo-registry.json).
DEMO_NUMBERS: Final = (
    DemoNumber("989361110003", "سارا: بازیابی دستگاه 490154203237518 از سیم‌کارت منقضی 09351110002"),
    DemoNumber("989121110007", "به کارتابل کد ملی: دستگاه 353322110000339، شماره قبلی 09351110008"),
    DemoNumber("989121110010", "فراموشی رمز: کد ملی 5512345672، تولد 1368/02/20"),
    DemoNumber("989191110015", "رمز، سیم‌کارت دیگری هنوز فعال است: 7734567894، 1380/12/29"),
    DemoNumber("989191110006", "مالک تازهٔ شماره: 353322110000115 با 09121110004 (عدم تطابق)"),
    DemoNumber("989121110001", "علی، کارتابل کد ملی 0499370899، تولد 1365/04/12"),
)


class Thread:
    """One number's events, newest `MAX_EVENTS`, and a way to wait for the next."""

    def __init__(self) -> None:
        self.events: collections.deque[PhoneEvent] = collections.deque(maxlen=MAX_EVENTS)
        self._seq = itertools.count(1)
        self._added = asyncio.Event()

    def add(self, kind: PhoneEventKind, text: str = "", ends: bool = False) -> None:
        self.events.append(PhoneEvent(next(self._seq), time.time(), kind, text, ends))
        self._added.set()
        self._added = asyncio.Event()  # the next waiters wait for the next event

    def after(self, seq: int) -> list[PhoneEvent]:
        return [event for event in self.events if event.seq > seq]

    async def wait_after(self, seq: int, timeout: float) -> list[PhoneEvent]:
        if not (found := self.after(seq)) and timeout > 0:
            try:
                await asyncio.wait_for(self._added.wait(), timeout)
            except TimeoutError:
                return []
            found = self.after(seq)
        return found


class SimPhones:
    """Handsets on `sim`, texting `shortcode`; close with `aclose` (or `async with`)."""

    def __init__(
        self, sim: SmscSimulator, shortcode: str, numbers: Sequence[DemoNumber] = DEMO_NUMBERS,
        screen_timeout: float = REPLY_TIMEOUT,
    ) -> None:  # fmt: skip
        self._sim = sim
        self._shortcode = shortcode
        self._numbers = tuple(numbers)
        self._screen_timeout = screen_timeout
        self._threads: collections.OrderedDict[str, Thread] = collections.OrderedDict()
        self._dialogues: dict[str, UssdDialogue] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        sim.mt_observers.append(self._on_mt)

    @property
    def numbers(self) -> Sequence[DemoNumber]:
        return self._numbers

    async def __aenter__(self) -> SimPhones:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._on_mt in self._sim.mt_observers:
            self._sim.mt_observers.remove(self._on_mt)
        for task in self._watchers:
            task.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)

    # -- the PhoneDriver methods -----------------------------------------------------------------

    async def text(self, msisdn: str, text: str) -> None:
        thread = self._thread(msisdn)
        thread.add("sms_mo", text)  # before sending: the reply may come before the resp does
        try:
            statuses = await self._sim.send_mo(msisdn, self._shortcode, text)
        except NoReceiverBound as exc:
            thread.add("error", "not sent: " + NOT_BOUND)
            raise PhoneRefused(NOT_BOUND) from exc
        except (TimeoutError, ConnectionError) as exc:
            thread.add("error", "the gateway did not acknowledge the SMS")
            raise PhoneRefused(f"the gateway did not acknowledge the SMS: {type(exc).__name__}") from exc
        refused = [status.name for status in statuses if status is not SmppCommandStatus.ESME_ROK]
        if refused:  # the gateway answers a temporary error when it cannot store the MO
            thread.add("error", f"the gateway answered {', '.join(refused)}: not delivered")

    async def dial(self, msisdn: str, code: str) -> None:
        await self._end_live(msisdn)
        thread = self._thread(msisdn)
        thread.add("ussd_dial", code)
        try:
            dialogue = await self._sim.ussd_start(msisdn, code)
        except NoReceiverBound as exc:
            thread.add("ussd_ended", "refused")
            raise PhoneRefused(NOT_BOUND) from exc
        except (TimeoutError, ConnectionError) as exc:  # the gateway did not answer the dial
            thread.add("ussd_ended", "refused")
            raise PhoneRefused(f"the dial was not answered: {type(exc).__name__}") from exc
        self._dialogues[msisdn] = dialogue
        self._watch(msisdn, dialogue)

    async def answer(self, msisdn: str, text: str) -> None:
        dialogue = self._dialogues.get(msisdn)
        if dialogue is None or dialogue.state != "user":
            raise PhoneRefused("no USSD screen waits for an answer: dial first")
        self._thread(msisdn).add("ussd_answer", text)
        try:
            await dialogue.reply(text)
        except (UssdStateError, NoReceiverBound, TimeoutError, ConnectionError) as exc:
            raise PhoneRefused(f"the answer was not delivered: {type(exc).__name__} {exc}") from exc
        self._watch(msisdn, dialogue)

    async def hang_up(self, msisdn: str) -> None:
        if not await self._end_live(msisdn):
            raise PhoneRefused("no USSD dialogue to hang up")

    async def events(self, msisdn: str, after: int, timeout: float) -> list[PhoneEvent]:
        return await self._thread(msisdn).wait_after(after, timeout)

    # -- inside ----------------------------------------------------------------------------------

    def _thread(self, msisdn: str) -> Thread:
        thread = self._threads.get(msisdn)
        if thread is None:
            thread = self._threads[msisdn] = Thread()
            while len(self._threads) > MAX_NUMBERS:
                self._threads.popitem(last=False)
        self._threads.move_to_end(msisdn)
        return thread

    def _on_mt(self, message: MtMessage) -> None:
        msisdn = parse_msisdn(message.destination) or message.destination
        self._thread(msisdn).add("sms_mt", message.text)

    async def _end_live(self, msisdn: str) -> bool:
        """Hang up the number's dialogue if it has not ended; whether there was one."""
        dialogue = self._dialogues.pop(msisdn, None)
        if dialogue is None or dialogue.state == "ended":
            return False
        self._thread(msisdn).add("ussd_ended", "user")
        try:
            await dialogue.abort()
        except (UssdStateError, NoReceiverBound, TimeoutError, ConnectionError) as exc:
            log.info("hang-up not delivered: %s", type(exc).__name__)
        return True

    def _watch(self, msisdn: str, dialogue: UssdDialogue) -> None:
        """The next screen of `dialogue` into the thread, in the background: the browser
        learns of it by its long poll, as of an SMS."""
        task = asyncio.create_task(self._next_screen(msisdn, dialogue), name="web-phone-screen")
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    async def _next_screen(self, msisdn: str, dialogue: UssdDialogue) -> None:
        thread = self._thread(msisdn)
        if dialogue.ended_by == "refused":  # the gateway did not take the input
            thread.add("ussd_ended", "refused")
            return
        try:
            screen = await dialogue.screen(self._screen_timeout)
        except TimeoutError:
            if dialogue.state == "ended":  # hung up meanwhile
                return
            try:
                await self._sim.ussd_network_timeout(dialogue)
            except (UssdStateError, NoReceiverBound, TimeoutError, ConnectionError) as exc:
                log.info("network timeout not delivered: %s", type(exc).__name__)
            thread.add("ussd_ended", "network")
            return
        thread.add("ussd_screen", screen.text, screen.ends)
