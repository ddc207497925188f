"""`hamta-gateway run --processes N`: N gateway processes on one host, under one parent.

A gateway process is one event loop, so one core. The partitions (leases in Redis) already
share the work between processes wherever they run, so scaling out on one host is only
starting more of them: the parent starts N `hamta-gateway run` children with the same settings,
each with its own SMPP bind and its own HTTP port (`http.port + i`, so Prometheus scrapes each
one; port 0 stays "any free port"), restarts a child that dies (after a pause, so a child that
cannot start does not spin), and on SIGTERM or SIGINT passes the signal on and waits for all of
them (each stops within `service.shutdown_seconds`).

systemd users may prefer the template unit in deploy/ (one unit per process); both run the
same processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

log = logging.getLogger("gateway.processes")

RESTART_PAUSE_SECONDS = 2.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies, even by SIGKILL (Linux), so a
    killed supervisor leaves no gateway behind holding partitions."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def child_environment(index: int, http_port: int, admin_port: int | None = None) -> dict[str, str]:
    env = {**os.environ, "HAMTA_PROCESS_INDEX": str(index)}
    if http_port:
        env["HAMTA_HTTP__PORT"] = str(http_port + index)
    if admin_port:
        env["HAMTA_ADMIN__PORT"] = str(admin_port + index)
    return env


async def supervise(count: int, http_port: int, stop: asyncio.Event, admin_port: int | None = None,
                    argv: list[str] | None = None) -> int:
    """Run `count` children until `stop`; the worst exit code of their last runs."""
    command = argv or [sys.executable, "-m", "gateway", "run"]
    codes = await asyncio.gather(*(_keep_running(i, command, child_environment(i, http_port, admin_port),
                                                 stop) for i in range(count)))
    return max(codes, default=0)


async def _keep_running(index: int, command: list[str], env: dict[str, str], stop: asyncio.Event) -> int:
    while True:
        child = await asyncio.create_subprocess_exec(*command, env=env, preexec_fn=_die_with_parent)
        log.info("gateway process %d started (pid %d)", index, child.pid)
        stopped = asyncio.ensure_future(stop.wait())
        exited = asyncio.ensure_future(child.wait())
        await asyncio.wait({stopped, exited}, return_when=asyncio.FIRST_COMPLETED)
        if stop.is_set():
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
            code = await exited
            log.info("gateway process %d stopped (exit code %d)", index, code)
            return code
        stopped.cancel()
        log.error("gateway process %d exited with code %d; starting it again in %.0f s",
                  index, exited.result(), RESTART_PAUSE_SECONDS)
        try:
            await asyncio.wait_for(stop.wait(), RESTART_PAUSE_SECONDS)
            return exited.result()
        except TimeoutError:
            continue
