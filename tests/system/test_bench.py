"""`make bench` keeps working: a tiny run completes its dialogs and reports every figure."""

from __future__ import annotations

import io
import re

from devtools.bench import bench, bench_fixture
from devtools.bench_router import load_index
from gateway.store.fixtures import parse_fixture


def test_bench_fixture_is_valid() -> None:
    fixture = parse_fixture(bench_fixture(50))
    assert len(fixture.devices) == 50 and len(fixture.sims) == 100


def test_replies_go_to_the_load_process_that_owns_the_subscriber() -> None:
    assert [load_index(f"98936{i:07d}", 2) for i in range(4)] == [0, 1, 0, 1]


def test_tiny_bench_reports_ratios_latencies_segments_and_cpu() -> None:
    out = io.StringIO()
    bench(out, dialogs=12, concurrency=3, processes=(1, 2), ussd=3, idle_dialogs=4)
    report = out.getvalue()
    rows = {row.split("|")[1].strip(): row for row in report.splitlines() if row.startswith("| ")}
    assert {"gateway, 1 process(es)", "gateway, 2 process(es)"} <= set(rows), report
    ratio = float(rows["gateway, 1 process(es)"].split("|")[3])
    assert ratio > 0
    # One segment per happy-path reply: a restore from the menu choice costs 4 MT segments.
    assert float(rows["gateway, 1 process(es)"].split("|")[6]) == 4.0, report
    assert re.search(r"CPU during the gateway x1 run .*gateway [\d.]+ s, redis [\d.]+ s, router", report)
    assert "Redis commands per turn" in report and "decay:" in report
    assert "USSD (3 dialogues at once)" in report and "within the 2 s budget: 100.0%" in report


def test_tiny_bench_through_the_registry_server_beside_the_embedded_one() -> None:
    out = io.StringIO()
    bench(out, dialogs=6, concurrency=2, processes=(1,), ussd=0, idle_dialogs=2,
          registries=("redis", "http"))
    report = out.getvalue()
    row = next(row for row in report.splitlines() if "registry over HTTP" in row)
    assert float(row.split("|")[2]) > 0 and float(row.split("|")[6]) == 4.0, report
