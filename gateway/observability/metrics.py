"""The gateway's Prometheus metrics (docs/operations.md, "Metrics"): names, labels, and the cheap
calls the hot path makes.

Every `GatewayMetrics` has its own `CollectorRegistry` (never prometheus_client's global one), so
several gateways in one process (the tests) count apart. Counters and histograms live in the
process and are bumped where the event happens; the label sets are small and mostly known, so
their children are made once here (they also show as 0 from the start, which `rate()` needs).
The gauges that need Redis or the state of the SMPP binds and the leases are read at scrape time
(gateway/observability/scrape.py). No label ever holds a number, a text or an id.
"""

from __future__ import annotations

import re
import time
from collections import Counter as Tally
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram

from flows.outcomes import RECOVERY_OUTCOMES, TurnOutcome
from gateway.messages import OutboundMessage
from smpp.receipts import MESSAGE_STATES
from smpp.status import Outcome

CHANNELS: Final = ("sms", "ussd")
TRANSPORTS: Final = ("smpp", "http")
SEGMENT_STATUSES: Final = ("accepted", "throttled", "failed")
# Why an MO was not taken (answered an error, or answered OK and ignored).
REFUSAL_REASONS: Final = ("draining", "store_unavailable", "unreadable", "not_mobile", "duplicate")
RECEIPT_STATES: Final = (*sorted(set(MESSAGE_STATES.values())), "other", "unreadable")
PROCEDURES: Final = ("restore", "password")
# The limits as their settings name them (limits.*, http.*), and the worker's reply budget.
RATE_LIMITS: Final = ("codes_per_hour", "codes_per_day", "replies", "max_concurrent_requests",
                      "max_concurrent_per_source", "max_screen_waits",
                      "sessionless_segments_per_second")  # fmt: skip

TURN_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLY_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
SCREEN_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

_STREAM_ID: Final = re.compile(r"(\d{1,15})-\d+", re.ASCII)
_STATUS_OF_OUTCOME: Final = {Outcome.ACCEPTED: "accepted", Outcome.THROTTLED: "throttled"}


def stored_at(entry_id: str, fallback: float) -> float:
    """When an inbound message was stored: its stream entry id is Redis's clock at the XADD."""
    match = _STREAM_ID.fullmatch(entry_id.split("/", 1)[0])
    return int(match.group(1)) / 1000 if match else fallback


class GatewayMetrics:
    """Every in-process ``hamta_*`` metric of one gateway process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.mo_received = Counter("hamta_mo_received_total", "MO messages stored (whole: a "
                                   "concatenated MO counts once)", ["channel", "transport"], registry=r)
        self.mo_refused = Counter("hamta_mo_refused_total", "MO not taken, by reason",
                                  ["reason"], registry=r)
        self.mt_segments = Counter("hamta_mt_segments_total", "submit_sm attempts of SMS reply "
                                   "segments, by the SMSC's answer", ["status"], registry=r)
        self.receipts = Counter("hamta_receipts_total", "delivery receipts, by message state",
                                ["state"], registry=r)
        self.turns = Counter("hamta_turns_total", "turns committed", ["flow", "step", "outcome"],
                             registry=r)
        self.recoveries = Counter("hamta_recoveries_total", "procedures ended, by how",
                                  ["procedure", "outcome"], registry=r)
        self.turn_seconds = Histogram("hamta_turn_seconds", "MO stored -> its replies queued",
                                      buckets=TURN_BUCKETS, registry=r)
        self.reply_seconds = Histogram("hamta_reply_seconds", "MO stored -> its first reply "
                                       "accepted by the SMSC (or handed to the aggregator)",
                                       buckets=REPLY_BUCKETS, registry=r)
        self.ussd_screen_seconds = Histogram("hamta_ussd_screen_seconds", "MO stored -> its USSD "
                                             "screen accepted by the SMSC or handed to the "
                                             "aggregator", buckets=SCREEN_BUCKETS, registry=r)
        # hamta_rate_limited_total is rendered at scrape time from this and the worker's own
        # tally (gateway/observability/scrape.py), so limits counted elsewhere join it as they are.
        self.rate_limited: Tally[str] = Tally(dict.fromkeys(RATE_LIMITS, 0))
        self._prebind()

    def _prebind(self) -> None:
        self._received = {(c, t): self.mo_received.labels(c, t) for c in CHANNELS for t in TRANSPORTS}
        self._refused = {reason: self.mo_refused.labels(reason) for reason in REFUSAL_REASONS}
        self._segments = {status: self.mt_segments.labels(status) for status in SEGMENT_STATUSES}
        self._receipts = {state: self.receipts.labels(state) for state in RECEIPT_STATES}
        for procedure in PROCEDURES:
            for outcome in dict.fromkeys(RECOVERY_OUTCOMES.values()):
                self.recoveries.labels(procedure, outcome)

    # -- the hot path ---------------------------------------------------------------------------

    def mo_stored(self, channel: str, transport: str) -> None:
        child = self._received.get((channel, transport))
        (child or self.mo_received.labels(channel, transport)).inc()

    def mo_not_taken(self, reason: str, count: int = 1) -> None:
        (self._refused.get(reason) or self.mo_refused.labels(reason)).inc(count)

    def segment(self, outcome: Outcome) -> None:
        """One submit_sm of a reply segment answered (or not: RETRY) by the SMSC."""
        self._segments[_STATUS_OF_OUTCOME.get(outcome, "failed")].inc()

    def receipt(self, state: str) -> None:
        self._receipts.get(state, self._receipts["other"]).inc()

    def limited(self, limit: str) -> None:
        self.rate_limited[limit] += 1

    def turn(self, outcome: TurnOutcome, seconds: float) -> None:
        self.turns.labels(outcome.flow, outcome.step, outcome.outcome).inc()
        for procedure, ended in outcome.recoveries:
            self.recoveries.labels(procedure, ended).inc()
        if outcome.limit:
            self.limited(outcome.limit)
        self.turn_seconds.observe(max(seconds, 0.0))

    def reply_sent(self, message: OutboundMessage, now: float | None = None) -> None:
        """A queued reply went out whole: the first of its MO's replies times the reply, a
        USSD screen the screen."""
        now = time.time() if now is None else now
        seconds = max(now - stored_at(message.in_reply_to or message.id, message.created_at), 0.0)
        if message.id.endswith("/0"):
            self.reply_seconds.observe(seconds)
        if message.channel == "ussd":
            self.ussd_screen_seconds.observe(seconds)
