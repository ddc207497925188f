"""`hamta-gateway bench`: complete restore dialogs over SMPP, against a bare aiosmpplib echo ESME
measured with the same SMSC in the same run, so the figures compare as ratios.

Every part runs in its own process, so the one measured is not the one measuring:

    load (devtools/bench_load.py) --SMPP--> router (devtools/bench_router.py) --SMPP--> ESME
                                  <--------                                <--------
    ESME = the gateway (1 or more `hamta-gateway run` processes, one Redis) or the echo ESME

Each subscriber owns one detached device and walks the whole dialog: menu choice, IMEI, old
number, confirmation code (4 turns); `concurrency` of them are in a dialog at any time. A turn's
latency runs from the load submitting the MO to it receiving the reassembled reply. The report
gives turns/s, p50/p99, MT segments per dialog, the CPU seconds of each process group during the
run, Redis memory per idle subscriber, and the gateway's memory before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO

from redis.asyncio import Redis

from devtools.bench_fixture import bench_fixture, imei, new_msisdn, old_number
from devtools.redis_server import RedisServer, free_port
from gateway.app import connect_redis
from gateway.settings import load_settings
from gateway.store.fixtures import parse_fixture
from gateway.store.keys import Keys
from gateway.store.registry import RedisRegistry
from smpp.sim import SmscSimulator

__all__ = ["bench", "bench_fixture"]

SHORTCODE = "7777"
PASSWORD = "bench"
USSD_BUDGET_SECONDS = load_settings().ussd.answer_budget_seconds
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The share of the echo ESME's turns/s that the paced run offers (the throughput target).
PACED_SHARE = 0.5


@dataclass
class Run:
    turns: int
    seconds: float
    latencies: list[float]
    done_at: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    segments: int = 0
    notes: dict[str, float] = field(default_factory=dict)
    redis_calls: dict[str, float] = field(default_factory=dict)  # per turn, by command

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return (self.latencies or [0.0])[0] * 1000
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000

    def tenth_rates(self) -> tuple[float, float]:
        """Turns/s of the first and of the last tenth of the run (by completion order)."""
        done = sorted(self.done_at)
        tenth = len(done) // 10
        if tenth < 2:
            return self.turns_per_second, self.turns_per_second
        first = tenth / (done[tenth - 1] - done[0])
        last = tenth / (done[-1] - done[-tenth])
        return first, last


# -- processes ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str] | None = None,
             stdin: int | None = None) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, *args], env={**os.environ, **(env or {})},
                               stdin=stdin, stdout=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _line(stream: IO[str] | None) -> dict[str, object]:
    assert stream is not None
    text = stream.readline()
    if not text:
        raise RuntimeError("a bench process ended before it reported")
    parsed: dict[str, object] = json.loads(text)
    return parsed


@contextlib.contextmanager
def _profiled(pids: list[int], directory: Path | None, name: str) -> Iterator[None]:
    """`py-spy record` on each of `pids` while the block runs (raw folded stacks, one file each)."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).with_name("py-spy"))
    spies = [subprocess.Popen([spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw",
                               "--output", str(directory / f"{name}-{n}.txt")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for n, pid in enumerate(pids)]
    try:
        yield
    finally:
        for spy_process in spies:
            spy_process.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            spy_process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of the children it waited for (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except FileNotFoundError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Stack:
    """The router and the load processes of one run; the ESME under test comes between."""

    def __init__(self, loads: int, esmes: int = 1) -> None:
        self.loads = loads
        self._exit = contextlib.ExitStack()
        self.router = self._exit.enter_context(
            _process(["-m", "devtools.bench_router", PASSWORD, str(loads), str(esmes)]))
        ports = _line(self.router.stdout)
        self.esme_port = int(str(ports["esme_port"]))
        self.load_ports = [int(port) for port in ports["load_ports"]]  # type: ignore[attr-defined]

    def close(self) -> dict[str, object]:
        """Stop the router; what it routed."""
        self.router.send_signal(signal.SIGTERM)
        routed = _line(self.router.stdout)
        self._exit.close()
        return routed

    def drive(self, kind: str, first: int, dialogs: int, concurrency: int,
              measured: dict[str, list[int]], rate: float = 0.0) -> Run:
        """`dialogs` dialogs from subscriber `first` on, spread over the load processes; `rate`:
        the turns/s offered (0: as many as the ESME takes)."""
        procs = []
        with contextlib.ExitStack() as stack:
            for k in range(self.loads):  # the router sends subscriber i's replies to load i % loads
                numbers = [i for i in range(first, first + dialogs) if i % self.loads == k]
                procs.append(stack.enter_context(_process(
                    ["-m", "devtools.bench_load", str(self.load_ports[k]), kind, str(numbers[0]),
                     str(self.loads), str(len(numbers)), str(max(concurrency // self.loads, 1)),
                     str(rate / self.loads)],
                    stdin=subprocess.PIPE)))
            for proc in procs:
                _line(proc.stdout)  # bound and ready
            groups = {**measured, "router": [self.router.pid], "load": [p.pid for p in procs]}
            before = {name: sum(map(cpu_seconds, pids)) for name, pids in groups.items()}
            started = time.perf_counter()
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()
            results = [_line(proc.stdout) for proc in procs]
            seconds = time.perf_counter() - started
            cpu = {name: sum(map(cpu_seconds, pids)) - before[name] for name, pids in groups.items()}
        latencies = [latency for result in results for latency in result["latencies"]]  # type: ignore[attr-defined]
        done_at = [at for result in results for at in result["done_at"]]  # type: ignore[attr-defined]
        return Run(len(latencies), seconds, latencies, done_at, cpu)


def _gateway_env(redis_url: str, port: int, log_level: str = "WARNING") -> dict[str, str]:
    return {"HAMTA_REDIS__URL": redis_url, "HAMTA_SMPP__PORT": str(port),
            "HAMTA_SMPP__PASSWORD": PASSWORD, "HAMTA_SERVICE__SECRET_KEY": secrets.token_hex(32),
            # The account's TPS cap and window lifted: the bench measures the gateway, not them.
            "HAMTA_SMPP__TPS": "100000", "HAMTA_SMPP__WINDOW": "100", "HAMTA_HTTP__PORT": "0",
            "HAMTA_LOGGING__LEVEL": log_level}


@contextlib.asynccontextmanager
async def _bench_redis(redis_url: str) -> AsyncIterator[tuple[Redis, Keys]]:
    """A client of the bench's own redis-server, and the gateway's key names on it."""
    settings = load_settings(redis={**load_settings().redis.model_dump(), "url": redis_url})
    redis = connect_redis(settings)
    try:
        yield redis, Keys(settings.redis.prefix, settings.redis.partitions)
    finally:
        await redis.aclose()


async def _load_registry(redis_url: str, count: int) -> None:
    async with _bench_redis(redis_url) as (redis, keys):
        await RedisRegistry(redis, keys).load(parse_fixture(bench_fixture(count)))


async def _redis_info(redis_url: str) -> tuple[int, dict[str, int]]:
    """Redis's used memory and the calls of each command so far."""
    async with _bench_redis(redis_url) as (redis, _keys):
        memory = await redis.info("memory")
        commands = await redis.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(stats["calls"]) for name, stats in commands.items()}
    return int(memory["used_memory"]), calls


async def _idle_subscriber_bytes(redis_url: str, numbers: range) -> float:
    """What one subscriber costs Redis once its dialog is over: its records (MEMORY USAGE of the
    subscriber's and the session's keys), averaged over `numbers` (the session key is gone)."""
    async with _bench_redis(redis_url) as (redis, keys), redis.pipeline(transaction=False) as pipe:
        for i in numbers:
            msisdn = "98" + new_msisdn(i)[1:]
            pipe.memory_usage(keys.subscriber(msisdn))
            pipe.memory_usage(keys.session(msisdn))
        sizes = await pipe.execute()
    return sum(size or 0 for size in sizes) / len(numbers)


async def _balanced(redis_url: str, processes: int, timeout: float = 60.0) -> None:
    """Until every partition is held and the holders are `processes` distinct processes: the
    partitions are shared by leases, and a process that joined takes its share within a lease
    or two (a bench may poll; tests wait on events)."""
    deadline = time.monotonic() + timeout
    async with _bench_redis(redis_url) as (redis, keys):
        while time.monotonic() < deadline:
            holders = await redis.mget([keys.lease(p) for p in range(keys.partitions)])
            if None not in holders and len(set(holders)) == processes:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the partitions were not shared by {processes} gateway processes")


def gateway_run(dialogs: int, concurrency: int, processes: int, loads: int, warm: int = 20,
                profile: Path | None = None, log_level: str = "WARNING", registry: str = "redis",
                rate: float = 0.0) -> Run:
    """`dialogs` restores through `processes` gateway processes sharing one fresh Redis; with
    `registry` "http", their registry is a `registry serve` process on that Redis; `rate`: the
    turns/s the load offers (0: as many as the gateway takes)."""
    with (tempfile.TemporaryDirectory(prefix="hamta-bench-") as directory,
          RedisServer(Path(directory)) as redis_server):
        total = warm + dialogs
        asyncio.run(_load_registry(redis_server.url, total))
        stack = Stack(loads, processes)
        try:
            with contextlib.ExitStack() as gateways:
                env = _gateway_env(redis_server.url, stack.esme_port, log_level)
                if registry == "http":
                    env |= _registry_server(gateways, env)
                procs = [gateways.enter_context(_process(["-m", "gateway", "run"], env))
                         for _ in range(processes)]
                pids = [p.pid for p in procs]
                asyncio.run(_balanced(redis_server.url, processes))
                # A few dialogs first: binds up, partitions taken, code paths warm.
                stack.drive("restore", 0, warm, min(concurrency, warm), {})
                memory_before, calls_before = asyncio.run(_redis_info(redis_server.url))
                rss_before = sum(map(rss_mib, pids))
                with _profiled(pids, profile, f"gateway-x{processes}"):
                    run = stack.drive("restore", warm, dialogs, concurrency,
                                      {"gateway": pids, "redis": [redis_server.pid or 0]}, rate)
                run.notes["rss_before_mib"] = rss_before
                run.notes["rss_after_mib"] = sum(map(rss_mib, pids))
                memory_after, calls_after = asyncio.run(_redis_info(redis_server.url))
                run.notes["redis_bytes_per_dialog"] = (memory_after - memory_before) / dialogs
                run.notes["redis_bytes_per_idle_subscriber"] = asyncio.run(
                    _idle_subscriber_bytes(redis_server.url, range(warm, warm + min(dialogs, 100))))
                run.redis_calls = {name: (calls - calls_before.get(name, 0)) / run.turns
                                   for name, calls in calls_after.items()
                                   if calls > calls_before.get(name, 0) and name != "info"}
        finally:
            routed = stack.close()
        run.segments = int(str(routed["mt_segments"]))
        run.notes["segments_per_dialog"] = run.segments / total
        return run


def _registry_server(stack: contextlib.ExitStack, env: dict[str, str]) -> dict[str, str]:
    """A `registry serve` process on the bench's Redis; the settings that point a gateway at it."""
    token, port = secrets.token_hex(16), free_port()
    server = stack.enter_context(_process(["-m", "gateway", "registry", "serve", "--port", str(port)],
                                          {**env, "HAMTA_REGISTRY__TOKEN": token}))
    _listening(port, server)
    return {"HAMTA_REGISTRY__BACKEND": "http", "HAMTA_REGISTRY__URL": f"http://127.0.0.1:{port}",
            "HAMTA_REGISTRY__TOKEN": token}


def _listening(port: int, process: subprocess.Popen[str], timeout: float = 30) -> None:
    """Until the server accepts connections (a process's start-up has no other signal)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"registry serve did not listen on {port} (exit code {process.poll()})")


def echo_run(dialogs: int, concurrency: int, loads: int) -> Run:
    stack = Stack(loads)
    try:
        with _process(["-m", "devtools.bench_echo", "127.0.0.1", str(stack.esme_port), PASSWORD]) as echo:
            stack.drive("echo", 0, 20, min(concurrency, 20), {})
            run = stack.drive("echo", 20, dialogs, concurrency, {"echo ESME": [echo.pid]})
    finally:
        routed = stack.close()
    run.segments = int(str(routed["mt_segments"]))
    return run


# -- USSD: the screens' budget, with the simulator in this process (as before) ---------------------


async def _ussd_dialog(sim: SmscSimulator, i: int, latencies: list[float]) -> None:
    """A restore over USSD: each latency is from the input to its screen."""
    import re

    code_pattern = re.compile(r"\b[1-9][0-9]{5}\b")
    msisdn = "98" + new_msisdn(i)[1:]
    started = time.perf_counter()
    dialogue = await sim.ussd_start(msisdn)
    await dialogue.screen(30)
    latencies.append(time.perf_counter() - started)
    for text in ("1", imei(i), old_number(i), None):
        if text is None:  # the code came by SMS meanwhile
            found = code_pattern.search((await sim.await_mt(msisdn, timeout=30)).text)
            assert found is not None, "no confirmation code by SMS"
            text = found.group()
        started = time.perf_counter()
        await dialogue.reply(text)
        shown = await dialogue.screen(30)
        latencies.append(time.perf_counter() - started)
    assert shown.ends, shown


async def ussd_run(dialogues: int) -> Run:
    with (tempfile.TemporaryDirectory(prefix="hamta-bench-") as directory,
          RedisServer(Path(directory)) as redis_server):
        await _load_registry(redis_server.url, dialogues)
        async with SmscSimulator(port=0, password=PASSWORD) as sim:
            with _process(["-m", "gateway", "run"], _gateway_env(redis_server.url, sim.port)) as process:
                try:
                    await sim.wait_bound(timeout=30)
                except TimeoutError:
                    raise RuntimeError(f"the gateway did not bind (exit code {process.poll()})") from None
                latencies: list[float] = []
                started = time.perf_counter()
                await asyncio.gather(*(_ussd_dialog(sim, i, latencies) for i in range(dialogues)))
                return Run(len(latencies), time.perf_counter() - started, latencies)


# -- the report --------------------------------------------------------------------------------


def bench(out: TextIO, *, dialogs: int = 2000, concurrency: int = 50, processes: tuple[int, ...] = (1, 2),
          loads: int = 1, ussd: int = 100, idle_dialogs: int = 200, profile: Path | None = None,
          log_level: str = "WARNING", registries: tuple[str, ...] = ("redis",)) -> None:
    """`log_level`: the gateway processes' (the caller sets this process's own); `registries`:
    "http" adds the same dialogs through the reference registry server, one process."""
    def line(text: str = "") -> None:
        print(text, file=out, flush=True)

    line(f"{dialogs} restore dialogs (4 turns each, Persian), {concurrency} subscribers at a time, "
         f"load in {loads} process(es)")
    echo = echo_run(dialogs, concurrency, loads)
    runs = {n: gateway_run(dialogs, concurrency, n, loads, profile=profile, log_level=log_level)
            for n in processes}
    # Latency at the load the issue sets (half the echo's turns/s from `concurrency` subscribers),
    # offered at that rate: a closed loop at full speed measures its own queue (Little's law).
    paced_rate = PACED_SHARE * echo.turns_per_second
    paced = gateway_run(dialogs, concurrency, 1, loads, log_level=log_level, rate=paced_rate)
    single = gateway_run(idle_dialogs, 1, 1, 1)
    over_http = (gateway_run(dialogs, concurrency, 1, loads, log_level=log_level, registry="http")
                 if "http" in registries else None)
    line()
    line("| | turns/s | ratio to echo | p50 ms | p99 ms | MT segments per dialog |")
    line("|---|---|---|---|---|---|")
    line(f"| echo ESME (aiosmpplib, one 1-segment UCS-2 reply per MO) | {echo.turns_per_second:.0f} | 1.00 "
         f"| {echo.percentile(50):.1f} | {echo.percentile(99):.1f} | {echo.segments / (dialogs + 20):.1f} |")
    for n, run in runs.items():
        line(f"| gateway, {n} process(es) | {run.turns_per_second:.0f} "
             f"| {run.turns_per_second / echo.turns_per_second:.2f} | {run.percentile(50):.1f} "
             f"| {run.percentile(99):.1f} | {run.notes['segments_per_dialog']:.1f} |")
    line(f"| gateway, 1 process, {concurrency} subscribers offering {PACED_SHARE} x echo's turns/s "
         f"({paced_rate:.0f}) | {paced.turns_per_second:.0f} "
         f"| {paced.turns_per_second / echo.turns_per_second:.2f} | {paced.percentile(50):.1f} "
         f"| {paced.percentile(99):.1f} | {paced.notes['segments_per_dialog']:.1f} |")
    line(f"| gateway, 1 process, 1 subscriber | {single.turns_per_second:.0f} | | "
         f"{single.percentile(50):.1f} | {single.percentile(99):.1f} | |")
    if over_http is not None:
        line(f"| gateway, 1 process, registry over HTTP (`registry serve`) | "
             f"{over_http.turns_per_second:.0f} | {over_http.turns_per_second / echo.turns_per_second:.2f} "
             f"| {over_http.percentile(50):.1f} | {over_http.percentile(99):.1f} "
             f"| {over_http.notes['segments_per_dialog']:.1f} |")
    line()
    for name, run in [("echo", echo), *((f"gateway x{n}", run) for n, run in runs.items())]:
        spent = ", ".join(f"{group} {seconds:.1f} s" for group, seconds in run.cpu.items())
        line(f"CPU during the {name} run ({run.seconds:.1f} s): {spent}")
    first = runs[processes[0]]
    line(f"gateway memory (RSS, 1 process): {first.notes['rss_before_mib']:.0f} MiB before, "
         f"{first.notes['rss_after_mib']:.0f} MiB after; Redis memory per idle subscriber (its "
         f"records after the dialog): {first.notes['redis_bytes_per_idle_subscriber']:.0f} bytes; "
         f"Redis growth per dialog (records, audit entry and its index lists, operation key): "
         f"{first.notes['redis_bytes_per_dialog']:.0f} bytes")
    calls = sorted(first.redis_calls.items(), key=lambda item: -item[1])
    line(f"Redis commands per turn (1 process): {sum(first.redis_calls.values()):.1f}: "
         + ", ".join(f"{name} {count:.2f}" for name, count in calls))
    rate_first, rate_last = first.tenth_rates()
    line(f"decay: first tenth {rate_first:.0f} turns/s, last tenth {rate_last:.0f} turns/s "
         f"({rate_last / rate_first:.2f})")
    if ussd:
        screens = asyncio.run(ussd_run(ussd))
        within = (sum(1 for latency in screens.latencies if latency <= USSD_BUDGET_SECONDS)
                  / len(screens.latencies))
        line(f"USSD ({ussd} dialogues at once): {screens.turns_per_second:.0f} screens/s, "
             f"p50 {screens.percentile(50):.1f} ms, p99 {screens.percentile(99):.1f} ms, "
             f"within the {USSD_BUDGET_SECONDS:g} s budget: {within:.1%}")
