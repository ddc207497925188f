"""`hamta-gateway conformance --scenarios FILE`: the simulator on `smpp.host:smpp.port`, a wait for
the gateway under test to bind, the scenarios, then the table and the JUnit XML.

Exit codes: 0 every scenario passed (or was skipped), 1 one failed or none could run (no gateway
bound within `--bind-timeout`), 2 the scenarios file is invalid (the message names scenario
and step; nothing was started).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from devtools.conformance.junit import write_junit
from devtools.conformance.registry_check import RegistryReader
from devtools.conformance.report import print_report
from devtools.conformance.results import ScenarioResult
from devtools.conformance.runner import RunOptions, not_run, play_all
from devtools.conformance.scenarios import Scenario, ScenarioFileError, load_scenarios
from gateway.app import embedded_registry
from gateway.settings import Settings
from smpp.sim import SmscSimulator

NO_REGISTRY = ("--no-registry: the gateway under test uses another registry, so registry "
               "states are not checked")


@dataclass(frozen=True, slots=True)
class ConformanceOptions:
    scenarios: Path
    junit: Path = Path("conformance-results.xml")
    timeout: float = 10.0
    bind_timeout: float = 30.0
    registry: bool = True


def conformance(settings: Settings, password: str, options: ConformanceOptions,
                out: TextIO = sys.stdout) -> int:
    try:
        scenarios = load_scenarios(options.scenarios)
    except ScenarioFileError as exc:
        print(f"hamta-gateway: scenarios not run: {exc}", file=sys.stderr)
        return 2
    try:
        results = asyncio.run(run(settings, password, options, scenarios, out))
    except OSError as exc:  # the simulator could not listen (port in use, address unknown)
        print(f"hamta-gateway: cannot run the SMSC simulator on {settings.smpp.host}:"
              f"{settings.smpp.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hamta-gateway: conformance interrupted; no results written", file=sys.stderr)
        return 1
    write_junit(results, options.junit, options.scenarios.stem)
    print_report(results, options.junit, out)
    return 0 if all(result.outcome in ("passed", "skipped") for result in results) else 1


async def run(settings: Settings, password: str, options: ConformanceOptions,
              scenarios: list[Scenario], out: TextIO) -> list[ScenarioResult]:
    smpp = settings.smpp
    async with SmscSimulator(smpp.host, smpp.port, smpp.system_id, password,
                             ussd_dialect=settings.ussd.selected_dialect()) as sim:
        _say(out, f"SMSC simulator on {smpp.host}:{sim.port} (system_id {smpp.system_id}); waiting up "
                  f"to {options.bind_timeout:g} s for a gateway to bind")
        try:
            await sim.wait_ready(options.bind_timeout)
        except TimeoutError:
            reason = f"no gateway bound to {smpp.host}:{sim.port} within {options.bind_timeout:g} s"
            _say(out, reason)
            return [not_run(scenario, reason) for scenario in scenarios]
        _say(out, f"gateway bound; playing {len(scenarios)} scenario(s) from {options.scenarios}")
        async with _registry(settings, options.registry) as reader:
            run_options = RunOptions(settings.service.shortcode, settings.service.ussd_code,
                                     options.timeout, reader, NO_REGISTRY)
            return await play_all(sim, scenarios, run_options)


@contextlib.asynccontextmanager
async def _registry(settings: Settings, enabled: bool) -> AsyncIterator[RegistryReader | None]:
    if not enabled:
        yield None
        return
    async with embedded_registry(settings) as reader:
        yield reader


def _say(out: TextIO, line: str) -> None:
    print(line, file=out, flush=True)
