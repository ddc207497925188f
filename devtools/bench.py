"""`hamta-gateway bench`: complete restore dialogs over SMPP, and a bare aiosmpplib echo ESME
measured against the same simulator in the same run, so the figures compare as a ratio.

Each simulated subscriber owns one detached device and walks the whole dialog: menu choice,
IMEI, old number, confirmation code (4 turns). A turn's latency runs from the simulator
sending the MO to it recording the complete (reassembled) reply. The gateway (and then the
echo ESME) runs in its own process; the simulator and the subscribers run in this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from devtools.redis_server import RedisServer
from gateway.app import connect_redis
from gateway.settings import load_settings
from gateway.store.fixtures import parse_fixture
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry
from smpp.sim import SmscSimulator

SHORTCODE = "7777"
USSD_BUDGET_SECONDS = load_settings().ussd.answer_budget_seconds
CODE = re.compile(r"\b[1-9][0-9]{5}\b")


@dataclass
class Run:
    turns: int
    seconds: float
    latencies: list[float]

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds

    def percentile(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000


def bench_fixture(count: int) -> dict[str, list[dict[str, str]]]:
    people, sims, devices = [], [], []
    for i in range(count):
        nid = _national_id(i + 1)
        people.append({"national_id": nid, "birth_date": "1370/01/01"})
        sims.append({"msisdn": _old(i), "owner": nid, "status": "expired"})
        sims.append({"msisdn": _new(i), "owner": nid, "status": "active"})
        devices.append({"imei": _imei(i), "sim": _old(i), "registered_owner": nid})
    return {"people": people, "sims": sims, "devices": devices}


def _old(i: int) -> str:
    return f"0935{i:07d}"


def _new(i: int) -> str:
    return f"0936{i:07d}"


def _national_id(i: int) -> str:
    first = f"{i:09d}"
    r = sum(int(d) * (10 - k) for k, d in enumerate(first)) % 11
    return first + str(r if r < 2 else 11 - r)


def _imei(i: int) -> str:
    body = f"35{i:012d}"
    total = 0
    for k, d in enumerate(reversed(body)):
        v = int(d) * (2 if k % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return body + str((10 - total % 10) % 10)


async def _timed(sim: SmscSimulator, msisdn: str, text: str, latencies: list[float]) -> str:
    started = time.perf_counter()
    await sim.send_mo(msisdn, SHORTCODE, text, timeout=30)
    reply = await sim.await_mt(msisdn, timeout=30)
    latencies.append(time.perf_counter() - started)
    return reply.text


async def _dialog(sim: SmscSimulator, i: int, latencies: list[float]) -> None:
    msisdn = "98" + _new(i)[1:]
    await _timed(sim, msisdn, "1", latencies)
    await _timed(sim, msisdn, _imei(i), latencies)
    code = CODE.search(await _timed(sim, msisdn, _old(i), latencies))
    assert code is not None, "no confirmation code in the reply"
    done = await _timed(sim, msisdn, code.group(), latencies)
    assert "منتقل شد" in done, done


async def _ussd_dialog(sim: SmscSimulator, i: int, latencies: list[float]) -> None:
    """The same restore over USSD: each latency is from the input to its screen."""
    msisdn = "98" + _new(i)[1:]
    started = time.perf_counter()
    dialogue = await sim.ussd_start(msisdn)
    await dialogue.screen(30)
    latencies.append(time.perf_counter() - started)
    for text in ("1", _imei(i), _old(i), None):
        if text is None:  # the code came by SMS meanwhile
            found = CODE.search((await sim.await_mt(msisdn, timeout=30)).text)
            assert found is not None, "no confirmation code by SMS"
            text = found.group()
        started = time.perf_counter()
        await dialogue.reply(text)
        shown = await dialogue.screen(30)
        latencies.append(time.perf_counter() - started)
    assert shown.ends, shown


async def _echo_dialog(sim: SmscSimulator, i: int, latencies: list[float]) -> None:
    msisdn = "98" + _new(i)[1:]
    for text in ("1", _imei(i), _old(i), "123456"):
        await _timed(sim, msisdn, text, latencies)


async def _drive(
    sim: SmscSimulator, count: int, dialog: Callable[..., Awaitable[None]], first: int = 0
) -> Run:
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(dialog(sim, i, latencies) for i in range(first, first + count)))
    return Run(len(latencies), time.perf_counter() - started, latencies)


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """The ESME under test runs in its own process, as it would beside a real SMSC."""
    process = subprocess.Popen([sys.executable, *args], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def _bound_or_failed(sim: SmscSimulator, process: subprocess.Popen[bytes]) -> None:
    try:
        await sim.wait_bound(timeout=30)
    except TimeoutError:
        raise RuntimeError(f"the ESME under test did not bind (exit code {process.poll()})") from None


async def _gateway_run(redis_url: str, count: int, backend: str = "redis") -> tuple[Run, Run]:
    """SMS dialogs for subscribers 0..count-1, then USSD ones for count..2*count-1, on an
    emptied Redis (the bench's own) with a fresh registry; backend "http": through a
    `registry serve` process on that Redis."""
    async with SmscSimulator(port=0, password="bench") as sim:
        settings = load_settings(redis={**load_settings().redis.model_dump(), "url": redis_url})
        redis = connect_redis(settings)
        await redis.flushall()  # the bench's private redis-server: the previous backend's state
        await RedisRegistry(redis, Keys(settings.redis.prefix, settings.redis.partitions)).load(
            parse_fixture(bench_fixture(2 * count)))
        await redis.aclose()
        env = {"HAMTA_REDIS__URL": redis_url, "HAMTA_SMPP__PORT": str(sim.port),
               "HAMTA_SMPP__PASSWORD": "bench", "HAMTA_SERVICE__SECRET_KEY": secrets.token_hex(32),
               "HAMTA_SMPP__TPS": "100000",
               "HAMTA_SMPP__WINDOW": "100", "HAMTA_HTTP__PORT": "0", "HAMTA_LOGGING__LEVEL": "WARNING"}
        with contextlib.ExitStack() as stack:
            if backend == "http":
                token, port = secrets.token_hex(16), _free_port()
                serve_env = {**env, "HAMTA_REGISTRY__TOKEN": token}
                stack.enter_context(_process(["-m", "gateway", "registry", "serve", "--port", str(port)],
                                             serve_env))
                await _listening(port)
                env |= {"HAMTA_REGISTRY__BACKEND": "http", "HAMTA_REGISTRY__URL": f"http://127.0.0.1:{port}",
                        "HAMTA_REGISTRY__TOKEN": token}
            process = stack.enter_context(_process(["-m", "gateway", "run"], env))
            await _bound_or_failed(sim, process)
            sms = await _drive(sim, count, _dialog)
            return sms, await _drive(sim, count, _ussd_dialog, first=count)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _listening(port: int, timeout: float = 30) -> None:
    """Until the registry server accepts connections (its start-up, not a fixed pause)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"registry serve did not listen on {port}") from None
            await asyncio.sleep(0.05)  # polling a process's start-up: it has no other signal
            continue
        writer.close()
        await writer.wait_closed()
        return


async def _echo_run(count: int) -> Run:
    async with SmscSimulator(port=0, password="bench") as sim:
        with _process(["-m", "devtools.bench_echo", "127.0.0.1", str(sim.port), "bench"], {}) as process:
            await _bound_or_failed(sim, process)
            return await _drive(sim, count, _echo_dialog)


async def bench(subscribers: int, out: TextIO, backends: Sequence[str] = ("redis",)) -> None:
    """The dialogs with each registry backend in turn (`--registry redis --registry http`),
    then the echo ESME; the figures printed side by side."""
    runs: dict[str, tuple[Run, Run]] = {}
    with (tempfile.TemporaryDirectory(prefix="hamta-bench-") as directory,
          RedisServer(Path(directory)) as redis_server):
        for backend in dict.fromkeys(backends):
            runs[backend] = await _gateway_run(redis_server.url, subscribers, backend)
    echo = await _echo_run(subscribers)
    first, *others = runs
    gateway, ussd = runs[first]
    _report(out, subscribers, gateway, echo, ussd, "" if first == "redis" else f" (registry {first})")
    for backend in others:
        _backend_report(out, backend, *runs[backend], runs[first][0], first)


def _backend_report(out: TextIO, backend: str, sms: Run, ussd: Run, base: Run, base_name: str) -> None:
    print(f"gateway (registry {backend}): {sms.turns_per_second:8.1f} turns/s  "
          f"p50 {sms.percentile(50):6.1f} ms  p99 {sms.percentile(99):6.1f} ms  "
          f"({sms.turns_per_second / base.turns_per_second:.2f}x the {base_name} backend, "
          f"whose p99 is {base.percentile(99):.1f} ms); USSD p99 {ussd.percentile(99):6.1f} ms",
          file=out, flush=True)


def _report(out: TextIO, subscribers: int, gateway: Run, echo: Run, ussd: Run, label: str = "") -> None:
    def line(text: str) -> None:
        print(text, file=out, flush=True)

    line(f"subscribers: {subscribers}, 4 turns each (restore dialog, Persian, 2-part replies)")
    line(f"gateway{label}: {gateway.turns_per_second:8.1f} turns/s  "
         f"{gateway.turns_per_second / 4:7.1f} dialogs/s  "
         f"p50 {gateway.percentile(50):6.1f} ms  p95 {gateway.percentile(95):6.1f} ms  "
         f"p99 {gateway.percentile(99):6.1f} ms")
    line("echo ESME (aiosmpplib, stock correlator, same 2-part replies): "
         f"{echo.turns_per_second:8.1f} turns/s  "
         f"p50 {echo.percentile(50):6.1f} ms  p99 {echo.percentile(99):6.1f} ms")
    line(f"ratio gateway/echo: {gateway.turns_per_second / echo.turns_per_second:.2f}")
    within = sum(1 for latency in ussd.latencies if latency <= USSD_BUDGET_SECONDS) / len(ussd.latencies)
    line(f"USSD (same dialog, {subscribers} dialogues): {ussd.turns_per_second:8.1f} screens/s  "
         f"p50 {ussd.percentile(50):6.1f} ms  p95 {ussd.percentile(95):6.1f} ms  "
         f"p99 {ussd.percentile(99):6.1f} ms  within the {USSD_BUDGET_SECONDS:g} s budget: {within:.1%}")
