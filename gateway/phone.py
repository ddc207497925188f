"""A subscriber's handset in a terminal: type as a citizen, read the gateway's replies.

It drives an in-process `SmscSimulator`: each line is sent as an MO from the current number
to the shortcode, and every MT the simulator records for that number is shown. Commands:
`/as 0935…` switches number, `/help`, `/quit`. In a script, `{code}` stands for the last
6-digit code this number received, and lines starting with `#` are comments.
"""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Iterable
from typing import TextIO

from flows.normalize import parse_msisdn
from smpp.simulator import SmscSimulator

_CODE = re.compile(r"(?<![0-9])[1-9][0-9]{5}(?![0-9])")
SETTLE_SECONDS = 0.4  # how long the console keeps listening for a turn's further replies
REPLY_TIMEOUT = 10.0

PHONE_HELP = "/as 09xxxxxxxxx  switch number   /help  this text   /quit  leave"


class Phone:
    def __init__(self, sim: SmscSimulator, shortcode: str, number: str, out: TextIO = sys.stdout) -> None:
        self._sim = sim
        self.shortcode = shortcode
        self._out = out
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

    def _command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        if name == "/quit":
            return False
        if name == "/as" and parse_msisdn(arg):
            self.number = parse_msisdn(arg) or self.number
            self.show(f"-- now texting as {self._local(self.number)}")
        else:
            self.show(PHONE_HELP)
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


async def run_script(phone: Phone, lines: Iterable[str]) -> None:
    for line in lines:
        if not await phone.type_line(line):
            return


async def run_interactive(phone: Phone, stdin: TextIO = sys.stdin) -> None:
    """Read typed lines from stdin without blocking the event loop (no threads)."""
    phone.show(f"Texting {phone.shortcode} as {phone.local_number}. {PHONE_HELP}")
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
