"""`make bench` keeps working: a tiny run completes its dialogs and reports both figures."""

from __future__ import annotations

import io

from devtools.bench import bench, bench_fixture
from gateway.store.fixtures import parse_fixture


def test_bench_fixture_is_valid() -> None:
    fixture = parse_fixture(bench_fixture(50))
    assert len(fixture.devices) == 50 and len(fixture.sims) == 100


async def test_tiny_bench_reports_a_ratio() -> None:
    out = io.StringIO()
    await bench(3, out)
    report = out.getvalue()
    assert "gateway:" in report and "echo ESME" in report and "ratio gateway/echo:" in report
    assert "USSD (same dialog" in report and "screens/s" in report


async def test_tiny_bench_through_the_registry_server_beside_the_embedded_one() -> None:
    out = io.StringIO()
    await bench(2, out, backends=["redis", "http"])
    report = out.getvalue()
    assert "gateway:" in report and "gateway (registry http):" in report and "p99" in report
