"""A subscriber's handset in a terminal: type as a citizen, read the gateway's replies.

It drives an in-process `SmscSimulator`. `Phone` texts: each line is sent as an MO from the
current number to the shortcode, and every MT the simulator records for that number is shown.
`UssdPhone` dials (`hamta-gateway phone --ussd`): `/dial` or a code such as `*7777#` opens a
USSD dialogue, each line answers the screen shown, `/abort` hangs up; SMS that arrive meanwhile
(a confirmation code) are shown too. Commands: `/as 0935…` switches number, `/help`, `/quit`.
In a script, `{code}` stands for the last 6-digit code this number received, and lines starting
with `#` are comments (for `UssdPhone`, `# ` with a space: a lone `#` is an input, "more").
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterable
from typing import Protocol, TextIO

from flows.normalize import parse_msisdn
from gateway.settings import Settings
from smpp.sim import MtMessage, SmscSimulator, UssdDialogue, UssdScreen

_CODE = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?![0-9])")
SETTLE_SECONDS = 0.4  # how long the console keeps listening for a turn's further replies
REPLY_TIMEOUT = 10.0

PHONE_HELP = "/as 09xxxxxxxxx  switch number   /help  this text   /quit  leave"
USSD_HELP = "/dial [code]  dial   /abort  hang up   " + PHONE_HELP
_USSD_CODE = re.compile(r"[*#][0-9*]*[0-9][0-9*]*#", re.ASCII)


class Phone:
    def __init__(
        self, sim: SmscSimulator, shortcode: str, number: str, out: TextIO = sys.stdout,
        guide: str = "",
    ) -> None:  # fmt: skip
        self._sim = sim
        self.shortcode = shortcode
        self._out = out
        self.guide = guide  # what to try (the demo's numbers), under the greeting and /help
        self._codes: dict[str, str] = {}
        self.number = parse_msisdn(number) or number

    def show(self, line: str) -> None:
        print(line, file=self._out, flush=True)

    async def type_line(self, line: str) -> bool:
        """Act on one typed line; False when the user quits."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        if line.startswith("/"):
            return self._command(line)
        text = line.replace("{code}", self._codes.get(self.number, "000000"))
        self.show(f"[{self._local(self.number)}] > {text}")
        await self._sim.send_mo(self.number, self.shortcode, text)
        await self._show_replies()
        return True

    def greeting(self) -> str:
        return _with_guide(f"Texting {self.shortcode} as {self.local_number}. {PHONE_HELP}", self.guide)

    def _command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        if name == "/quit":
            return False
        if name == "/as" and parse_msisdn(arg):
            self.number = parse_msisdn(arg) or self.number
            self.show(f"-- now texting as {self._local(self.number)}")
        else:
            self.show(_with_guide(PHONE_HELP, self.guide))
        return True

    async def _show_replies(self) -> None:
        timeout = REPLY_TIMEOUT
        while True:
            try:
                mt = await self._sim.await_mt(self.number, timeout=timeout)
            except TimeoutError:
                if timeout == REPLY_TIMEOUT:
                    self.show("   (no reply)")
                return
            if found := _CODE.search(mt.text):
                self._codes[self.number] = found.group()
            self.show(f"[{self._local(self.number)}] < {mt.text}")
            timeout = SETTLE_SECONDS

    @property
    def local_number(self) -> str:
        return self._local(self.number)

    @staticmethod
    def _local(msisdn: str) -> str:
        return "0" + msisdn[2:] if msisdn.startswith("98") else msisdn


class UssdPhone:
    """A handset dialling USSD codes through the simulator's USSD API."""

    def __init__(
        self, sim: SmscSimulator, code: str, number: str, out: TextIO = sys.stdout,
        screen_timeout: float = REPLY_TIMEOUT, guide: str = "",
    ) -> None:  # fmt: skip
        self._sim = sim
        self.code = code
        self.guide = guide
        self._out = out
        self._screen_timeout = screen_timeout
        self._dialogue: UssdDialogue | None = None
        self._code: str | None = None  # the newest code texted to this number, not yet typed
        self.number = parse_msisdn(number) or number

    @property
    def local_number(self) -> str:
        return Phone._local(self.number)

    def greeting(self) -> str:
        return _with_guide(f"Dial {self.code} as {self.local_number}. {USSD_HELP}", self.guide)

    def show(self, line: str) -> None:
        print(line, file=self._out, flush=True)

    async def type_line(self, line: str) -> bool:
        """Act on one typed line; False when the user quits."""
        line = line.strip()
        if not line or line.startswith("# "):
            return True
        if line.startswith("/"):
            return await self._command(line)
        if self._waiting() is None:
            return await self._dial(line) if _USSD_CODE.fullmatch(line) else self._idle()
        await self._answer(await self._with_code(line))
        return True

    async def _command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        if name == "/quit":
            return False
        if name == "/dial":
            return await self._dial(arg.strip() or self.code)
        if name == "/abort":
            await self._abort() if self._waiting() is not None else self._idle()
        elif name == "/as" and parse_msisdn(arg):
            await self._hang_up()
            self.number, self._code = parse_msisdn(arg) or self.number, None
            self.show(f"-- now dialling as {self.local_number}")
        else:
            self.show(_with_guide(USSD_HELP, self.guide))
        return True

    def _idle(self) -> bool:
        self.show(f"   (no USSD dialogue: dial {self.code} or /dial first)")
        return True

    def _waiting(self) -> UssdDialogue | None:
        """The dialogue whose screen waits for an answer, if any."""
        dialogue = self._dialogue
        return dialogue if dialogue is not None and dialogue.state == "user" else None

    async def _dial(self, code: str) -> bool:
        await self._hang_up()
        self.show(f"[{self.local_number}] dial {code}")
        self._dialogue = await self._sim.ussd_start(self.number, code)
        await self._show_screen(self._dialogue)
        return True

    async def _answer(self, text: str) -> None:
        dialogue = self._waiting()
        assert dialogue is not None
        self.show(f"[{self.local_number}] > {text}")
        await dialogue.reply(text)
        await self._show_screen(dialogue)

    async def _abort(self) -> None:
        await self._hang_up()
        self.show(f"[{self.local_number}] (hung up)")

    async def _hang_up(self) -> None:
        if self._dialogue is not None and self._dialogue.state != "ended":
            await self._dialogue.abort()
        self._dialogue = None

    async def _show_screen(self, dialogue: UssdDialogue) -> None:
        if dialogue.ended_by == "refused":  # the gateway did not take the input
            self.show(f"   (USSD dialogue failed: {dialogue.status.name if dialogue.status else '-'})")
            return
        try:
            screen = await dialogue.screen(self._screen_timeout)
        except TimeoutError:
            await self._sim.ussd_network_timeout(dialogue)
            self.show("   (no answer: the network ended the dialogue)")
            return
        await self._show_texts()
        self.show(_render(screen))

    async def _show_texts(self) -> None:
        """SMS that already arrived for this number (a code sent while a screen waits)."""
        while (mt := await self._next_mt(0)) is not None:
            self._note(mt)

    async def _with_code(self, text: str) -> str:
        """``{code}`` replaced by the newest code texted here; waits for its SMS if none yet."""
        if "{code}" not in text:
            return text
        await self._show_texts()
        while self._code is None and (mt := await self._next_mt(REPLY_TIMEOUT)) is not None:
            self._note(mt)
        code, self._code = self._code or "000000", None
        return text.replace("{code}", code)

    def _note(self, mt: MtMessage) -> None:
        if found := _CODE.search(mt.text):
            self._code = found.group()
        self.show(f"[{self.local_number}] SMS < {mt.text}")

    async def _next_mt(self, timeout: float) -> MtMessage | None:
        try:
            return await self._sim.await_mt(self.number, timeout=timeout)
        except TimeoutError:
            return None


def _with_guide(text: str, guide: str) -> str:
    return f"{text}\n{guide}" if guide else text


def _render(screen: UssdScreen) -> str:
    lines = "\n".join(f"   | {line}" for line in screen.text.splitlines() or [""])
    return f"{lines}\n   [{'end' if screen.ends else 'reply, or /abort'}]"


class Console(Protocol):
    def show(self, line: str) -> None: ...
    def greeting(self) -> str: ...
    async def type_line(self, line: str) -> bool: ...


def console_for(sim: SmscSimulator, settings: Settings, number: str, ussd: bool,
                out: TextIO = sys.stdout, guide: str = "") -> Console:
    """A texting phone, or a dialling one (`--ussd`); `guide` says what to try."""
    if ussd:
        return UssdPhone(sim, settings.service.ussd_code, number, out, guide=guide)
    return Phone(sim, settings.service.shortcode, number, out, guide=guide)


async def run_script(phone: Console, lines: Iterable[str]) -> None:
    for line in lines:
        if not await phone.type_line(line):
            return


async def run_interactive(phone: Console, stdin: TextIO = sys.stdin) -> None:
    """Read typed lines from stdin without blocking the event loop (no threads)."""
    phone.show(phone.greeting())
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), stdin
    )
    try:
        while line := await reader.readline():
            if not await phone.type_line(line.decode("utf-8", errors="replace")):
                return
    finally:
        transport.close()
