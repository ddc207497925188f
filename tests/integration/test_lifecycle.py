"""The gateway's lifecycle: a failure at any step of start-up closes what was opened, in
reverse order, and the process exits with a clear message (no traceback)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import pytest
from aiosmpplib import SmppCommand

from gateway.app import Gateway
from gateway.errors import StartupFailed
from smpp.sim import SmscSimulator
from tests.harness import gateway_settings
from tests.processes import ROOT


@contextlib.contextmanager
def occupied_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


async def test_a_busy_http_port_stops_start_up_before_the_smpp_bind(redis_url: str) -> None:
    async with SmscSimulator(port=0, system_id="hamta", password="secret") as sim:
        with occupied_port() as port:
            gateway = Gateway(gateway_settings(redis_url, sim.port, http={"port": port}))
            with pytest.raises(StartupFailed, match=f"HTTP server on 127.0.0.1:{port}"):
                await gateway.start()
        assert sim.bound_count == 0
        await gateway.stop()  # nothing left to stop: harmless


async def test_a_failing_last_step_closes_smpp_and_http_in_reverse(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextlib.asynccontextmanager
    async def broken(self: Gateway) -> AsyncIterator[None]:
        await self.smpp.wait_bound()  # the step before it is up: the link is bound
        raise RuntimeError("leases refused")
        yield

    monkeypatch.setattr(Gateway, "_partitions", broken)
    async with SmscSimulator(port=0, system_id="hamta", password="secret") as sim:
        gateway = Gateway(gateway_settings(redis_url, sim.port))
        with pytest.raises(StartupFailed, match="partition leases: leases refused"):
            await gateway.start()
        await sim.wait_received(SmppCommand.UNBIND)  # the link was closed politely
        assert gateway.http_port is not None and refuses_connections(gateway.http_port)


def test_the_cli_says_what_failed_and_exits_1(redis_url: str) -> None:
    with occupied_port() as port:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "run"], cwd=ROOT, capture_output=True, text=True,
            timeout=60, env={"PATH": "/usr/bin:/bin", "HAMTA_SMPP__PASSWORD": "secret",
                             "HAMTA_SERVICE__SECRET_KEY": "k" * 32,
                             "HAMTA_SMPP__PORT": "1", "HAMTA_REDIS__URL": redis_url,
                             "HAMTA_HTTP__PORT": str(port), "HAMTA_CONFIG": str(ROOT / "config.yaml")},
        )
    assert result.returncode == 1
    assert f"could not open the HTTP server on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
