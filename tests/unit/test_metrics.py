"""The metrics (gateway/observability/): names, labels, the turn's line, a rendered scrape."""

from __future__ import annotations

import io
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families

from flows.outcomes import TurnOutcome
from gateway.logging_setup import GatewayLogHandler
from gateway.messages import InboundMessage, OutboundMessage
from gateway.observability.metrics import GatewayMetrics, stored_at
from gateway.observability.scrape import Backlog, Scraper, Snapshot
from gateway.observability.turns import message_context, observe_turn
from gateway.store.keys import Keys
from smpp.status import Outcome

ENTRY = "1764751534123-0"
STORED = 1764751534.123

# The names dashboards and alerts rely on (docs/operations.md "Metrics"), with their labels.
CONTRACT = {
    "hamta_mo_received": ("counter", {"channel", "transport"}),
    "hamta_mo_refused": ("counter", {"reason"}),
    "hamta_mt_segments": ("counter", {"status"}),
    "hamta_receipts": ("counter", {"state"}),
    "hamta_turns": ("counter", {"flow", "step", "outcome"}),
    "hamta_recoveries": ("counter", {"procedure", "outcome"}),
    "hamta_turn_seconds": ("histogram", set()),
    "hamta_reply_seconds": ("histogram", set()),
    "hamta_ussd_screen_seconds": ("histogram", set()),
    "hamta_smpp_bound": ("gauge", {"bind"}),
    "hamta_smpp_reconnects": ("counter", set()),
    "hamta_partitions_held": ("gauge", set()),
    "hamta_queue_depth": ("gauge", {"direction"}),
    "hamta_dead_letters": ("gauge", set()),
    "hamta_rate_limited": ("counter", {"limit"}),
}


class FakeBinds:
    unbound = ("transmitter",)
    binds = 3
    transmitter_binds = 3


def value(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    assert found is not None, (name, labels)
    return found


def rendered(metrics: GatewayMetrics, snapshot: Snapshot) -> dict[str, object]:
    scraper = Scraper(metrics, None, Keys(), FakeBinds(), ["transceiver"], "transceiver",  # type: ignore[arg-type]
                      list)
    text = scraper.render(snapshot).decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_every_contracted_name_with_its_type_and_labels() -> None:
    snapshot = Snapshot({"transceiver": True}, 2, 16, Backlog(3, 4, 5), {"replies": 1})
    families = rendered(GatewayMetrics(), snapshot)
    for name, (kind, labels) in CONTRACT.items():
        family = families[name]
        assert family.type == kind, name  # type: ignore[attr-defined]
        for sample in family.samples:  # type: ignore[attr-defined]
            assert set(sample.labels) - {"le"} == labels, (name, sample)


def test_scrape_time_gauges() -> None:
    snapshot = Snapshot({"receiver": True, "transmitter": False}, 2, 8, Backlog(3, 4, 5), {"replies": 7})
    families = rendered(GatewayMetrics(), snapshot)
    samples = {(s.name, tuple(s.labels.values())): s.value
               for f in families.values() for s in f.samples}  # type: ignore[attr-defined]
    assert samples[("hamta_smpp_bound", ("receiver",))] == 1
    assert samples[("hamta_smpp_bound", ("transmitter",))] == 0
    assert samples[("hamta_smpp_reconnects_total", ())] == 2
    assert samples[("hamta_partitions_held", ())] == 8
    assert samples[("hamta_queue_depth", ("inbound",))] == 3
    assert samples[("hamta_queue_depth", ("outbound",))] == 4
    assert samples[("hamta_dead_letters", ())] == 5
    assert samples[("hamta_rate_limited_total", ("replies",))] == 7


def test_without_redis_the_redis_gauges_are_left_out() -> None:
    families = rendered(GatewayMetrics(), Snapshot({"transceiver": False}, 0, 0, None))
    assert "hamta_queue_depth" not in families and "hamta_dead_letters" not in families
    assert "hamta_smpp_bound" in families


def test_two_gateways_in_one_process_count_apart() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()
    first.mo_stored("sms", "smpp")
    assert value(first, "hamta_mo_received_total", channel="sms", transport="smpp") == 1
    assert value(second, "hamta_mo_received_total", channel="sms", transport="smpp") == 0


def test_known_labels_start_at_zero_and_unknown_states_are_other() -> None:
    metrics = GatewayMetrics()
    assert value(metrics, "hamta_recoveries_total", procedure="restore", outcome="restored") == 0
    assert value(metrics, "hamta_mo_refused_total", reason="draining") == 0
    metrics.receipt("DELIVRD")
    metrics.receipt("WEIRD-VENDOR-STATE")
    assert value(metrics, "hamta_receipts_total", state="DELIVRD") == 1
    assert value(metrics, "hamta_receipts_total", state="other") == 1


@pytest.mark.parametrize(("outcome", "status"), [
    (Outcome.ACCEPTED, "accepted"), (Outcome.THROTTLED, "throttled"),
    (Outcome.RETRY, "failed"), (Outcome.REJECTED, "failed")])
def test_segments_by_the_smsc_answer(outcome: Outcome, status: str) -> None:
    metrics = GatewayMetrics()
    metrics.segment(outcome)
    assert value(metrics, "hamta_mt_segments_total", status=status) == 1


def test_stored_at_reads_the_stream_id() -> None:
    assert stored_at(ENTRY, 0.0) == pytest.approx(STORED)
    assert stored_at(f"{ENTRY}/1", 0.0) == pytest.approx(STORED)
    assert stored_at("http-sms:default:42", 5.0) == 5.0


def test_reply_and_screen_latency() -> None:
    metrics = GatewayMetrics()
    reply = OutboundMessage(id=f"{ENTRY}/0", sender="7777", recipient="989361110003", text="x",
                            in_reply_to=ENTRY)
    metrics.reply_sent(reply, now=STORED + 0.2)
    metrics.reply_sent(reply.model_copy(update={"id": f"{ENTRY}/1"}), now=STORED + 0.3)  # not the first
    metrics.reply_sent(reply.model_copy(update={"id": f"{ENTRY}/2", "channel": "ussd"}), now=STORED + 0.4)
    assert value(metrics, "hamta_reply_seconds_count") == 1
    assert value(metrics, "hamta_reply_seconds_sum") == pytest.approx(0.2)
    assert value(metrics, "hamta_ussd_screen_seconds_count") == 1
    assert value(metrics, "hamta_ussd_screen_seconds_sum") == pytest.approx(0.4)


def test_one_line_per_turn_with_the_message_context() -> None:
    metrics, stream = GatewayMetrics(), io.StringIO()
    handler = GatewayLogHandler(stream)
    logger = logging.getLogger("gateway.worker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    message = InboundMessage(id=ENTRY, sender="989361110003", recipient="7777", text="123456")
    outcome = TurnOutcome("password", "ask_birth_date", "rate_limited",
                          (("password", "rate_limited"),), "codes_per_hour")
    try:
        with message_context(ENTRY, message.sender, 5):
            observe_turn(metrics, message, outcome, 1, now=STORED + 0.014)
        observe_turn(metrics, message, TurnOutcome(), 0, now=STORED + 0.002)  # context bound for it
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    first, second = stream.getvalue().splitlines()
    assert first.endswith(
        " INFO gateway.worker turn for 0936***0003: flow=password step=ask_birth_date "
        "outcome=rate_limited replies=1 latency_ms=14 channel=sms "
        f"[message_id={ENTRY} number=0936***0003 partition=5]")
    assert second.endswith(f"outcome=advanced replies=0 latency_ms=2 channel=sms "
                           f"[message_id={ENTRY} number=0936***0003]")
    assert value(metrics, "hamta_turns_total", flow="password", step="ask_birth_date",
                 outcome="rate_limited") == 1
    assert value(metrics, "hamta_recoveries_total", procedure="password", outcome="rate_limited") == 1
    assert metrics.rate_limited["codes_per_hour"] == 1
    assert value(metrics, "hamta_turn_seconds_count") == 2
