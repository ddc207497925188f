"""Kannel (bearerbox + smsbox, Debian package ``kannel``) run as an ESME for interop tests.

    async with Kannel(tmp_path, smsc_port=sim.port, callbacks_url=url) as kannel:
        await kannel.start_bearerbox()          # then: await sim.wait_bound()
        await kannel.start_smsbox()             # returns once smsbox is connected to bearerbox
        await kannel.sendsms(to="989121110001", text="سلام", dlr_mask=3)

The configuration is written to ``tmp_path/kannel.conf``: one ``smpp`` smsc (transceiver) to the
given port with system-id ``hamta``/``secret``, the smsbox with a sendsms user, and a default
sms-service whose get-url and the dlr-url point at ``callbacks_url`` (``/mo``, ``/dlr``).
Readiness is read from each box's own log lines (its stderr, piped), never guessed by sleeping.
Both boxes are killed with SIGKILL if this process dies (PR_SET_PDEATHSIG), and terminated, then
killed if they linger, on exit; their output is kept in ``tmp_path/<box>.out`` for failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import urllib.parse
from pathlib import Path
from typing import Final

import aiohttp

from devtools.redis_server import free_port

HOST: Final = "127.0.0.1"
SYSTEM_ID, PASSWORD = "hamta", "secret"
SENDSMS_USER, SENDSMS_PASSWORD = "tester", "kannel-test"
SKIP_REASON: Final = "kannel not installed: sudo apt-get install kannel"
START_TIMEOUT: Final = 15.0
PR_SET_PDEATHSIG: Final = 1
SEARCH_PATH: Final = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def binary(name: str) -> str | None:
    """bearerbox and smsbox live in /usr/sbin, which a non-root PATH often lacks."""
    return shutil.which(name, path=SEARCH_PATH)


def installed() -> bool:
    return binary("bearerbox") is not None and binary("smsbox") is not None


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the test process goes away, however it goes."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def config(directory: Path, smsc_port: int, callbacks_url: str, ports: dict[str, int]) -> str:
    return f"""\
group = core
admin-port = {ports["admin"]}
admin-password = "kannel-admin"
admin-interface = {HOST}
smsbox-port = {ports["smsbox"]}
box-allow-ip = {HOST}
log-file = "{directory}/bearerbox.log"
log-level = 0
dlr-storage = internal
sms-combine-concatenated-mo = true

group = smsc
smsc = smpp
smsc-id = sim
host = {HOST}
port = {smsc_port}
transceiver-mode = true
smsc-username = {SYSTEM_ID}
smsc-password = {PASSWORD}
system-type = ""
enquire-link-interval = 30
reconnect-delay = 1

group = smsbox
bearerbox-host = {HOST}
bearerbox-port = {ports["smsbox"]}
sendsms-port = {ports["sendsms"]}
sendsms-interface = {HOST}
log-file = "{directory}/smsbox.log"
log-level = 0
mo-recode = true

group = sendsms-user
username = {SENDSMS_USER}
password = {SENDSMS_PASSWORD}
user-allow-ip = {HOST}
concatenation = true
max-messages = 10

group = sms-service
keyword = default
get-url = "{callbacks_url}/mo?from=%p&to=%P&text=%a&coding=%c&charset=%C"
max-messages = 0
"""


class Box:
    """One Kannel process, its output read line by line until a line says it is ready."""

    def __init__(self, name: str, output: Path) -> None:
        self.name, self.output = name, output
        self.lines: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._ready_text = ""

    async def start(self, conf: Path, ready_text: str) -> None:
        executable = binary(self.name)
        assert executable is not None, SKIP_REASON
        self._ready_text = ready_text
        self._process = await asyncio.create_subprocess_exec(
            executable, "-v", "1", str(conf), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        self._reader = asyncio.create_task(self._read())
        exited = asyncio.create_task(self._process.wait())
        ready = asyncio.create_task(self._ready.wait())
        done, _ = await asyncio.wait({exited, ready}, timeout=START_TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
        for task in (exited, ready):
            task.cancel()
        if ready not in done:
            why = f"exited with {self._process.returncode}" if exited in done else "not ready in time"
            raise RuntimeError(f"{self.name} {why}; its last output:\n" + "\n".join(self.lines[-20:]))

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        with self.output.open("w") as kept:
            while line := await self._process.stdout.readline():
                text = line.decode(errors="replace").rstrip()
                self.lines.append(text)
                kept.write(text + "\n")
                if self._ready_text in text:
                    self._ready.set()

    async def stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)


class Kannel:
    """bearerbox and smsbox configured for one simulator and one callback server."""

    def __init__(self, directory: Path, smsc_port: int, callbacks_url: str) -> None:
        self.directory = directory
        self.ports = {name: free_port(HOST) for name in ("admin", "smsbox", "sendsms")}
        self.conf = directory / "kannel.conf"
        self.conf.write_text(config(directory, smsc_port, callbacks_url, self.ports))
        self.bearerbox = Box("bearerbox", directory / "bearerbox.out")
        self.smsbox = Box("smsbox", directory / "smsbox.out")

    async def __aenter__(self) -> Kannel:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.smsbox.stop()  # first: its bearerbox would otherwise be waited for by it
        await self.bearerbox.stop()

    async def start_bearerbox(self) -> None:
        await self.bearerbox.start(self.conf, "MAIN: Start-up done")

    async def start_smsbox(self) -> None:
        """Returns when smsbox says it is connected to bearerbox (its sendsms port is open by then)."""
        await self.smsbox.start(self.conf, "Connected to bearerbox")

    async def sendsms(self, to: str, text: str, sender: str = "7777", **options: str) -> str:
        """GET /cgi-bin/sendsms: the text as UTF-8 with coding=2 (UCS-2); Kannel's answer body."""
        query = {"username": SENDSMS_USER, "password": SENDSMS_PASSWORD, "from": sender, "to": to,
                 "text": text, "charset": "UTF-8", "coding": "2", **options}
        url = f"http://{HOST}:{self.ports['sendsms']}/cgi-bin/sendsms?{urllib.parse.urlencode(query)}"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            body = await response.text()
            assert response.status == 202, f"sendsms answered {response.status}: {body}"
            return body
