"""`hamta-gateway conformance` as a carrier engineer runs it: the command in one process, a real
`python -m gateway run` bound to its simulator in another, both on the test's redis-server with
the demo registry loaded; the exit code and the JUnit XML are what is checked.
"""

from __future__ import annotations

import asyncio
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from devtools.conformance.scenarios import load_scenarios
from devtools.redis_server import free_port
from gateway.store.registry import RedisRegistry
from tests.processes import DEFAULTS, ROOT, Gateways

SHIPPED = ROOT / "devtools" / "data" / "conformance-scenarios.yaml"
WAITING = "waiting up to"
R6 = "R6 refusal names the usable numbers, masked"
ALREADY_HERE = "device already in this SIM's cartable"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    junit: ET.Element


async def _conformance(redis_url: str, gateways: Gateways, scenarios: Path, junit: Path) -> Run:
    """The command on a free port; once it listens, a gateway against it; until the command ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMTA_")}
    env |= DEFAULTS | {"HAMTA_REDIS__URL": redis_url, "HAMTA_SMPP__PORT": str(port),
                       "HAMTA_CONFIG": str(ROOT / "config.yaml")}
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "conformance", "--scenarios", str(scenarios),
        "--junit", str(junit), "--bind-timeout", "20", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    assert command.stdout is not None and command.stderr is not None
    try:
        first = await asyncio.wait_for(command.stdout.readline(), 20)
        assert WAITING in first.decode(), first
        await gateways.start(port)
        rest, errors = await asyncio.wait_for(command.communicate(), 90)
    finally:
        if command.returncode is None:
            command.kill()
            await command.wait()
    assert command.returncode is not None
    stdout = first.decode() + rest.decode()
    print(stdout, errors.decode(), sep="\n")
    return Run(command.returncode, stdout, errors.decode(), ET.parse(junit).getroot())


def _cases(junit: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in junit.iter("testcase")}


@pytest.mark.slow
async def test_the_shipped_scenarios_all_pass_against_a_real_gateway(
    registry: RedisRegistry, redis_url: str, gateways: Gateways, tmp_path: Path
) -> None:
    run = await _conformance(redis_url, gateways, SHIPPED, tmp_path / "x.xml")
    assert run.code == 0, run.stdout + run.stderr
    names = [scenario.name for scenario in load_scenarios(SHIPPED)]
    cases = _cases(run.junit)
    assert sorted(cases) == sorted(names)
    for name, case in cases.items():
        assert [child.tag for child in case] == ["system-out"], f"{name}: {ET.tostring(case)!r}"
        assert "failed" not in (case.findtext("system-out") or "")
    assert run.junit.attrib | {"time": "-"} == {
        "name": "hamta-gateway conformance", "tests": str(len(names)), "failures": "0",
        "errors": "0", "skipped": "0", "time": "-"}
    assert f"{len(names)} passed, 0 failed" in run.stdout


@pytest.mark.slow
async def test_a_wrong_expectation_fails_naming_the_scenario_and_step(
    registry: RedisRegistry, redis_url: str, gateways: Gateways, tmp_path: Path
) -> None:
    by_name = {s["name"]: s for s in yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))}
    r6, other = by_name[R6], by_name[ALREADY_HERE]
    assert "0014" in r6["steps"][5]["expect_sms"]["matches"]
    r6["steps"][5]["expect_sms"]["matches"] = "0912\\*\\*\\*9999"  # the wrong masked number
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump([other, r6], allow_unicode=True), encoding="utf-8")

    run = await _conformance(redis_url, gateways, wrong, tmp_path / "x.xml")

    assert run.code == 1, run.stdout + run.stderr
    cases = _cases(run.junit)
    failure = cases[r6["name"]].find("failure")
    assert failure is not None
    assert failure.attrib["type"] == "expect_sms"
    assert failure.attrib["message"].startswith("step 6 (expect_sms): SMS to 0919***0015: «")
    assert "does not match /0912\\*\\*\\*9999/" in failure.attrib["message"]
    assert "step 7 (expect_registry) not run" in (failure.text or "")
    assert [child.tag for child in cases[ALREADY_HERE]] == ["system-out"]
    assert run.junit.attrib["failures"] == "1" and run.junit.attrib["tests"] == "2"
    assert "FAIL" in run.stdout and "step 6 (expect_sms)" in run.stdout
    assert "1 passed, 1 failed" in run.stdout
