"""The conformance runner in one process: its simulator on a free port, an in-process gateway
bound to it (tests/harness.py settings), the demo registry in the test's redis-server."""

from __future__ import annotations

import io
import socket
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from devtools.conformance.command import NO_REGISTRY, ConformanceOptions, conformance, run
from devtools.conformance.results import ScenarioResult
from devtools.conformance.scenarios import parse_scenarios
from devtools.demo import DEMO_REGISTRY
from devtools.redis_server import free_port
from gateway.app import Gateway
from gateway.settings import Settings
from gateway.store.fixtures import load_fixture_file
from tests.harness import gateway_settings

SCENARIOS = """
- name: already here, with registry checks
  steps:
    - send: {from: "09131110005", text: "353322110000222"}
    - expect_sms: {to: "09131110005", matches: "سیم‌کارت قبلی"}
    - send: {from: "09131110005", text: "09131110005"}
    - expect_sms: {to: "09131110005", matches: "همین سیمکارت است"}
    - expect_registry: {imei: "353322110000222", sim: "09131110005"}
- name: only a registry check
  steps:
    - expect_registry: {msisdn: "09351110002", status: "expired", owner: "1583250689"}
- name: a USSD screen that waits where the scenario says it ends
  steps:
    - dial: {from: "09361110003", code: "*7777*3#"}
    - expect_screen: {matches: "همتا"}
    - ussd_reply: {text: "0"}
    - expect_screen: {matches: "بازیابی دستگاه", ends: true}
"""


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return gateway_settings(redis_url, free_port())


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """Started before the conformance simulator listens: it binds once that does."""
    gateway = Gateway(settings)
    await gateway.registry.load(load_fixture_file(DEMO_REGISTRY))
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()


async def _run(settings: Settings, registry: bool) -> list[ScenarioResult]:
    options = ConformanceOptions(Path("inline.yaml"), registry=registry, timeout=5)
    scenarios = parse_scenarios(yaml.safe_load(SCENARIOS))
    return await run(settings, "secret", options, scenarios, io.StringIO())


async def test_registry_checks_read_the_embedded_registry(settings: Settings, gateway: Gateway) -> None:
    results = await _run(settings, registry=True)
    assert [r.outcome for r in results] == ["passed", "passed", "failed"]
    # as in logs: the number and the national ID masked
    assert results[1].steps[0].detail == "SIM 0935***0002 is expired, owner 15***89"
    ussd = results[2]
    assert ussd.failure is not None and ussd.failure.number == 4
    menu = "«همتا، گزینه را وارد کنید: / ۱ بازیابی دستگاه"
    assert ussd.failure.detail.startswith(f"screen (waits for input): {menu}")
    assert ussd.failure.detail.endswith("; expected it to end the dialogue")


async def test_no_registry_skips_registry_steps_with_the_reason(settings: Settings, gateway: Gateway) -> None:
    results = await _run(settings, registry=False)
    first, only_registry = results[0], results[1]
    assert first.outcome == "passed"
    assert [s.outcome for s in first.steps] == ["passed"] * 4 + ["skipped"]
    assert first.steps[4].detail == NO_REGISTRY and "--no-registry" in first.summary
    assert only_registry.outcome == "skipped"


def test_no_gateway_bound_is_an_error_for_every_scenario(tmp_path: Path) -> None:
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(textwrap.dedent(SCENARIOS), encoding="utf-8")
    junit, out = tmp_path / "out" / "x.xml", io.StringIO()
    settings = gateway_settings("redis://127.0.0.1:1/0", free_port())
    options = ConformanceOptions(scenarios, junit, bind_timeout=0.2)
    assert conformance(settings, "secret", options, out) == 1
    assert "no gateway bound to 127.0.0.1:" in out.getvalue()
    root = ET.parse(junit).getroot()
    assert root.attrib["errors"] == "3"
    errors = [case.find("error") for case in root.iter("testcase")]
    assert all(e is not None and e.attrib["message"].startswith("no gateway bound") for e in errors)



def test_a_port_in_use_is_reported_not_raised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = tmp_path / "s.yaml"
    scenarios.write_text(textwrap.dedent(SCENARIOS), encoding="utf-8")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        settings = gateway_settings("redis://127.0.0.1:1/0", taken.getsockname()[1])
        options = ConformanceOptions(scenarios, tmp_path / "x.xml", bind_timeout=0.2)
        assert conformance(settings, "secret", options, io.StringIO()) == 1
    assert "cannot run the SMSC simulator on 127.0.0.1:" in capsys.readouterr().err
    assert not (tmp_path / "x.xml").exists()
