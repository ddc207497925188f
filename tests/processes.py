"""Real gateway processes for the fault-injection tests: `python -m gateway run`, HAMTA_* env.

    proc = await gateways.start(sim.port)          # the `gateways` fixture starts them...
    await proc.wait_log("took partition", count=16)
    proc.kill()                                    # ...SIGKILL, as a crash (or `terminate`)
    assert await proc.wait_exit() == -9

Each process's stderr (its log, one masked line per record) is read as it comes, so a test
waits on what the process says (`wait_log`) instead of sleeping. Every process a test started
is killed at its end, by pid, if it is still running.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import aiohttp
import pytest_asyncio
from aiosmpplib import SmppCommandStatus

from smpp.sim import SmscSimulator
from tests.harness import RELAXED_REPLY_BURST, TEST_SECRET_KEY

ROOT: Final = Path(__file__).resolve().parents[1]
PASSWORD: Final = "secret"
# Fast reconnects and short leases: faults heal within a second or two.
DEFAULTS: Final[dict[str, str]] = {
    "HAMTA_SMPP__PASSWORD": PASSWORD,
    "HAMTA_SERVICE__SECRET_KEY": TEST_SECRET_KEY,
    "HAMTA_LIMITS__REPLY_SEGMENTS_BURST": str(RELAXED_REPLY_BURST),  # as in tests/harness.py
    "HAMTA_SMPP__HOST": "127.0.0.1",
    "HAMTA_SMPP__RECONNECT_MIN_SECONDS": "0.05",
    "HAMTA_SMPP__RECONNECT_MAX_SECONDS": "0.5",
    "HAMTA_SMPP__RESPONSE_TIMEOUT_SECONDS": "2",
    "HAMTA_SMPP__ENQUIRE_LINK_SECONDS": "5",
    "HAMTA_REDIS__LEASE_SECONDS": "1",
    "HAMTA_HTTP__HOST": "127.0.0.1",
    "HAMTA_HTTP__PORT": "0",
    "HAMTA_SERVICE__SHUTDOWN_SECONDS": "10",
    "HAMTA_LOGGING__LEVEL": "INFO",
}
_HTTP_PORT: Final = re.compile(r"HTTP listening on [^:]+:(\d+)")


class GatewayProcess:
    """One `python -m gateway run` child; its stderr lines are kept in `lines`."""

    def __init__(self, name: str, env: dict[str, str], args: tuple[str, ...] = ("run",)) -> None:
        self.name = name
        self.env = env
        self.args = args
        self.lines: list[str] = []
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", *self.args, cwd=ROOT, env=self.env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read_stderr())

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def _read_stderr(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        while line := await self._process.stderr.readline():
            async with self._changed:
                self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))
                self._changed.notify_all()

    def count(self, pattern: str) -> int:
        """How many log lines match `pattern` (a regular expression, `re.search`)."""
        found = re.compile(pattern)
        return sum(1 for line in self.lines if found.search(line))

    async def wait_log(self, pattern: str, count: int = 1, timeout: float = 10.0) -> None:
        """Until `count` log lines match `pattern`; TimeoutError (with the log) if not."""
        try:
            async with self._changed:
                enough = self._changed.wait_for(lambda: self.count(pattern) >= count)
                await asyncio.wait_for(enough, timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{self.name}: no {count}x {pattern!r} in {timeout}s; log:\n{self.log()}"
            ) from None

    def log(self) -> str:
        return "\n".join(self.lines[-60:])

    async def http_port(self) -> int:
        await self.wait_log("HTTP listening on")
        found = next(_HTTP_PORT.search(line) for line in self.lines if _HTTP_PORT.search(line))
        assert found is not None
        return int(found.group(1))

    async def get(self, path: str) -> tuple[int, dict[str, object]]:
        url = f"http://127.0.0.1:{await self.http_port()}{path}"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return response.status, await response.json()

    def kill(self) -> None:
        """SIGKILL: nothing is flushed, released or unbound; the kernel closes the sockets."""
        self._signal(signal.SIGKILL)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, signum: int) -> None:
        if self.running:
            assert self._process is not None
            self._process.send_signal(signum)

    async def wait_exit(self, timeout: float = 10.0) -> int:
        """The exit code (negative: the signal that ended it) once stderr is read to its end."""
        assert self._process is not None and self._reader is not None
        code = await asyncio.wait_for(self._process.wait(), timeout)
        await asyncio.wait_for(self._reader, timeout)
        return code


class Citizen:
    """A subscriber texting the shortcode through the simulator; `code` is the last code seen."""

    CODE: Final = re.compile(r"\b[1-9][0-9]{5}\b")

    def __init__(self, sim: SmscSimulator, msisdn: str, shortcode: str = "7777") -> None:
        self.sim, self.msisdn, self.shortcode, self.code = sim, msisdn, shortcode, ""

    async def send(self, body: str, timeout: float = 5.0) -> list[SmppCommandStatus]:
        """The deliver_sm_resp statuses; `{code}` in `body` is the last code received."""
        text = body.replace("{code}", self.code)
        return await self.sim.send_mo(self.msisdn, self.shortcode, text, timeout=timeout)

    async def text(self, body: str) -> str:
        """Send (it must be acknowledged ESME_ROK) and return the next reply."""
        assert await self.send(body) == [SmppCommandStatus.ESME_ROK]
        return await self.reply()

    async def reply(self, timeout: float = 10.0) -> str:
        text = (await self.sim.await_mt(self.msisdn, timeout=timeout)).text
        if found := self.CODE.search(text):
            self.code = found.group()
        return text

    def received(self) -> list[str]:
        """Every complete MT this number got so far, in order."""
        return [mt.text for mt in self.sim.mt_log if mt.destination == self.msisdn]


def _env_value(value: str | int | float | bool) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


class Gateways:
    """Starts gateway processes against one Redis; `close` kills what is still running."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.started: list[GatewayProcess] = []

    async def start(self, smsc_port: int, *args: str, **settings: str | int | float | bool) -> GatewayProcess:
        """A gateway on `smsc_port`; `args` for `run`; `settings` as `section__key=value`
        (`redis__cluster=True`)."""
        process = GatewayProcess(f"gateway-{len(self.started) + 1}", self._env(smsc_port, settings),
                                 ("run", *args))
        self.started.append(process)
        await process.start()
        return process

    async def serve_registry(
        self, port: int, faults: str = "", **settings: str | int | float | bool
    ) -> GatewayProcess:
        """`registry serve --port port` on this Redis, once it listens; `faults`: the JSON of
        HAMTA_TEST_REGISTRY_FAULTS (gateway/registry_http/server.py), test-only."""
        env = self._env(2775, settings) | ({"HAMTA_TEST_REGISTRY_FAULTS": faults} if faults else {})
        name = f"registry-{len(self.started) + 1}"
        process = GatewayProcess(name, env, ("registry", "serve", "--port", str(port)))
        self.started.append(process)
        await process.start()
        await process.wait_log("registry API listening")
        return process

    def _env(self, smsc_port: int, settings: dict[str, str | int | float | bool]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
        env |= DEFAULTS | {"HAMTA_REDIS__URL": self.redis_url, "HAMTA_SMPP__PORT": str(smsc_port),
                           "HAMTA_CONFIG": str(ROOT / "config.yaml")}
        env |= {f"HAMTA_{key.upper()}": _env_value(value) for key, value in settings.items()}
        return env

    async def close(self) -> None:
        for process in self.started:
            process.kill()
        for process in self.started:
            await process.wait_exit()
            print(f"--- {process.name} (pid {process.pid}) log ---", *process.lines, sep="\n")


@pytest_asyncio.fixture
async def gateways(redis_url: str) -> AsyncIterator[Gateways]:
    """Gateway processes against the session redis-server (emptied for this test)."""
    group = Gateways(redis_url)
    try:
        yield group
    finally:
        await group.close()
