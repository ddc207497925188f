"""Issue 11, deployment files (deploy/): the alert rules and the Grafana dashboard name only
metrics the gateway exports (promtool is not at hand: expressions are read with regular
expressions), the alerts the issue asks for exist, Prometheus loads the rules file, and the
systemd units give a graceful stop more time than service.shutdown_seconds."""

from __future__ import annotations

import configparser
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# The contract of issue 11 (docs/operations.md): metric -> labels. Histograms export
# _bucket/_sum/_count series.
METRICS: dict[str, frozenset[str]] = {
    "hamta_mo_received_total": frozenset({"channel", "transport"}),
    "hamta_mo_refused_total": frozenset({"reason"}),
    "hamta_mt_segments_total": frozenset({"status"}),
    "hamta_receipts_total": frozenset({"state"}),
    "hamta_turns_total": frozenset({"flow", "step", "outcome"}),
    "hamta_recoveries_total": frozenset({"procedure", "outcome"}),
    "hamta_turn_seconds": frozenset(),
    "hamta_reply_seconds": frozenset(),
    "hamta_ussd_screen_seconds": frozenset(),
    "hamta_smpp_bound": frozenset({"bind"}),
    "hamta_smpp_reconnects_total": frozenset(),
    "hamta_partitions_held": frozenset(),
    "hamta_queue_depth": frozenset({"direction"}),
    "hamta_dead_letters": frozenset(),
    "hamta_rate_limited_total": frozenset({"limit"}),
}
HISTOGRAMS = frozenset({"hamta_turn_seconds", "hamta_reply_seconds", "hamta_ussd_screen_seconds"})
# Labels Prometheus adds, and the histogram bucket label.
TARGET_LABELS = frozenset({"instance", "job", "service", "le"})
NAME = re.compile(r"\b(hamta_[a-z0-9_]+)")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
MATCHERS = re.compile(r"\{([^}]*)\}")
SERIES_SUFFIX = re.compile(r"_(bucket|sum|count)$")


def metric_of(series: str) -> str:
    base = SERIES_SUFFIX.sub("", series)
    return base if base in HISTOGRAMS and base != series else series


def check_expression(expr: str) -> set[str]:
    """The metrics `expr` names; AssertionError for an unknown one or an unknown label."""
    assert expr.count("(") == expr.count(")"), f"unbalanced parentheses: {expr}"
    found = set()
    for series in NAME.findall(expr):
        metric = metric_of(series)
        assert metric in METRICS, f"{series} is not a hamta-gateway metric: {expr}"
        assert series == metric or metric in HISTOGRAMS, f"{series}: suffix of a non-histogram"
        found.add(metric)
    known = TARGET_LABELS.union(*(METRICS[m] for m in found)) if found else TARGET_LABELS
    for group in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in group.split(","))):
            assert label in known, f"label {label!r} not on {sorted(found)}: {expr}"
    for matcher in MATCHERS.findall(expr):
        if "$" in matcher:  # a Grafana template in a legend, not a matcher
            continue
        for label in re.findall(r"([a-z_]+)\s*=~?", matcher):
            assert label in known, f"label {label!r} not on {sorted(found)}: {expr}"
    return found


def alert_rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((DEPLOY / "prometheus" / "hamta-alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard_targets(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "expr" in node:
            yield node
        for value in node.values():
            yield from dashboard_targets(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_targets(item)


def test_every_alert_is_well_formed_and_names_known_metrics() -> None:
    rules = alert_rules()
    assert rules
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule
        check_expression(rule["expr"])
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("what", "pattern"), [
    ("bind down", r"hamta_smpp_bound\s*==\s*0"),
    ("backlog growing", r"deriv\(.*hamta_queue_depth"),
    ("dead letters", r"hamta_dead_letters\)?\s*>\s*0"),
    ("reply p99", r"histogram_quantile\(0\.99,.*hamta_reply_seconds_bucket"),
    ("rate limits firing", r"rate\(hamta_rate_limited_total\["),
])
def test_the_alerts_the_issue_asks_for_exist(what: str, pattern: str) -> None:
    assert any(re.search(pattern, " ".join(rule["expr"].split())) for rule in alert_rules()), what


def test_the_dashboard_names_known_metrics_and_shows_every_one() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "hamta-gateway.json").read_text(encoding="utf-8"))
    assert dashboard["title"] and dashboard["uid"] and dashboard["panels"]
    shown: set[str] = set()
    for target in dashboard_targets(dashboard["panels"]):
        shown |= check_expression(target["expr"])
    assert shown == set(METRICS)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_prometheus_scrapes_metrics_and_loads_the_rules() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    for rules in config["rule_files"]:
        assert (DEPLOY / "prometheus" / rules).is_file()
    [job] = config["scrape_configs"]
    assert (job["job_name"], job["metrics_path"]) == ("hamta-gateway", "/metrics")
    assert any(rule["expr"].startswith('up{job="hamta-gateway"}') for rule in alert_rules())


def _unit(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize("name", ["hamta-gateway.service", "hamta-gateway@.service"])
def test_systemd_units_stop_gracefully_and_restart_on_failure(name: str) -> None:
    service = _unit(name)["Service"]
    assert float(service["TimeoutStopSec"]) > load_settings().service.shutdown_seconds
    assert (service["KillSignal"], service["Restart"]) == ("SIGTERM", "on-failure")
    assert service["EnvironmentFile"].startswith("/etc/hamta-gateway/")
    assert service["ExecStart"].endswith("hamta-gateway run")
    assert "RestartPreventExitStatus" in service  # a bad setting (exit 2) is not retried forever


def test_the_template_unit_gives_each_instance_its_own_ports() -> None:
    text = (DEPLOY / "systemd" / "hamta-gateway@.service").read_text(encoding="utf-8")
    assert "EnvironmentFile=/etc/hamta-gateway/instance-%i.env" in text
    example = (DEPLOY / "systemd" / "instance-1.env.example").read_text(encoding="utf-8")
    assert "HAMTA_HTTP__PORT=" in example and "HAMTA_ADMIN__PORT=" in example


@pytest.mark.parametrize("expr", [
    "hamta_mo_recieved_total > 0",  # a typo
    "rate(hamta_dead_letters_count[5m])",  # a histogram suffix on a gauge
    "sum by (channel) (hamta_queue_depth)",  # a label the metric does not have
    'hamta_smpp_bound{binds="transceiver"} == 0',
    "sum(rate(hamta_turns_total[5m])",
])
def test_the_check_itself_catches_mistakes(expr: str) -> None:
    with pytest.raises(AssertionError):
        check_expression(expr)
